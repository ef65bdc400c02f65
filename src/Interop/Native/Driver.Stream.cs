using System.Runtime.InteropServices;

namespace MixKV.Interop;

internal static unsafe partial class Driver
{
    [LibraryImport(Library)]
    internal static partial CudaStatus cuStreamCreate(nint* stream, uint flags);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuStreamDestroy_v2(nint stream);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuStreamSynchronize(nint stream);
}
