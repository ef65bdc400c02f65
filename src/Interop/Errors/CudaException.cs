using System.Diagnostics.CodeAnalysis;

namespace MixKV.Interop;

/// <summary>
/// A CUDA driver call failed. Carries the call, the status code, its name and the driver's text,
/// so one line tells which call failed and why (the habit of ILGPU's and ggml-cuda's checks).
/// </summary>
public sealed class CudaException : Exception
{
    /// <param name="callName">The driver entry point, e.g. <c>cuModuleLoadDataEx</c>.</param>
    /// <param name="status">What it returned.</param>
    /// <param name="detail">Extra text from the driver, such as the JIT error log of a module load.</param>
    public CudaException(string callName, CudaStatus status, string? detail = null)
        : this(callName, status, CudaStatusText.Describe(status), detail)
    {
    }

    private CudaException(string callName, CudaStatus status, (string Name, string Text) description, string? detail)
        : base(Format(callName, status, description.Name, description.Text, detail))
    {
        CallName = callName;
        Status = status;
        StatusName = description.Name;
        StatusText = description.Text;
        Detail = detail;
    }

    /// <summary>The driver entry point that failed.</summary>
    public string CallName { get; }

    /// <summary>The status it returned.</summary>
    public CudaStatus Status { get; }

    /// <summary>The status as a number, for codes newer than <see cref="CudaStatus"/>.</summary>
    public int StatusCode => (int)Status;

    /// <summary>The status name, e.g. <c>CUDA_ERROR_NO_DEVICE</c>.</summary>
    public string StatusName { get; }

    /// <summary>The driver's description, e.g. "no CUDA-capable device is detected".</summary>
    public string StatusText { get; }

    /// <summary>Extra text from the driver (a JIT log), or null.</summary>
    public string? Detail { get; }

    /// <summary>Throws a <see cref="CudaException"/> unless <paramref name="status"/> is success.</summary>
    public static void ThrowIfFailed(CudaStatus status, string callName)
    {
        if (status != CudaStatus.CUDA_SUCCESS) Throw(status, callName);
    }

    [DoesNotReturn]
    private static void Throw(CudaStatus status, string callName) => throw new CudaException(callName, status);

    /// <summary>"call: NAME (code): text", the form a CLI prints on one line.</summary>
    internal static string Format(string callName, CudaStatus status, string name, string text, string? detail = null) =>
        $"{callName}: {name} ({(int)status}): {text}" +
        (string.IsNullOrWhiteSpace(detail) ? "" : Environment.NewLine + detail.TrimEnd());
}
