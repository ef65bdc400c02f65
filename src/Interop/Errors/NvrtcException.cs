using System.Diagnostics.CodeAnalysis;

namespace MixKV.Interop;

/// <summary>An NVRTC call failed; carries the call and the status with NVRTC's name for it.</summary>
public class NvrtcException : Exception
{
    /// <param name="callName">The NVRTC entry point, e.g. <c>nvrtcGetLoweredName</c>.</param>
    /// <param name="status">What it returned.</param>
    public NvrtcException(string callName, NvrtcStatus status)
        : this(callName, status, NvrtcStatusText.Describe(status), detail: null)
    {
    }

    private protected NvrtcException(string callName, NvrtcStatus status, string statusName, string? detail)
        : base($"{callName}: {statusName} ({(int)status})" + (detail is null ? "" : detail))
    {
        CallName = callName;
        Status = status;
        StatusName = statusName;
    }

    /// <summary>The NVRTC entry point that failed.</summary>
    public string CallName { get; }

    /// <summary>The status it returned.</summary>
    public NvrtcStatus Status { get; }

    /// <summary>NVRTC's name for the status (nvrtcGetErrorString), e.g. <c>NVRTC_ERROR_COMPILATION</c>.</summary>
    public string StatusName { get; }

    /// <summary>Throws an <see cref="NvrtcException"/> unless <paramref name="status"/> is success.</summary>
    public static void ThrowIfFailed(NvrtcStatus status, string callName)
    {
        if (status != NvrtcStatus.NVRTC_SUCCESS) Throw(status, callName);
    }

    [DoesNotReturn]
    private static void Throw(NvrtcStatus status, string callName) => throw new NvrtcException(callName, status);
}
