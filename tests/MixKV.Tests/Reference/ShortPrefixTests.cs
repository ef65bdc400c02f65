using MixKV.Options;
using MixKV.Reference;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Reference;

/// <summary>Edges of spec section 5: a prefix of zero, one or two tokens (N = W, W + 1, W + 2).</summary>
[TestFixture]
public sealed class ShortPrefixTests
{
    private static readonly ReferenceCompressor Compressor = new();

    [Test]
    public void NEqualsW_KeepsEveryToken([Values] BudgetMethod method, [Values] ScoreMode score)
    {
        // P = 0: SnapKV (N < budget) and AdaKV (budget - W > 0 = P) stay uncompressed; PyramidKV gets
        // hi = P = 0 and cap 0, which keeps exactly the window = every token.
        var rng = TestRandom.ForCurrentTest();
        int window = rng.Int(2, 9), heads = rng.Int(1, 3);
        LayerData data = LayerData.Random(rng, heads, rng.Int(1, 2), window, 8, window, DType.F32);
        var options = new CompressionOptions { Method = method, Score = score, Window = window, Budget = window + rng.Int(1, 5) };

        CompressedLayer result = Compressor.Compress(data.Store(TensorLayout.Hnd).Inputs, options, LayerPosition.Single, withScores: true);

        Assert.That(result.Kept.Compressed, Is.EqualTo(method == BudgetMethod.PyramidKV), rng.Tag);
        Assert.That(result.Kept.Positions, Is.EqualTo(Enumerable.Range(0, heads).SelectMany(_ => Enumerable.Range(0, window))), rng.Tag);
        Assert.That(result.Kept.Scores, Is.Empty, rng.Tag);
    }

    [Test]
    public void OneOrTwoPrefixTokens_MatchTheOracle([Values] BudgetMethod method, [Values(1, 2)] int prefix)
    {
        var rng = TestRandom.ForCurrentTest();
        int window = rng.Int(2, 9), heads = rng.Int(1, 4);
        LayerData data = LayerData.Random(rng, heads, rng.Int(1, 3), window + prefix, 8, window, DType.F16);
        var options = new CompressionOptions { Method = method, Score = rng.Pick(Enum.GetValues<ScoreMode>()), Window = window, Budget = window + 1, FloorAlpha = 0 };

        KeptTokens kept = Compressor.Compress(data.Store(TensorLayout.Nhd).Inputs, options, LayerPosition.Single, withScores: true).Kept;

        int[]? caps = Oracle.Caps(data, options, LayerPosition.Single);
        double[][] scores = Oracle.Scores(data, options, LayerPosition.Single);
        Assert.That(caps, Is.Not.Null, rng.Tag);
        for (int h = 0; h < heads; h++)
        {
            int[] expected = Oracle.TopK(scores[h], caps![h]).Concat(Enumerable.Range(prefix, window)).ToArray();
            Assert.That(kept.PositionsOfHead(h).ToArray(), Is.EqualTo(expected), rng.Say($"head {h}, {options.Score.Name()}"));
        }
    }
}
