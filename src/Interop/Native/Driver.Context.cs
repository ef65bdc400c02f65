using System.Runtime.InteropServices;

namespace MixKV.Interop;

internal static unsafe partial class Driver
{
    [LibraryImport(Library)]
    internal static partial CudaStatus cuDevicePrimaryCtxRetain(nint* context, int device);

    // cuda.h maps cuDevicePrimaryCtxRelease to _v2 since CUDA 11.0; the v1 export has a different contract.
    [LibraryImport(Library)]
    internal static partial CudaStatus cuDevicePrimaryCtxRelease_v2(int device);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuCtxSetCurrent(nint context);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuCtxGetCurrent(nint* context);

    // Push/pop let a handle be released on any thread (the finalizer's included) in its own context.
    [LibraryImport(Library)]
    internal static partial CudaStatus cuCtxPushCurrent_v2(nint context);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuCtxPopCurrent_v2(nint* context);

    [LibraryImport(Library)]
    internal static partial CudaStatus cuCtxSynchronize();
}
