using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Kernels.Support;
using NUnit.Framework;

namespace MixKV.Tests.Kernels;

/// <summary>
/// The pipeline acceptance cases of <see cref="PipelineKernelTests"/> on a real GPU through the CUDA
/// driver backend: same kernels, same launch code, compared with the same reference. Ignored, saying
/// why, where no CUDA device is present (bench/gpu-check.sh runs them on a GPU machine).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class CudaPipelineTests
{
    private KernelBackend? backend;

    [OneTimeSetUp]
    public void Open()
    {
        if (!KernelBackendProbes.TryCuda(out string reason))
        {
            Assert.Ignore($"needs a CUDA device: {reason}");
        }

        backend = KernelBackend.OpenCuda();
    }

    [OneTimeTearDown]
    public void Close() => backend?.Dispose();

    [TestCaseSource(typeof(PipelineKernelTests), nameof(PipelineKernelTests.Cases))]
    public void MatchesReference(KernelCase c) => PipelineKernelTests.CheckAgainstReference(backend!, c);

    /// <summary>The CPU runtime's graph checks (<see cref="LayerGraphTests"/>) as a CUDA graph.</summary>
    [TestCase(BudgetMethod.SnapKV, DType.BF16, false)]
    [TestCase(BudgetMethod.AdaKV, DType.F16, true)]
    [TestCase(BudgetMethod.PyramidKV, DType.F32, false)]
    public void CudaGraphLaunchesEqualEnqueue(BudgetMethod method, DType dtype, bool offlineRedundancy) =>
        LayerGraphCheck.LaunchesEqualEnqueue(backend!, method, dtype, offlineRedundancy);

    [Test]
    public void ACudaGraphLaunchOverNonFiniteKeysIsRejected() => LayerGraphCheck.LaunchOverNonFiniteKeysIsRejected(backend!);

    /// <summary>The CPU runtime's <see cref="ConcurrentCallTests"/>: one backend shared by threads, with and beside graph captures.</summary>
    [Test]
    public void CallsFromSeveralThreadsAreIndependent() => ConcurrencyCheck.CallsAreIndependent(backend!);

    [Test]
    public void CallsBesideGraphCapturesAreIndependent() => ConcurrencyCheck.CallsBesideCaptures(backend!);
}
