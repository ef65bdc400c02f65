namespace MixKV.Interop;

/// <summary>Names an <see cref="NvrtcStatus"/>: by NVRTC when it is loaded, else from the enum.</summary>
internal static unsafe class NvrtcStatusText
{
    public static string Describe(NvrtcStatus status) =>
        Describe(status, askNvrtc: NativeLibraryResolver.LoadedNvrtcPath is not null);

    internal static string Describe(NvrtcStatus status, bool askNvrtc)
    {
        if (askNvrtc && Nvrtc.nvrtcGetErrorString(status) is var pointer && pointer is not null)
        {
            var text = new string((sbyte*)pointer);
            // NVRTC answers "NVRTC_ERROR unknown" for codes it does not know; the number says more.
            if (!text.Contains("unknown", StringComparison.Ordinal)) return text;
        }
        return Enum.IsDefined(status) ? status.ToString() : $"NVRTC_STATUS_{(int)status}";
    }
}
