using System.Runtime.InteropServices;

namespace MixKV.Interop;

internal static unsafe partial class Driver
{
    [LibraryImport(Library)]
    internal static partial CudaStatus cuInit(uint flags);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuDriverGetVersion(int* driverVersion);

    // Both work before cuInit and without a device; the strings are static in the driver.
    [LibraryImport(Library)]
    internal static partial CudaStatus cuGetErrorName(CudaStatus error, byte** name);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuGetErrorString(CudaStatus error, byte** text);
}
