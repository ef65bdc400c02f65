using MixKV.Fast;
using MixKV.Kernels;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Fast;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Kernels;

/// <summary>
/// Heads whose auxiliary scores are equal up to rounding (SpecConstants.RoundingSpread): head 0's keys
/// are positive multiples of one vector (k̂·μ equal for every token; with D = 1, keys of one sign),
/// head 1's keys and values are signed permutations of one vector each (equal key and value norms),
/// head 2 is ordinary (at D = 1 its unit keys may cancel: k̂·μ = 0). Each backend rounds those equal values differently, and the spec's (max - min +
/// 1e-8), fit's 1e-8 and MixKV's (1 - r_0) with r_0 = 1 would scale that rounding up to the size of
/// A; so in every backend such a term is 0 for every token and r_0 is 1, and the reference, the fast
/// path and the emulated kernels agree under the usual checks in every score mode.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class FlatScoreTests : EmulatedKernelFixture
{
    private static readonly ScoreMode[] AuxiliaryModes = [ScoreMode.KeyDiff, ScoreMode.VNorm, ScoreMode.KNorm, ScoreMode.MixKV, ScoreMode.MixKVUniform];

    [TestCase(DType.F32, 1)]
    [TestCase(DType.BF16, 1)]
    [TestCase(DType.F16, 8)]
    [TestCase(DType.BF16, 40)]
    [TestCase(DType.F16, 96)]
    [TestCase(DType.F32, 128)]
    public void FlatTermsAreZeroAndBackendsAgree(DType dtype, int dim)
    {
        TestRandom rng = KernelCheck.Seeded();
        int tokens = rng.Int(60, 300), window = rng.Int(4, 16), groups = rng.Int(1, 3);
        LayerData data = FlatHeads(rng, tokens, dim, window, groups, dtype);
        StoredLayer stored = data.Store(rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd);
        int prefix = tokens - window;

        Ref.HeadStatistics stats = Ref.HeadStats.Compute(stored.Inputs.Keys, stored.Inputs.Values, prefix);
        string say = rng.Say($"N {tokens}, W {window}, G {groups}, D {dim}, {dtype.Name()}");
        Assert.That(Ref.Mix.Diversity(stats.MeanKeySimilarity[0]), Is.All.EqualTo(0.0), $"{say}: reference diversity of the one-direction head");
        Assert.That(Ref.Mix.NormScore(stats.ValueNorms[1], negate: false), Is.All.EqualTo(0.0), $"{say}: reference vnorm of the equal-norm head");
        Assert.That(Ref.Mix.NormScore(stats.KeyNorms[1], negate: true), Is.All.EqualTo(0.0), $"{say}: reference knorm of the equal-norm head");
        Assert.That(stats.Redundancy[0], Is.EqualTo(1.0), $"{say}: reference r of the one-direction head");

        foreach (ScoreMode mode in AuxiliaryModes)
        {
            var options = new CompressionOptions { Score = mode, Method = rng.Pick(Enum.GetValues<BudgetMethod>()), Window = window, Budget = window + rng.Int(1, prefix - 1) };
            string what = $"{say}, {mode.Name()}, {options.Method.Name()}, budget {options.Budget}";
            CompressedLayer fast = FastAgreement.AssertMatchesReference(new FastCompressor(), stored, options, LayerPosition.Single, $"{what} (fast path)");
            KernelIntermediates? kernels = PipelineKernelTests.CheckAgainstReference(backend, stored, options, LayerPosition.Single, $"{what} (kernels)");
            if (mode is ScoreMode.KeyDiff or ScoreMode.MixKV)
            {
                // keydiff's S = fit(diversity); MixKV's with r_0 = 1 too: exactly 0 over head 0 in every backend.
                KeptTokens reference = new Ref.ReferenceCompressor().Plan(stored.Inputs, options, LayerPosition.Single, withScores: true, out _);
                Assert.That(reference.Scores![..prefix], Is.All.EqualTo(0f), $"{what}: reference S of head 0");
                Assert.That(fast.Kept.Scores![..prefix], Is.All.EqualTo(0f), $"{what}: fast-path S of head 0");
                Assert.That(kernels!.Scores[..prefix], Is.All.EqualTo(0f), $"{what}: kernel S of head 0");
            }
        }
    }

    /// <summary>Three KV heads: one direction (head 0), equal norms (head 1), ordinary (head 2); every element exact in <paramref name="dtype"/>.</summary>
    private static LayerData FlatHeads(TestRandom rng, int tokens, int dim, int window, int groups, DType dtype)
    {
        LayerData data = LayerData.Random(rng, 3, groups, tokens, dim, window + 1, dtype);

        // c·u with c = m/8 (m 4..16) and u_i = ±j/8 (j 1..15): at most 8 significant bits, exact in bf16.
        float[] u = Enumerable.Range(0, dim).Select(_ => (rng.Coin() ? -1 : 1) * rng.Int(1, 15) / 8f).ToArray();
        for (int n = 0; n < tokens; n++)
        {
            float c = rng.Int(4, 16) / 8f;
            data.Keys[0][n] = Array.ConvertAll(u, x => Exact(dtype, c * x));
        }

        float[] key = data.Keys[1][0], value = data.Values[1][0];
        int[] order = Enumerable.Range(0, dim).ToArray();
        for (int n = 1; n < tokens; n++)
        {
            rng.Shuffle(order);
            data.Keys[1][n] = order.Select(i => rng.Coin() ? -key[i] : key[i]).ToArray();
            rng.Shuffle(order);
            data.Values[1][n] = order.Select(i => rng.Coin() ? -value[i] : value[i]).ToArray();
        }

        return data;
    }

    private static float Exact(DType dtype, float x)
    {
        float stored = Elements.Representable(dtype, x);
        Assert.That(stored, Is.EqualTo(x), $"{x} is not exact in {dtype.Name()}");
        return stored;
    }
}
