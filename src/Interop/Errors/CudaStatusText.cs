namespace MixKV.Interop;

/// <summary>Names and describes a <see cref="CudaStatus"/>: by the driver when it is loaded, else from the enum.</summary>
internal static unsafe class CudaStatusText
{
    internal const string NoDriverText = "no description (the CUDA driver is not loaded)";

    public static (string Name, string Text) Describe(CudaStatus status) =>
        // Only an already loaded driver is asked: naming an error must not start loading libraries.
        Describe(status, askDriver: NativeLibraryResolver.LoadedCudaDriverPath is not null);

    internal static (string Name, string Text) Describe(CudaStatus status, bool askDriver)
    {
        if (askDriver && AskDriver(status) is { } fromDriver) return fromDriver;
        return (FallbackName(status), NoDriverText);
    }

    internal static string FallbackName(CudaStatus status) =>
        Enum.IsDefined(status) ? status.ToString() : $"CUDA_STATUS_{(int)status}";

    private static (string, string)? AskDriver(CudaStatus status)
    {
        byte* name;
        byte* text;
        try
        {
            if (Driver.cuGetErrorName(status, &name) != CudaStatus.CUDA_SUCCESS || name is null) return null;
            if (Driver.cuGetErrorString(status, &text) != CudaStatus.CUDA_SUCCESS || text is null) return null;
        }
        catch (EntryPointNotFoundException)
        {
            // Drivers before CUDA 6.0 lack these two entry points.
            return null;
        }
        return (new string((sbyte*)name), new string((sbyte*)text));
    }
}
