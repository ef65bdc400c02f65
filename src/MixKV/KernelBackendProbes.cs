using MixKV.Interop;
using MixKV.Kernels.Runtime;

namespace MixKV;

/// <summary>
/// Whether each kernel backend can run here, with a one-line reason either way (for `mixkv info`,
/// `--backend auto`, and engines that pick a backend at start-up).
/// </summary>
public static class KernelBackendProbes
{
    /// <summary>NVRTC found and loaded, driver initialised, at least one device.</summary>
    public static bool TryCuda(out string detail)
    {
        string nvrtc;
        try
        {
            Version version = NvrtcCompiler.Version;
            nvrtc = $"NVRTC {version.Major}.{version.Minor} at {NativeLibraryResolver.LoadedNvrtcPath ?? NvrtcCompiler.LibraryPath}";
        }
        catch (DllNotFoundException e)
        {
            detail = $"NVRTC not found: {FirstLine(e.Message)}";
            return false;
        }

        if (!CudaDriver.TryInitialize(out string reason))
        {
            detail = $"{nvrtc}; no CUDA device: {reason}";
            return false;
        }

        int count = CudaDevice.Count;
        if (count == 0)
        {
            detail = $"{nvrtc}; no CUDA device is present";
            return false;
        }

        CudaDevice first = CudaDevice.Get(0);
        if (ProgrammaticLaunchPolicy.RequestedRefusal(first.ComputeCapability) is { } refusal)
        {
            detail = $"{nvrtc}; device 0: {refusal}";  // what OpenCuda would throw, said before it is asked
            return false;
        }

        detail = $"{nvrtc}; device 0: {first.Name} ({count} device{(count == 1 ? string.Empty : "s")})";
        return true;
    }

    /// <summary>The CPU runtime library (libmixkv_emu.so) built by src/Emulator/build.sh.</summary>
    public static bool TryEmulated(out string detail)
    {
        bool found = EmulatorNative.TryLoad(out string where);
        detail = found ? $"CPU runtime at {where}" : where;
        return found;
    }

    private static string FirstLine(string text)
    {
        int end = text.IndexOf('\n');
        return end < 0 ? text : text[..end];
    }
}
