using MixKV.Options;
using MixKV.Reference;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Kernels;

[TestFixture]
public sealed class EmulatedSmokeTests
{
    [Test]
    public void OneLayerMatchesReference([Values] BudgetMethod method, [Values(ScoreMode.Attention, ScoreMode.MixKV)] ScoreMode score)
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        LayerData data = LayerData.Random(rng, 2, 2, 200, 32, 8, DType.F32);
        var options = new CompressionOptions { Method = method, Score = score, Window = 8, Budget = 40 };
        StoredLayer stored = data.Store(TensorLayout.Hnd);
        KeptTokens expected = new ReferenceCompressor().Plan(stored.Inputs, options, LayerPosition.Single, withScores: true, out _);
        using KernelBackend backend = KernelBackend.OpenEmulated();
        (CompressedLayer actual, var details) = backend.Run(stored.Inputs, options, LayerPosition.Single, withScores: true, intermediates: true);
        TestContext.Progress.WriteLine($"ref lens {string.Join(",", expected.HeadLens)} kernel lens {string.Join(",", actual.Kept.HeadLens)}");
        double maxErr = 0;
        for (int i = 0; i < expected.Scores!.Length; i++)
        {
            maxErr = Math.Max(maxErr, Math.Abs(expected.Scores[i] - actual.Kept.Scores![i]) / Math.Max(1e-30, Math.Abs(expected.Scores[i])));
        }

        TestContext.Progress.WriteLine($"max rel score err {maxErr}");
        Assert.That(actual.Kept.Positions, Is.EqualTo(expected.Positions), rng.Tag);
    }
}
