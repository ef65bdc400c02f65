using MixKV.Options;
using MixKV.Reference;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Reference;

/// <summary>The whole reference pipeline on tiny hand cases and on each no-compression rule of spec section 5.</summary>
[TestFixture]
public sealed class ReferenceCompressorTests
{
    private static readonly ReferenceCompressor Compressor = new();

    /// <summary>D = 1 keys ln(c_n) and unit queries: attention weights proportional to c_n (see WindowScoresTests).</summary>
    private static StoredLayer LogLayer(double[] c, int windowRows, double[]? values = null)
    {
        var keys = StoredTensor.F32([Array.ConvertAll(c, x => new[] { Math.Log(x) })]);
        var vals = StoredTensor.F32([Array.ConvertAll(values ?? c, x => new[] { x })]);
        var queries = StoredTensor.F32([Enumerable.Range(0, windowRows).Select(_ => new[] { 1.0 }).ToArray()]);
        return new StoredLayer(keys, vals, queries);
    }

    [Test]
    public void Attention_KeepsTheHeaviestPrefixTokens_AscendingWithTheWindowLast()
    {
        // c = 3, 1, 4, 1, 5, 9; N = 6, W = 2, P = 4; budget 4 -> cap 2; pooling off.
        // Row 0 sees keys 0..4 (sum 14), row 1 all (sum 23): a[n] = c_n (1/14 + 1/23)/2, order of c.
        // Prefix c = 3, 1, 4, 1: the two largest are 4 (pos 2) then 3 (pos 0) -> kept 0, 2, then 4, 5.
        StoredLayer layer = LogLayer([3, 1, 4, 1, 5, 9], 2);
        var options = new CompressionOptions { Score = ScoreMode.Attention, Budget = 4, Window = 2, PoolingKernel = 1 };

        CompressedLayer result = Compressor.Compress(layer.Inputs, options, LayerPosition.Single, withScores: true);

        Assert.That(result.Kept.Positions, Is.EqualTo(new[] { 0, 2, 4, 5 }));
        Assert.That(result.Kept.HeadLens, Is.EqualTo(new[] { 4 }));
        double f = (1.0 / 14 + 1.0 / 23) / 2;
        Assert.That(result.Kept.Scores, Is.EqualTo(new[] { 3 * f, 1 * f, 4 * f, 1 * f }).Within(1e-6));
        // Values were stored as c itself: rows 0, 2, 4, 5 of V are 3, 4, 5, 9.
        Assert.That(Enumerable.Range(0, 4).Select(t => Elements.Read(result.Values.AsSpan(t * 4, 4), DType.F32)), Is.EqualTo(new[] { 3f, 4f, 5f, 9f }));
    }

    [Test]
    public void EqualScores_TheLowerPositionIsKept()
    {
        // c = 2, 5, 5, 2, 7, 1: positions 1 and 2 carry the same key, hence bit-identical scores; cap 1 -> 1.
        StoredLayer layer = LogLayer([2, 5, 5, 2, 7, 1], 2);
        var options = new CompressionOptions { Score = ScoreMode.Attention, Budget = 3, Window = 2, PoolingKernel = 1 };

        KeptTokens kept = Compressor.Compress(layer.Inputs, options, LayerPosition.Single).Kept;

        Assert.That(kept.Positions, Is.EqualTo(new[] { 1, 4, 5 }));
    }

    [Test]
    public void AvgPooling_ChangesTheChoiceAsComputedByHand()
    {
        // c = 1, 8, 1, 3, 3, 3, 2, 2 with W = 2: P = 6, a_n ∝ c_n (same factor for every prefix key).
        // Kernel 1: the top prefix token is 1 (c = 8).
        // Kernel 3 (divide by 3, zero pads): sums 0+1+8 = 9, 1+8+1 = 10, 8+1+3 = 12, 1+3+3 = 7, 3+3+3 = 9, 3+3+0 = 6
        //   -> the top is position 2 (12), not 1.
        StoredLayer layer = LogLayer([1, 8, 1, 3, 3, 3, 2, 2], 2);
        var noPool = new CompressionOptions { Score = ScoreMode.Attention, Budget = 3, Window = 2, PoolingKernel = 1 };
        var pool3 = noPool with { PoolingKernel = 3 };

        Assert.That(Compressor.Compress(layer.Inputs, noPool, LayerPosition.Single).Kept.Positions, Is.EqualTo(new[] { 1, 6, 7 }));
        Assert.That(Compressor.Compress(layer.Inputs, pool3, LayerPosition.Single).Kept.Positions, Is.EqualTo(new[] { 2, 6, 7 }));
    }

    [Test]
    public void VNorm_BreaksAnAttentionTieByTheLargerValue()
    {
        // Keys equal on positions 0 and 1 (same A); values 2 and 6. vnorm min-max over the prefix (2, 6, 4):
        // 0, 1, 0.5 -> S = A + fit(...) is largest at position 1 -> kept 1 (attention alone keeps 0).
        StoredLayer layer = LogLayer([5, 5, 1, 2, 3], 2, values: [2, 6, 4, 1, 1]);
        var attention = new CompressionOptions { Score = ScoreMode.Attention, Budget = 3, Window = 2, PoolingKernel = 1 };
        var vnorm = attention with { Score = ScoreMode.VNorm };

        Assert.That(Compressor.Compress(layer.Inputs, attention, LayerPosition.Single).Kept.Positions, Is.EqualTo(new[] { 0, 3, 4 }));
        Assert.That(Compressor.Compress(layer.Inputs, vnorm, LayerPosition.Single).Kept.Positions, Is.EqualTo(new[] { 1, 3, 4 }));
    }

