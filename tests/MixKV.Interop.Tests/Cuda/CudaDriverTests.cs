namespace MixKV.Interop.Tests.Cuda;

/// <summary>The driver binding on a machine without a GPU, against the real libcuda.so.1 from the tools folder.</summary>
public sealed class CudaDriverTests
{
    [SetUp]
    public void RequireToolsAndNoDevice()
    {
        CudaTools.RequireRoot();
        if (CudaDriver.TryInitialize(out _))
            Assert.Ignore("a CUDA device is present; the no-device path is checked on machines without one");
    }

    [Test]
    public void TryInitializeReportsNoDeviceOnOneLine()
    {
        Assert.That(CudaDriver.TryInitialize(out var reason), Is.False);

        Assert.That(reason, Is.EqualTo("cuInit: CUDA_ERROR_NO_DEVICE (100): no CUDA-capable device is detected"));
    }

    [Test]
    public void InitializeThrowsACudaExceptionNamingCuInit()
    {
        var e = Assert.Throws<CudaException>(CudaDriver.Initialize);

        Assert.That(e.CallName, Is.EqualTo("cuInit"));
        Assert.That(e.Status, Is.EqualTo(CudaStatus.CUDA_ERROR_NO_DEVICE));
        Assert.That(e.StatusName, Is.EqualTo("CUDA_ERROR_NO_DEVICE"));
        Assert.That(e.StatusText, Is.EqualTo("no CUDA-capable device is detected"));
    }

    [Test]
    public void DeviceQueriesSurfaceTheSameError()
    {
        var e = Assert.Throws<CudaException>(() => _ = CudaDevice.Count);

        Assert.That(e.Status, Is.EqualTo(CudaStatus.CUDA_ERROR_NO_DEVICE));
    }

    [Test]
    public void TheDriverReportsItsVersionAndFileWithoutADevice()
    {
        Assert.That(CudaDriver.Version, Is.GreaterThanOrEqualTo(new Version(11, 0)));
        Assert.That(CudaDriver.LibraryPath, Does.Contain("libcuda.so"));
        TestContext.Out.WriteLine($"CUDA driver {CudaDriver.Version} from {CudaDriver.LibraryPath}");
    }
}
