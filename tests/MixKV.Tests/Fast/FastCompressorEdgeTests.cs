using MixKV.Fast;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Fast;

/// <summary>Hand cases, the no-compression rules and the window/prefix edges on the fast path.</summary>
[TestFixture]
public sealed class FastCompressorEdgeTests
{
    private static readonly FastCompressor Compressor = new();

    /// <summary>D = 1 keys ln(c_n) and unit queries: attention weights proportional to c_n (see ReferenceCompressorTests).</summary>
    private static StoredLayer LogLayer(double[] c, int windowRows)
    {
        var keys = StoredTensor.F32([Array.ConvertAll(c, x => new[] { Math.Log(x) })]);
        var values = StoredTensor.F32([Array.ConvertAll(c, x => new[] { x })]);
        var queries = StoredTensor.F32([Enumerable.Range(0, windowRows).Select(_ => new[] { 1.0 }).ToArray()]);
        return new StoredLayer(keys, values, queries);
    }

    [Test]
    public void Attention_KeepsTheHeaviestPrefixTokens_ByHand()
    {
        // c = 3, 1, 4, 1, 5, 9; W = 2, P = 4, cap 2: a[n] = c_n (1/14 + 1/23) / 2 -> keep 2 and 0, then the window 4, 5.
        StoredLayer layer = LogLayer([3, 1, 4, 1, 5, 9], 2);
        var options = new CompressionOptions { Score = ScoreMode.Attention, Budget = 4, Window = 2, PoolingKernel = 1 };

        CompressedLayer result = Compressor.Compress(layer.Inputs, options, LayerPosition.Single, withScores: true);

        Assert.That(result.Kept.Positions, Is.EqualTo(new[] { 0, 2, 4, 5 }));
        double f = ((1.0 / 14) + (1.0 / 23)) / 2;
        Assert.That(result.Kept.Scores, Is.EqualTo(new[] { 3 * f, 1 * f, 4 * f, 1 * f }).Within(1e-6));
        Assert.That(Enumerable.Range(0, 4).Select(t => Elements.Read(result.Values.AsSpan(t * 4, 4), DType.F32)), Is.EqualTo(new[] { 3f, 4f, 5f, 9f }));
    }

    [Test]
    public void EqualScores_TheLowerPositionIsKept()
    {
        // Positions 1 and 2 carry the same key, hence bit-identical scores; cap 1 keeps position 1.
        StoredLayer layer = LogLayer([2, 5, 5, 2, 7, 1], 2);
        var options = new CompressionOptions { Score = ScoreMode.Attention, Budget = 3, Window = 2, PoolingKernel = 1 };

        Assert.That(Compressor.Compress(layer.Inputs, options, LayerPosition.Single).Kept.Positions, Is.EqualTo(new[] { 1, 4, 5 }));
    }

    /// <summary>Duplicated tokens across chunk boundaries tie exactly; the tie rule must hold like the reference's.</summary>
    [Test]
    public void DuplicateTokens_TieLikeTheReference([Values] ScoreMode score)
    {
        var rng = TestRandom.ForCurrentTest();
        int tokens = rng.Int(600, 900), window = 8;
        LayerData data = LayerData.Random(rng, 2, 2, tokens, 32, window, DType.F32);
        for (int i = 0; i < 40; i++)
        {
            int h = rng.Int(0, 1), source = rng.Int(0, tokens - window - 1), target = rng.Int(0, tokens - window - 1);
            data.CopyToken(h, source, target);
        }

        var options = new CompressionOptions { Score = score, Budget = window + rng.Int(5, 200), Window = window, PoolingKernel = 1 };
        FastAgreement.AssertMatchesReference(Compressor, data.Store(TensorLayout.Nhd), options, LayerPosition.Single, rng.Say($"duplicates, {score.Name()}, budget {options.Budget}"));
    }

