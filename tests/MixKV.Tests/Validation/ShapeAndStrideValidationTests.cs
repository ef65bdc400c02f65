using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Validation;

/// <summary>Spec section 8, the shape, stride, dtype and buffer rules: one test per rule.</summary>
[TestFixture]
public sealed class ShapeAndStrideValidationTests
{
    private static readonly CompressionOptions Options = new() { Window = 4, Budget = 10 };

    private static StoredLayer Layer(TestRandom rng, DType dtype = DType.F32, TensorLayout layout = TensorLayout.Hnd, int kvHeads = 2, int groups = 2) =>
        LayerData.Random(rng, kvHeads, groups, rng.Int(16, 40), rng.Int(2, 16), 4 + rng.Int(0, 2), dtype).Store(layout);

    private static HeadTensor With(HeadTensor t, DType? dtype = null, int? heads = null, int? tokens = null, int? dim = null, long? headStride = null, long? tokenStride = null, long? offset = null, Memory<byte>? data = null) =>
        new(data ?? t.Data, dtype ?? t.DType, heads ?? t.Heads, tokens ?? t.Tokens, dim ?? t.Dim, headStride ?? t.HeadStride, tokenStride ?? t.TokenStride, offset ?? t.Offset);

    private static void Reject(TestRandom rng, StoredLayer stored, LayerInputs inputs, string parameter, string rule) =>
        Rejection.AssertRejected(stored, inputs, Options, LayerPosition.Single, parameter, rule, rng.Tag);

