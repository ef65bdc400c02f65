namespace MixKV.Interop.Tests.Errors;

public sealed class CudaExceptionTests
{
    [TestCase(CudaStatus.CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE")]
    [TestCase(CudaStatus.CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE")]
    [TestCase(CudaStatus.CUDA_ERROR_INVALID_PTX, "CUDA_ERROR_INVALID_PTX")]
    [TestCase(CudaStatus.CUDA_ERROR_ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS")]
    [TestCase((CudaStatus)12345, "CUDA_STATUS_12345")]
    public void FallbackNamesComeFromTheEnum(CudaStatus status, string expected)
    {
        var (name, text) = CudaStatusText.Describe(status, askDriver: false);

        Assert.That(name, Is.EqualTo(expected));
        Assert.That(text, Is.EqualTo(CudaStatusText.NoDriverText));
    }

    [TestCase(CudaStatus.CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected")]
    [TestCase(CudaStatus.CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory")]
    [TestCase(CudaStatus.CUDA_ERROR_LAUNCH_FAILED, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure")]
    public void TheDriverNamesAndDescribesStatuses(CudaStatus status, string name, string text)
    {
        CudaTools.RequireRoot();
        // Loading the driver is enough: cuGetErrorName/String need neither cuInit nor a device.
        CudaDriver.TryInitialize(out _);

        Assert.That(CudaStatusText.Describe(status, askDriver: true), Is.EqualTo((name, text)));
    }

    [Test]
    public void AnUnknownCodeFallsBackEvenWithTheDriver()
    {
        CudaTools.RequireRoot();
        CudaDriver.TryInitialize(out _);

        Assert.That(CudaStatusText.Describe((CudaStatus)4242, askDriver: true).Name, Is.EqualTo("CUDA_STATUS_4242"));
    }

    [Test]
    public void MessageNamesTheCallTheStatusAndTheCode()
    {
        var e = Assert.Throws<CudaException>(() => CudaException.ThrowIfFailed(CudaStatus.CUDA_ERROR_INVALID_IMAGE, "cuModuleLoadData"));

        Assert.That(e.CallName, Is.EqualTo("cuModuleLoadData"));
        Assert.That(e.Status, Is.EqualTo(CudaStatus.CUDA_ERROR_INVALID_IMAGE));
        Assert.That(e.StatusCode, Is.EqualTo(200));
        Assert.That(e.StatusName, Is.EqualTo("CUDA_ERROR_INVALID_IMAGE"));
        Assert.That(e.Message, Does.StartWith("cuModuleLoadData: CUDA_ERROR_INVALID_IMAGE (200): "));
    }

    [Test]
    public void DetailFollowsOnItsOwnLine()
    {
        var e = new CudaException("cuModuleLoadDataEx", CudaStatus.CUDA_ERROR_INVALID_PTX, "ptxas fatal   : Unresolved extern function 'f'\n");

        Assert.That(e.Detail, Does.Contain("Unresolved extern"));
        Assert.That(e.Message, Does.EndWith(Environment.NewLine + "ptxas fatal   : Unresolved extern function 'f'"));
    }

    [Test]
    public void SuccessDoesNotThrow() =>
        Assert.DoesNotThrow(() => CudaException.ThrowIfFailed(CudaStatus.CUDA_SUCCESS, "cuInit"));
}
