using MixKV.Kernels;
using MixKV.Kernels.Runtime;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Kernels;

/// <summary>
/// The real kernels under the CPU runtime's randomised schedules (threads of a block in a seeded
/// random order between barriers): positions, every intermediate and every row are bit-identical to
/// the in-order run under 20 seeds, as reduce.cuh and radix_select.cuh promise. The runtime's
/// schedule is global: the fixture is non-parallelisable and always restores the in-order default.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ScheduleDeterminismTests : ScheduledKernelFixture
{
    private const int Seeds = 20;

    [TestCase(BudgetMethod.AdaKV, ScoreMode.MixKV, DType.F16, TensorLayout.Nhd, 3, 2, 32)]
    [TestCase(BudgetMethod.SnapKV, ScoreMode.KeyDiff, DType.BF16, TensorLayout.Hnd, 2, 3, 24)]
    [TestCase(BudgetMethod.PyramidKV, ScoreMode.MixKVUniform, DType.F32, TensorLayout.Nhd, 4, 1, 64)]
    [TestCase(BudgetMethod.AdaKV, ScoreMode.VNorm, DType.F32, TensorLayout.Hnd, 2, 2, 16)]
    public void PipelineIsBitIdenticalUnderRandomSchedules(BudgetMethod method, ScoreMode score, DType dtype, TensorLayout layout, int heads, int groups, int dim)
    {
        TestRandom rng = KernelCheck.Seeded();
        int tokens = rng.Int(300, 700), window = rng.Int(4, 32);
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, dtype);
        StoredLayer stored = data.Store(layout, new Padding(rng.Int(0, 3), rng.Int(0, 3), rng.Int(0, 3), 1));
        var options = new CompressionOptions
        {
            Method = method,
            Score = score,
            Window = window,
            Budget = window + rng.Int(1, tokens - window - 1),
            Gqa = rng.Coin() ? GqaReduction.Max : GqaReduction.Mean,
            Pooling = rng.Coin() ? PoolingKind.Max : PoolingKind.Avg,
            PoolingKernel = rng.Pick([1, 3, 5, 7]),
            FloorAlpha = rng.Uniform(0, 0.5),
            Normalize = rng.Coin(),
        };
        var layer = new LayerPosition(1, 3);
        string say = rng.Say($"N {tokens} W {window} budget {options.Budget}");
        EmulatedKernelRuntime runtime = KernelCheck.Emulated(backend);

        runtime.SetSchedule(0, randomOrder: false);
        (CompressedLayer baseline, KernelIntermediates? baseDetails) = backend.Run(stored.Inputs, options, layer, withScores: true, intermediates: true);
        Assert.That(baseDetails, Is.Not.Null, say);
        Assert.That(baseline.Kept.Compressed, say);

        for (int seed = 1; seed <= Seeds; seed++)
        {
            ulong scheduleSeed = (ulong)rng.Seed * 1_000_003UL + (ulong)seed;
            runtime.SetSchedule(scheduleSeed, randomOrder: true);
            (CompressedLayer run, KernelIntermediates? details) = backend.Run(stored.Inputs, options, layer, withScores: true, intermediates: true);
            string at = $"{say} schedule seed {scheduleSeed}";
            Assert.That(run.Kept.HeadLens, Is.EqualTo(baseline.Kept.HeadLens), $"{at}: head_lens");
            Assert.That(run.Kept.Positions, Is.EqualTo(baseline.Kept.Positions), $"{at}: positions");
            Assert.That(run.Keys, Is.EqualTo(baseline.Keys), $"{at}: K' rows");
            Assert.That(run.Values, Is.EqualTo(baseline.Values), $"{at}: V' rows");
            AssertBits(details!.Attention, baseDetails!.Attention, $"{at}: A");
            AssertBits(details.KeyNorms, baseDetails.KeyNorms, $"{at}: key norms");
            AssertBits(details.ValueNorms, baseDetails.ValueNorms, $"{at}: value norms");
            AssertBits(details.Similarity, baseDetails.Similarity, $"{at}: k^.mu");
            AssertBits(details.OnlineRedundancy, baseDetails.OnlineRedundancy, $"{at}: r");
            AssertBits(details.Scores, baseDetails.Scores, $"{at}: S");
            AssertBits(run.Kept.Scores!, baseline.Kept.Scores!, $"{at}: returned S");
            Assert.That(details.Caps, Is.EqualTo(baseDetails.Caps), $"{at}: caps");
        }

    }

    private static void AssertBits(float[] actual, float[] expected, string what)
    {
        Assert.That(actual, Has.Length.EqualTo(expected.Length), what);
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(actual[i]) != BitConverter.SingleToInt32Bits(expected[i]))
            {
                Assert.Fail($"{what}: element {i} is {actual[i]:R} (0x{BitConverter.SingleToInt32Bits(actual[i]):X8}), in-order run gave {expected[i]:R} (0x{BitConverter.SingleToInt32Bits(expected[i]):X8})");
            }
        }
    }
}