    private static IEnumerable<TestCaseData> NoCompressionRules()
    {
        // (method, N, W, budget, layer, layers)
        yield return new TestCaseData(BudgetMethod.SnapKV, 6, 8, 12, 0, 1).SetName("N < W (SnapKV)");
        yield return new TestCaseData(BudgetMethod.AdaKV, 6, 8, 12, 0, 1).SetName("N < W (AdaKV)");
        yield return new TestCaseData(BudgetMethod.SnapKV, 11, 4, 12, 0, 1).SetName("SnapKV N < budget");
        yield return new TestCaseData(BudgetMethod.AdaKV, 11, 4, 12, 0, 1).SetName("AdaKV budget - W > P");
        // Budget 40, W 8, N 28, L 6, l 1: cap 25 (see BudgetTests) -> N < 33.
        yield return new TestCaseData(BudgetMethod.PyramidKV, 28, 8, 40, 1, 6).SetName("PyramidKV N < cap + W");
    }

    [TestCaseSource(nameof(NoCompressionRules))]
    public void NoCompressionRule_ReturnsTheLayerUnchanged(BudgetMethod method, int tokens, int window, int budget, int index, int layers)
    {
        var rng = TestRandom.ForCurrentTest();
        int heads = rng.Int(1, 3);
        LayerData data = LayerData.Random(rng, heads, rng.Int(1, 2), tokens, rng.Int(2, 8), rng.Int(1, window + 2), DType.F16);
        if (tokens >= window)
        {
            data = LayerData.Random(rng, heads, 1, tokens, rng.Int(2, 8), window, DType.F16);
        }

        StoredLayer stored = data.Store(TensorLayout.Hnd);
        var options = new CompressionOptions { Method = method, Budget = budget, Window = window };

        CompressedLayer result = Compressor.Compress(stored.Inputs, options, new LayerPosition(index, layers));

        Assert.That(result.Kept.Compressed, Is.False, rng.Tag);
        Assert.That(result.Kept.HeadLens, Is.EqualTo(Enumerable.Repeat(tokens, heads)), rng.Tag);
        Assert.That(result.Kept.Positions, Is.EqualTo(Enumerable.Range(0, heads).SelectMany(_ => Enumerable.Range(0, tokens))), rng.Tag);
        for (int h = 0; h < heads; h++)
        {
            for (int n = 0; n < tokens; n++)
            {
                int t = h * tokens + n;
                Sentinel.AssertSameBytes(stored.Keys.Row(h, n), result.Keys.AsSpan(t * stored.Keys.RowBytes, stored.Keys.RowBytes), rng.Say($"keys head {h}, token {n}"));
                Sentinel.AssertSameBytes(stored.Values.Row(h, n), result.Values.AsSpan(t * stored.Keys.RowBytes, stored.Keys.RowBytes), rng.Say($"values head {h}, token {n}"));
            }
        }

        // In place: an uncompressed layer stays byte-identical in either layout.
        byte[][] before = stored.Snapshot();
        Compressor.CompressInPlace(stored.Inputs, options, new LayerPosition(index, layers), OutputLayout.Dense);
        stored.AssertUnchanged(before, rng.Say("dense in place on an uncompressed layer"));
        Compressor.CompressInPlace(stored.Inputs, options, new LayerPosition(index, layers), OutputLayout.Flattened);
        stored.AssertUnchanged(before, rng.Say("flattened in place on an uncompressed packed HND layer"));
    }

    [Test]
    public void NEqualsBudget_Compresses_WithSnapKV()
    {
        // The boundary of the SnapKV rule: N == budget compresses (cap = P, so every token stays, flagged compressed).
        var rng = TestRandom.ForCurrentTest();
        LayerData data = LayerData.Random(rng, 2, 2, 12, 4, 4, DType.F32);
        var options = new CompressionOptions { Budget = 12, Window = 4 };
        KeptTokens kept = Compressor.Compress(data.Store(TensorLayout.Nhd).Inputs, options, LayerPosition.Single).Kept;
        Assert.That(kept.Compressed, Is.True, rng.Tag);
        Assert.That(kept.HeadLens, Is.EqualTo(new[] { 12, 12 }), rng.Tag);
    }

    [Test]
    public void NaNInQueryRowsBeforeTheWindow_IsNotRead()
    {
        // Only the last W query rows are Qw; rows before them may hold anything (spec section 9: Wq >= W).
        var rng = TestRandom.ForCurrentTest();
        int window = rng.Int(2, 6);
        LayerData data = LayerData.Random(rng, 2, 2, rng.Int(20, 40), 8, window + 2, DType.BF16);
        var options = new CompressionOptions { Window = window, Budget = window + 5 };
        CompressedLayer clean = Compressor.Compress(data.Store(TensorLayout.Hnd).Inputs, options, LayerPosition.Single, withScores: true);

        StoredLayer dirty = data.Store(TensorLayout.Hnd);
        Elements.WriteNonFinite(dirty.Queries.Row(1, 0), DType.BF16, nan: true);
        Elements.WriteNonFinite(dirty.Queries.Row(3, 1)[2..], DType.BF16, nan: false);
        CompressedLayer result = Compressor.Compress(dirty.Inputs, options, LayerPosition.Single, withScores: true);

        Assert.That(result.Kept.Positions, Is.EqualTo(clean.Kept.Positions), rng.Tag);
        Assert.That(result.Kept.Scores, Is.EqualTo(clean.Kept.Scores), rng.Tag);
    }
}
