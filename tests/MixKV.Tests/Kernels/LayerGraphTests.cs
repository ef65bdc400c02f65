using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Kernels.Support;
using NUnit.Framework;

namespace MixKV.Tests.Kernels;

/// <summary>
/// <see cref="KernelBackend.CaptureEnqueue"/> on the CPU runtime: a recorded layer replays exactly what
/// Enqueue does over whatever the buffers hold at launch, and a capture refuses what a CUDA stream
/// capture cannot record. <see cref="CudaPipelineTests"/> runs the same checks on a GPU.
/// </summary>
[TestFixture]
public sealed class LayerGraphTests : EmulatedKernelFixture
{
    [TestCase(BudgetMethod.SnapKV, DType.BF16, false)]
    [TestCase(BudgetMethod.PyramidKV, DType.F32, true)]
    [TestCase(BudgetMethod.AdaKV, DType.F16, false)]
    [TestCase(BudgetMethod.AdaKV, DType.BF16, true)]
    public void LaunchesEqualEnqueueOverNewContents(BudgetMethod method, DType dtype, bool offlineRedundancy) =>
        LayerGraphCheck.LaunchesEqualEnqueue(backend, method, dtype, offlineRedundancy);

    [Test]
    public void ALaunchOverNonFiniteKeysIsRejectedAndWritesNothing() => LayerGraphCheck.LaunchOverNonFiniteKeysIsRejected(backend);

    [Test]
    public void ACaptureRefusesHostCopiesAndWaitsAndTheRuntimeCapturesAgainAfterwards()
    {
        using var buffer = backend.Runtime.Allocate(64);
        var host = new byte[64];

        var wait = Assert.Throws<InvalidOperationException>(() => backend.Runtime.Capture(() => backend.Runtime.Synchronize()));
        var read = Assert.Throws<InvalidOperationException>(() => backend.Runtime.Capture(() => backend.Runtime.CopyToHost(buffer.Pointer, host)));
        var write = Assert.Throws<InvalidOperationException>(() => backend.Runtime.Capture(() => backend.Runtime.CopyToDevice(host, buffer.Pointer)));

        Assert.That(wait!.Message, Does.Contain("Synchronize").And.Contain("graph capture"));
        Assert.That(read!.Message, Does.Contain("CopyToHost"));
        Assert.That(write!.Message, Does.Contain("CopyToDevice"));
        using var graph = backend.Runtime.Capture(() => backend.Runtime.Fill(buffer.Pointer, 7, 64));
        backend.Runtime.Fill(buffer.Pointer, 0, 64);
        graph.Launch();
        backend.Runtime.CopyToHost(buffer.Pointer, host);
        Assert.That(host, Is.All.EqualTo(7), "a capture after the refused ones records and replays");
    }

    [Test]
    public void ADisposedGraphCannotLaunch()
    {
        using var buffer = backend.Runtime.Allocate(16);
        var graph = backend.Runtime.Capture(() => backend.Runtime.Fill(buffer.Pointer, 1, 16));
        graph.Dispose();
        Assert.Throws<ObjectDisposedException>(graph.Launch);
    }
}
