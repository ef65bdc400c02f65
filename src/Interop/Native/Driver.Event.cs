using System.Runtime.InteropServices;

namespace MixKV.Interop;

internal static unsafe partial class Driver
{
    [LibraryImport(Library)]
    internal static partial CudaStatus cuEventCreate(nint* evt, uint flags);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuEventRecord(nint evt, nint stream);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuEventSynchronize(nint evt);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuEventElapsedTime(float* milliseconds, nint start, nint end);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuEventDestroy_v2(nint evt);
}
