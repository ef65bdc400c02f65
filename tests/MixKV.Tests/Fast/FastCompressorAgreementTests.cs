using MixKV.Fast;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Fast;

/// <summary>
/// <see cref="FastCompressor"/> against the reference on random layers: every method, score mode,
/// dtype, layout (packed and padded strides), pooling and GQA reduction of
/// <see cref="PropertyCase.All"/>, on the Vector512 path, the portable Vector&lt;T&gt; path and the
/// two-GEMM path (tiles not kept), plus the real layer size.
/// </summary>
[TestFixture]
public sealed class FastCompressorAgreementTests
{
    private static IEnumerable<TestCaseData> Cases() => PropertyCase.All();

    [TestCaseSource(nameof(Cases))]
    public void MatchesReference(PropertyCase c) => Check(c, new FastCompressor());

    [TestCaseSource(nameof(Cases))]
    public void PortableKernels_MatchReference(PropertyCase c) => Check(c, new FastCompressor { ForcePortable = true });

    /// <summary>Recomputing the tiles in pass 2 and running on one thread must not change a single bit.</summary>
    [TestCaseSource(nameof(Cases))]
    public void TwoGemmPathAndOneThread_AreBitwiseIdentical(PropertyCase c)
    {
        var rng = TestRandom.ForCurrentTest();
        LayerData data = c.Data(rng);
        (CompressionOptions options, LayerPosition layer) = c.DrawOptions(rng);
        StoredLayer stored = data.Store(c.Layout, c.DrawPadding(rng));
        string say = rng.Say($"budget {options.Budget}, layer {layer}");

        (CompressedLayer baseline, FastIntermediates? expected) = new FastCompressor().Run(stored.Inputs, options, layer, withScores: true, keepIntermediates: true);
        foreach (FastCompressor variant in new[] { new FastCompressor { TileLimitBytes = 1 }, new FastCompressor { MaxDegreeOfParallelism = 1 } })
        {
            (CompressedLayer other, FastIntermediates? details) = variant.Run(stored.Inputs, options, layer, withScores: true, keepIntermediates: true);
            string what = $"{say}: tile limit {variant.TileLimitBytes}, threads {variant.MaxDegreeOfParallelism}";
            Assert.That(other.Kept.Scores, Is.EqualTo(baseline.Kept.Scores), $"{what}: scores");
            Assert.That(other.Kept.Positions, Is.EqualTo(baseline.Kept.Positions), $"{what}: positions");
            Assert.That(other.Kept.HeadLens, Is.EqualTo(baseline.Kept.HeadLens), $"{what}: head_lens");
            if (expected is not null)
            {
                Assert.That(details!.Attention, Is.EqualTo(expected.Attention), $"{what}: A");
            }

            Sentinel.AssertSameBytes(baseline.Keys, other.Keys, $"{what}: keys");
            Sentinel.AssertSameBytes(baseline.Values, other.Values, $"{what}: values");
        }
    }

    /// <summary>One layer of the size in the performance issue (N 32768, Hq 32, Hkv 8, D 128, W 32, fp32): agreement only, no timing.</summary>
    [Test]
    public void RealLayerSize_MatchesReference()
    {
        var rng = TestRandom.ForCurrentTest();
        BudgetMethod method = rng.Pick([BudgetMethod.SnapKV, BudgetMethod.AdaKV]);
        const int heads = 8, groups = 4, tokens = 32768, dim = 128, window = 32;
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, DType.F32);
        var options = new CompressionOptions { Method = method, Budget = rng.Pick([64, 256, 1024]) };
        StoredLayer stored = data.Store(rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd);
        FastAgreement.AssertMatchesReference(new FastCompressor(), stored, options, LayerPosition.Single, rng.Say($"real size, {method.Name()}, budget {options.Budget}"));
    }

    /// <summary>
    /// Group shapes whose padded G·W is a multiple of 128 run the GEMM's whole 12-key blocks through
    /// <see cref="StrassenLogitKernel"/> (G·W 120 leaves 8 zero padding rows in the split; 256 rows
    /// take two 64-row slices per half); the token counts leave partial chunks with partial blocks.
    /// </summary>
    [TestCase(4, 32, 128, DType.F32, 700)]
    [TestCase(2, 64, 64, DType.BF16, 530)]
    [TestCase(4, 30, 32, DType.F16, 400)]
    [TestCase(8, 32, 32, DType.F32, 300)]
    public void StrassenShapes_MatchReference(int groups, int window, int dim, DType dtype, int tokens)
    {
        int rows = (groups * window + LogitKernel.Lanes - 1) / LogitKernel.Lanes * LogitKernel.Lanes;
        Assert.That(StrassenLogitKernel.Applies(rows, dim, wide: true), "shape chosen for the Strassen path");
        var rng = TestRandom.ForCurrentTest();
        LayerData data = LayerData.Random(rng, rng.Int(1, 3), groups, tokens, dim, window, dtype);
        var options = new CompressionOptions { Method = rng.Pick([BudgetMethod.SnapKV, BudgetMethod.AdaKV]), Budget = rng.Int(window + 1, tokens / 2), Window = window };
        StoredLayer stored = data.Store(rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd, rng.Coin() ? new Padding(0, rng.Int(1, 4), 0, 0) : Padding.None);
        string say = rng.Say($"G {groups}, W {window}, D {dim}, {dtype.Name()}, N {tokens}, {options.Method.Name()}, budget {options.Budget}");
        FastAgreement.AssertMatchesReference(new FastCompressor(), stored, options, LayerPosition.Single, say);
        FastAgreement.AssertMatchesReference(new FastCompressor { TileLimitBytes = 1 }, stored, options, LayerPosition.Single, say + " (two GEMMs)");
    }

    private static void Check(PropertyCase c, FastCompressor compressor)
    {
        var rng = TestRandom.ForCurrentTest();
        LayerData data = c.Data(rng);
        (CompressionOptions options, LayerPosition layer) = c.DrawOptions(rng);
        Padding padding = rng.Coin() ? c.DrawPadding(rng) : Padding.None;
        string say = rng.Say($"budget {options.Budget}, layer {layer}, alpha {options.FloorAlpha}, normalize {options.Normalize}, skip {options.Skip}, beta {options.Beta}, offline r {options.Redundancy is not null}, padding {padding}");
        FastAgreement.AssertMatchesReference(compressor, data.Store(c.Layout, padding), options, layer, say);
    }
}
