namespace MixKV.Interop.Tests.Errors;

public sealed class NvrtcExceptionTests
{
    [TestCase(NvrtcStatus.NVRTC_ERROR_COMPILATION, "NVRTC_ERROR_COMPILATION")]
    [TestCase(NvrtcStatus.NVRTC_ERROR_BUILTIN_OPERATION_FAILURE, "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE")]
    [TestCase((NvrtcStatus)77, "NVRTC_STATUS_77")]
    public void FallbackNamesComeFromTheEnum(NvrtcStatus status, string expected) =>
        Assert.That(NvrtcStatusText.Describe(status, askNvrtc: false), Is.EqualTo(expected));

    [TestCase(NvrtcStatus.NVRTC_ERROR_INVALID_OPTION, "NVRTC_ERROR_INVALID_OPTION")]
    [TestCase(NvrtcStatus.NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID, "NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID")]
    [TestCase((NvrtcStatus)77, "NVRTC_STATUS_77")]
    public void NvrtcNamesItsStatuses(NvrtcStatus status, string expected)
    {
        CudaTools.RequireRoot();
        _ = NvrtcCompiler.Version;

        Assert.That(NvrtcStatusText.Describe(status, askNvrtc: true), Is.EqualTo(expected));
    }

    [Test]
    public void MessageNamesTheCallAndTheStatus()
    {
        var e = Assert.Throws<NvrtcException>(() => NvrtcException.ThrowIfFailed(NvrtcStatus.NVRTC_ERROR_INVALID_INPUT, "nvrtcGetLoweredName"));

        Assert.That(e.CallName, Is.EqualTo("nvrtcGetLoweredName"));
        Assert.That(e.Status, Is.EqualTo(NvrtcStatus.NVRTC_ERROR_INVALID_INPUT));
        Assert.That(e.Message, Does.StartWith("nvrtcGetLoweredName: NVRTC_ERROR_INVALID_INPUT (3)"));
    }
}
