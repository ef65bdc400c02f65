using MixKV.Fast;
using MixKV.Tests.Kernels.Support;
using NUnit.Framework;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Kernels;

/// <summary>
/// An engine compresses its layers from several threads through one compressor object, and may capture
/// a layer graph on one thread while another compresses: every backend must give each call the result
/// it gives alone (<see cref="ConcurrencyCheck"/>; CudaPipelineTests runs the same on a GPU).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ConcurrentCallTests : EmulatedKernelFixture
{
    [Test]
    public void ReferenceSharedByThreads() => ConcurrencyCheck.CallsAreIndependent(new Ref.ReferenceCompressor());

    [Test]
    public void FastPathSharedByThreads() => ConcurrencyCheck.CallsAreIndependent(new FastCompressor());

    [Test]
    public void EmulatedKernelsSharedByThreads() => ConcurrencyCheck.CallsAreIndependent(backend);

    [Test]
    public void EmulatedKernelsBesideGraphCaptures() => ConcurrencyCheck.CallsBesideCaptures(backend);
}
