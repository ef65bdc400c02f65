using System.Runtime.InteropServices;

namespace MixKV.Interop;

internal static unsafe partial class Driver
{
    [LibraryImport(Library)]
    internal static partial CudaStatus cuDeviceGetCount(int* count);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuDeviceGet(int* device, int ordinal);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuDeviceGetName(byte* name, int length, int device);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuDeviceGetAttribute(int* value, CudaDeviceAttribute attribute, int device);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuDeviceTotalMem_v2(nuint* bytes, int device);
}
