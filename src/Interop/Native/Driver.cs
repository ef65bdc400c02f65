namespace MixKV.Interop;

/// <summary>
/// The CUDA driver API, one file per subsystem (<c>Driver.*.cs</c>). Entry points keep their C
/// names so they can be looked up in NVIDIA's documentation; the typed wrappers (CudaContext,
/// CudaModule, ...) are what the rest of MixKV uses.
/// </summary>
/// <remarks>
/// Handles are <c>nint</c>, <c>CUdeviceptr</c> is <c>ulong</c> and <c>CUdevice</c> is an ordinal
/// <c>int</c>, as in cuda.h on 64-bit Linux. Versioned exports (<c>_v2</c>) are bound by their
/// exported names, which is what cuda.h's macros map the plain names to.
/// </remarks>
internal static unsafe partial class Driver
{
    private const string Library = NativeLibraryResolver.CudaLibrary;

    // An explicit static constructor runs before the first entry point of this class binds, so the
    // resolver is in place whichever call comes first.
    static Driver() => NativeLibraryResolver.EnsureRegistered();
}