    [Test]
    public void ValuesTokensDifferFromKeys()
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = Layer(rng);
        Reject(rng, s, s.Inputs with { Values = With(s.Values.View, tokens: s.Values.Tokens - 1) }, "values", "tokens");
    }

    [Test]
    public void ValuesHeadsDifferFromKeys()
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = Layer(rng);
        Reject(rng, s, s.Inputs with { Values = With(s.Values.View, heads: 1) }, "values", "heads");
    }

    [Test]
    public void HeadDimsDiffer()
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = Layer(rng);
        Reject(rng, s, s.Inputs with { Values = With(s.Values.View, dim: s.Values.Dim - 1) }, "values", "head dim");
        Reject(rng, s, s.Inputs with { Queries = With(s.Queries.View, dim: s.Queries.Dim - 1) }, "queries", "head dim");
    }

    [Test]
    public void DTypesDiffer()
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = Layer(rng);
        Reject(rng, s, s.Inputs with { Values = With(s.Values.View, dtype: DType.F16) }, "values", "dtype");
        Reject(rng, s, s.Inputs with { Queries = With(s.Queries.View, dtype: DType.BF16) }, "queries", "dtype");
    }

    [Test]
    public void TokensAtLeastOne()
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = Layer(rng);
        Reject(rng, s, s.Inputs with { Keys = With(s.Keys.View, tokens: 0), Values = With(s.Values.View, tokens: 0) }, "keys", "tokens must be >= 1");
    }

    [Test]
    public void HeadDimAtLeastOne()
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = Layer(rng);
        Reject(rng, s, new LayerInputs(With(s.Keys.View, dim: 0), With(s.Values.View, dim: 0), With(s.Queries.View, dim: 0)), "keys", "head dim must be >= 1");
    }

    [Test]
    public void KvHeadsAtLeastOne()
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = Layer(rng);
        Reject(rng, s, s.Inputs with { Keys = With(s.Keys.View, heads: 0), Values = With(s.Values.View, heads: 0) }, "keys", "heads must be >= 1");
    }

    [Test]
    public void QueryHeadsAtLeastOne()
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = Layer(rng);
        Reject(rng, s, s.Inputs with { Queries = With(s.Queries.View, heads: 0) }, "queries", "heads must be >= 1");
    }

    [Test]
    public void QueryHeadsAMultipleOfKvHeads()
    {
        // Hkv = 2, Hq = 4 stored; a view of 3 query heads breaks Hq % Hkv == 0.
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = Layer(rng);
        Reject(rng, s, s.Inputs with { Queries = With(s.Queries.View, heads: 3) }, "queries", "multiple");
    }

    [Test]
    public void QueryRowsCoverTheWindow()
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = Layer(rng);
        Reject(rng, s, s.Inputs with { Queries = With(s.Queries.View, tokens: Options.Window - 1) }, "queries", "window");
    }

    [Test]
    public void DTypeSupported()
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = Layer(rng);
        const DType undefined = (DType)7;
        Reject(rng, s, new LayerInputs(With(s.Keys.View, dtype: undefined), With(s.Values.View, dtype: undefined), With(s.Queries.View, dtype: undefined)), "keys", "unsupported dtype");
        Reject(rng, s, s.Inputs with { Values = With(s.Values.View, dtype: undefined) }, "values", "unsupported dtype");
    }

    [Test]
    public void BufferTooSmallForShapeAndStrides([Values] TensorLayout layout, [Values] DType dtype)
    {
        // One element short of the last row; and a positive offset that pushes the last row out.
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = Layer(rng, dtype, layout);
        Memory<byte> shortKeys = s.Keys.Storage.Memory[..^1];
        Reject(rng, s, s.Inputs with { Keys = With(s.Keys.View, data: shortKeys) }, "keys", "buffer");
        Reject(rng, s, s.Inputs with { Values = With(s.Values.View, offset: 1) }, "values", "buffer");
        Reject(rng, s, s.Inputs with { Queries = With(s.Queries.View, data: s.Queries.Storage.Memory[..^Elements.Size(dtype)]) }, "queries", "buffer");
    }

    [Test]
    public void StridesMustNotAliasRows()
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer hnd = Layer(rng);
        HeadTensor k = hnd.Keys.View;
        // Token stride shorter than a row: rows n and n+1 overlap.
        Reject(rng, hnd, hnd.Inputs with { Keys = With(k, tokenStride: k.Dim - 1) }, "keys", "alias");
        // Head stride 0 with two heads: both heads read the same rows.
        Reject(rng, hnd, hnd.Inputs with { Values = With(hnd.Values.View, headStride: 0) }, "values", "alias");
        // Head stride inside the first head's token span.
        Reject(rng, hnd, hnd.Inputs with { Keys = With(k, headStride: k.TokenStride * (k.Tokens - 1)) }, "keys", "alias");

        StoredLayer nhd = Layer(rng, layout: TensorLayout.Nhd);
        // NHD: head stride shorter than a row.
        Reject(rng, nhd, nhd.Inputs with { Keys = With(nhd.Keys.View, headStride: nhd.Keys.Dim - 1) }, "keys", "alias");
        // NHD: token stride shorter than all heads of a token.
        Reject(rng, nhd, nhd.Inputs with { Queries = With(nhd.Queries.View, tokenStride: nhd.Queries.View.HeadStride * (nhd.Queries.Heads - 1)) }, "queries", "alias");
    }

    [Test]
    public void StridesAndOffsetNonNegative()
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = Layer(rng);
        Reject(rng, s, s.Inputs with { Keys = With(s.Keys.View, tokenStride: -s.Keys.Dim) }, "keys", "non-negative");
        Reject(rng, s, s.Inputs with { Values = With(s.Values.View, headStride: -1) }, "values", "non-negative");
        Reject(rng, s, s.Inputs with { Queries = With(s.Queries.View, offset: -1) }, "queries", "non-negative");
    }

    [Test]
    public void StridesThatOverflowAByteOffset()
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = Layer(rng);
        Reject(rng, s, s.Inputs with { Keys = With(s.Keys.View, headStride: long.MaxValue / 2) }, "keys", "overflow");
    }

    [Test]
    public void DenseInPlace_NeedsUniformCaps()
    {
        // AdaKV with a flat and a peaked head gives different caps; the dense layout is refused before any write.
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s;
        CompressionOptions adakv = new() { Method = BudgetMethod.AdaKV, Window = 4, Budget = 14, FloorAlpha = 0, Normalize = false };
        int attempts = 0;
        do
        {
            s = LayerData.Random(rng, 4, 1, 40, 8, 4, DType.F32).Store(TensorLayout.Hnd);
        }
        while (new MixKV.Reference.ReferenceCompressor().Compress(s.Inputs, adakv, LayerPosition.Single).Kept.IsUniform && ++attempts < 20);

        byte[][] before = s.Snapshot();
        var ex = Assert.Catch<ArgumentException>(() => new MixKV.Reference.ReferenceCompressor().CompressInPlace(s.Inputs, adakv, LayerPosition.Single, OutputLayout.Dense), rng.Tag);
        Assert.That(ex!.ParamName, Is.EqualTo("layout"), rng.Tag);
        Assert.That(ex.Message, Does.Contain("cap"), rng.Tag);
        s.AssertUnchanged(before, rng.Tag);
    }
}
