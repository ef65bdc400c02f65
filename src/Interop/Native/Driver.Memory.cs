using System.Runtime.InteropServices;

namespace MixKV.Interop;

internal static unsafe partial class Driver
{
    [LibraryImport(Library)]
    internal static partial CudaStatus cuMemAlloc_v2(ulong* pointer, nuint bytes);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuMemFree_v2(ulong pointer);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuMemcpyHtoD_v2(ulong destination, void* source, nuint bytes);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuMemcpyDtoH_v2(void* destination, ulong source, nuint bytes);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuMemcpyDtoD_v2(ulong destination, ulong source, nuint bytes);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuMemcpyHtoDAsync_v2(ulong destination, void* source, nuint bytes, nint stream);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuMemcpyDtoHAsync_v2(void* destination, ulong source, nuint bytes, nint stream);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuMemcpyDtoDAsync_v2(ulong destination, ulong source, nuint bytes, nint stream);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuMemsetD8_v2(ulong destination, byte value, nuint count);

    // No _v2 exists for the async memset: it was added after the 64-bit pointer switch.
    [LibraryImport(Library)]
    internal static partial CudaStatus cuMemsetD8Async(ulong destination, byte value, nuint count, nint stream);
}