    /// <summary>
    /// Keys whose logits sit hundreds of log2 units above every other key of their chunk (2^x of the
    /// gap overflows fp32): the online softmax must take each chunk against its own max and merge the
    /// chunks exactly, or the mass turns inf/NaN.
    /// </summary>
    [Test]
    public void KeysFarAboveTheRestOfTheirChunk_MatchTheReference()
    {
        var rng = TestRandom.ForCurrentTest();
        const int dim = 32, window = 8, groups = 2;
        int tokens = rng.Int(700, 900);
        LayerData data = LayerData.Random(rng, 2, groups, tokens, dim, window, DType.F32);
        var meanQuery = new double[dim];
        for (int g = 0; g < groups; g++)
        {
            foreach (float[] row in data.Queries[g])
            {
                for (int d = 0; d < dim; d++)
                {
                    meanQuery[d] += row[d] / (groups * window);
                }
            }
        }

        // Along the group's mean query, at 150 (natural units) above the mean row's logit: ~216 in log2 units.
        double squared = meanQuery.Sum(x => x * x), scale = 150 * Math.Sqrt(dim) / squared;
        int[] outliers = [rng.Int(12, 250), 256 + rng.Int(12, 250)];
        foreach (int n in outliers)
        {
            data.Keys[0][n] = Array.ConvertAll(meanQuery, x => (float)(x * scale));
        }

        var options = new CompressionOptions { Score = rng.Pick([ScoreMode.Attention, ScoreMode.MixKV]), Budget = window + rng.Int(5, 100), Window = window };
        FastAgreement.AssertMatchesReference(Compressor, data.Store(TensorLayout.Hnd), options, LayerPosition.Single, rng.Say($"outliers at {string.Join(", ", outliers)}, {options.Score.Name()}"));
    }

    /// <summary>N &lt; W, N == W (P = 0, PyramidKV still "compresses"), budget past N (uncompressed, with and without scores).</summary>
    [TestCase(BudgetMethod.SnapKV, 20, 24, 64)]
    [TestCase(BudgetMethod.PyramidKV, 24, 24, 40)]
    [TestCase(BudgetMethod.SnapKV, 100, 16, 140)]
    [TestCase(BudgetMethod.AdaKV, 100, 16, 140)]
    [TestCase(BudgetMethod.PyramidKV, 300, 16, 290)]
    public void ShortLayers_MatchTheReference(BudgetMethod method, int tokens, int window, int budget)
    {
        var rng = TestRandom.ForCurrentTest();
        LayerData data = LayerData.Random(rng, 3, 2, tokens, 16, Math.Max(window, 1) + 1, DType.BF16);
        var options = new CompressionOptions { Method = method, Budget = budget, Window = window };
        var layer = new LayerPosition(0, 2);
        StoredLayer stored = data.Store(TensorLayout.Hnd);
        string say = rng.Say($"{method.Name()} N {tokens} W {window} budget {budget}");
        FastAgreement.AssertMatchesReference(Compressor, stored, options, layer, say);

        CompressedLayer plain = Compressor.Compress(stored.Inputs, options, layer);
        CompressedLayer expected = new MixKV.Reference.ReferenceCompressor().Compress(stored.Inputs, options, layer);
        Assert.That(plain.Kept.Scores, Is.Null, say);
        Assert.That(plain.Kept.Positions, Is.EqualTo(expected.Kept.Positions), say);
        Sentinel.AssertSameBytes(expected.Keys, plain.Keys, $"{say}: keys");
    }

    [Test]
    public void RepeatedCalls_ReuseTheWorkspaceWithoutChangingResults()
    {
        var rng = TestRandom.ForCurrentTest();
        var compressor = new FastCompressor();
        LayerData big = LayerData.Random(rng, 2, 3, 1500, 64, 16, DType.F16);
        LayerData small = LayerData.Random(rng, 1, 1, 200, 24, 16, DType.F32);
        var options = new CompressionOptions { Budget = 80, Window = 16 };
        CompressedLayer first = compressor.Compress(big.Store(TensorLayout.Hnd).Inputs, options, LayerPosition.Single, withScores: true);
        compressor.Compress(small.Store(TensorLayout.Nhd).Inputs, options, LayerPosition.Single, withScores: true);
        CompressedLayer again = compressor.Compress(big.Store(TensorLayout.Nhd).Inputs, options, LayerPosition.Single, withScores: true);
        Assert.That(again.Kept.Scores, Is.EqualTo(first.Kept.Scores), rng.Tag);
        Assert.That(again.Kept.Positions, Is.EqualTo(first.Kept.Positions), rng.Tag);
        Sentinel.AssertSameBytes(first.Keys, again.Keys, rng.Tag);
    }

    [Test]
    public void NameIsFast() => Assert.That(new FastCompressor().Name, Is.EqualTo("fast"));
}
