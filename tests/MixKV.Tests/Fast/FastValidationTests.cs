using MixKV.Fast;
using MixKV.Options;
using MixKV.Reference;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Fast;

/// <summary>Spec section 8 on the fast path: the reference's exceptions (parameter and message), inputs untouched.</summary>
[TestFixture]
public sealed class FastValidationTests
{
    public enum Tensor
    {
        Keys,
        Values,
        Queries,
    }

    /// <param name="dim">128 takes the fast path's one-sweep key and value passes (D = 128 only), 32 the general ones.</param>
    [Test]
    public void NonFiniteValue_IsRejectedLikeTheReference([Values] Tensor tensor, [Values] DType dtype, [Values] bool nan, [Values] bool uncompressed, [Values(32, 128)] int dim)
    {
        var rng = TestRandom.ForCurrentTest();
        int tokens = rng.Int(300, 700), window = 8;
        LayerData data = LayerData.Random(rng, 2, 2, tokens, dim, window + 2, dtype);
        StoredLayer stored = data.Store(rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd);
        StoredTensor target = tensor switch { Tensor.Keys => stored.Keys, Tensor.Values => stored.Values, _ => stored.Queries };
        int head = rng.Int(0, target.Heads - 1);
        int token = tensor == Tensor.Queries ? rng.Int(2, target.Tokens - 1) : rng.Int(0, target.Tokens - 1); // the last W query rows are checked
        int size = Elements.Size(dtype);
        Elements.WriteNonFinite(target.Row(head, token).Slice(rng.Int(0, target.Dim - 1) * size, size), dtype, nan);
        var options = new CompressionOptions { Budget = uncompressed ? tokens + 5 : window + 40, Window = window };
        string say = rng.Say($"{(nan ? "NaN" : "Inf")} in {tensor} at head {head}, token {token}, uncompressed {uncompressed}");

        ArgumentException expected = Assert.Catch<ArgumentException>(() => new ReferenceCompressor().Compress(stored.Inputs, options, LayerPosition.Single), say)!;
        byte[][] before = stored.Snapshot();
        ArgumentException actual = Assert.Catch<ArgumentException>(() => new FastCompressor().Compress(stored.Inputs, options, LayerPosition.Single, withScores: rng.Coin()), say)!;
        Assert.That(actual.ParamName, Is.EqualTo(expected.ParamName), say);
        Assert.That(actual.Message, Is.EqualTo(expected.Message), say);
        stored.AssertUnchanged(before, say);

        Assert.DoesNotThrow(() => new FastCompressor().Compress(stored.Inputs, options with { CheckFinite = false }, LayerPosition.Single), $"{say}: CheckFinite off");
    }

    [Test]
    public void LargeFiniteValues_AreNotMistakenForNonFinite([Values(16, 128)] int dim, [Values] bool inValues)
    {
        var rng = TestRandom.ForCurrentTest();
        LayerData data = LayerData.Random(rng, 1, 1, 600, dim, 8, DType.F32);
        // Its square overflows fp32; mid-chunk, so the one-sweep passes hand the rest of the chunk over.
        int token = rng.Int(0, 590);
        (inValues ? data.Values : data.Keys)[0][token][3] = 3e25f;
        StoredLayer stored = data.Store(TensorLayout.Hnd);
        var options = new CompressionOptions { Budget = 40, Window = 8, Score = inValues ? ScoreMode.VNorm : ScoreMode.KeyDiff };
        CompressedLayer expected = new ReferenceCompressor().Compress(stored.Inputs, options, LayerPosition.Single);
        (CompressedLayer actual, FastIntermediates? details) = new FastCompressor().Run(stored.Inputs, options, LayerPosition.Single, withScores: false, keepIntermediates: true);
        string say = rng.Say($"3e25 in {(inValues ? "V" : "K")} at token {token}, D {dim}");
        Assert.That(actual.Kept.HeadLens, Is.EqualTo(expected.Kept.HeadLens), say);
        // The row's norm (its fp32 sum of squares overflows) and every other row's, within the fp32 tolerance.
        HeadStatistics stats = HeadStats.Compute(stored.Inputs.Keys, stored.Inputs.Values, 600 - 8);
        FastAgreement.AssertClose(details!.KeyNorms, stats.KeyNorms, FastAgreement.F32Tolerance, 1e-3, $"{say}: key norms");
        FastAgreement.AssertClose(details.ValueNorms, stats.ValueNorms, FastAgreement.F32Tolerance, 1e-3, $"{say}: value norms");
        FastAgreement.AssertClose(details.Similarity, stats.MeanKeySimilarity, FastAgreement.F32Tolerance, 1, $"{say}: similarity");
        if (inValues)
        {
            // Its value norm dwarfs every other: the largest S of the head on both paths.
            Assert.That(expected.Kept.Positions, Does.Contain(token), say);
            Assert.That(actual.Kept.Positions, Does.Contain(token), say);
        }
    }

    [Test]
    public void ShapeAndOptionErrors_AreTheReferences()
    {
        var rng = TestRandom.ForCurrentTest();
        LayerData data = LayerData.Random(rng, 2, 3, 120, 16, 8, DType.F16);
        StoredLayer stored = data.Store(TensorLayout.Hnd);
        LayerInputs good = stored.Inputs;
        var badQueries = new LayerInputs(good.Keys, good.Values, new HeadTensor(good.Queries.Data, DType.F16, 5, good.Queries.Tokens, 16, good.Queries.HeadStride, good.Queries.TokenStride, good.Queries.Offset));
        var calls = new (string What, LayerInputs Inputs, CompressionOptions Options, LayerPosition Layer)[]
        {
            ("Hq % Hkv", badQueries, new CompressionOptions { Budget = 40, Window = 8 }, LayerPosition.Single),
            ("budget <= W", good, new CompressionOptions { Budget = 8, Window = 8 }, LayerPosition.Single),
            ("even pooling kernel", good, new CompressionOptions { Budget = 40, Window = 8, PoolingKernel = 4 }, LayerPosition.Single),
            ("layer index", good, new CompressionOptions { Budget = 40, Window = 8 }, new LayerPosition(3, 3)),
            ("Wq < W", good, new CompressionOptions { Budget = 40, Window = 12 }, LayerPosition.Single),
        };

        foreach ((string what, LayerInputs inputs, CompressionOptions options, LayerPosition layer) in calls)
        {
            string say = rng.Say(what);
            ArgumentException expected = Assert.Catch<ArgumentException>(() => new ReferenceCompressor().Compress(inputs, options, layer), say)!;
            byte[][] before = stored.Snapshot();
            ArgumentException actual = Assert.Catch<ArgumentException>(() => new FastCompressor().Compress(inputs, options, layer), say)!;
            Assert.That(actual.ParamName, Is.EqualTo(expected.ParamName), say);
            Assert.That(actual.Message, Is.EqualTo(expected.Message), say);
            stored.AssertUnchanged(before, say);
        }
    }
}
