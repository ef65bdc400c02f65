namespace MixKV.Interop;

/// <summary>Entry to the CUDA driver: loading libcuda, cuInit, and what the driver reports about itself.</summary>
public static unsafe class CudaDriver
{
    /// <summary>
    /// Loads the driver and calls cuInit. On failure <paramref name="reason"/> is one line for a CLI:
    /// "libcuda.so.1 not found (...attempts...)" or "cuInit: CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected".
    /// </summary>
    public static bool TryInitialize(out string reason)
    {
        try
        {
            Initialize();
            reason = "";
            return true;
        }
        catch (NativeLibraryNotFoundException e)
        {
            reason = $"{LibraryCandidates.CudaDriverName} not found ({e.Summary})";
            return false;
        }
        catch (CudaException e)
        {
            reason = e.Message;
            return false;
        }
    }

    /// <summary>Loads the driver and calls cuInit (cheap to repeat: the driver initialises once).</summary>
    /// <exception cref="NativeLibraryNotFoundException">No libcuda.so.1 could be loaded.</exception>
    /// <exception cref="CudaException">cuInit failed, e.g. with CUDA_ERROR_NO_DEVICE.</exception>
    public static void Initialize()
    {
        NativeLibraryResolver.LoadCudaDriver();
        CudaException.ThrowIfFailed(Driver.cuInit(0), nameof(Driver.cuInit));
    }

    /// <summary>The newest CUDA version the driver supports, e.g. 12.2 (works without cuInit or a GPU).</summary>
    public static Version Version
    {
        get
        {
            NativeLibraryResolver.LoadCudaDriver();
            int encoded;
            CudaException.ThrowIfFailed(Driver.cuDriverGetVersion(&encoded), nameof(Driver.cuDriverGetVersion));
            // cuda.h encodes the version as 1000 * major + 10 * minor.
            return new Version(encoded / 1000, encoded % 1000 / 10);
        }
    }

    /// <summary>The libcuda file in use, or null before it loaded.</summary>
    public static string? LibraryPath => NativeLibraryResolver.LoadedCudaDriverPath;
}
