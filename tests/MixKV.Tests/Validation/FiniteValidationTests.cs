using MixKV.Options;
using MixKV.Reference;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Validation;

/// <summary>Spec section 8: NaN and Inf in K, V or Qw are rejected by default; a switch skips the check.</summary>
[TestFixture]
public sealed class FiniteValidationTests
{
    public enum Tensor
    {
        Keys,
        Values,
        WindowQueries,
    }

    private static StoredTensor Target(StoredLayer s, Tensor tensor) => tensor switch
    {
        Tensor.Keys => s.Keys,
        Tensor.Values => s.Values,
        _ => s.Queries,
    };

    /// <summary>Poisons one random element; for Q the row is drawn from the last W rows.</summary>
    private static (int Head, int Token) Poison(TestRandom rng, StoredLayer s, Tensor tensor, int window, bool nan)
    {
        StoredTensor t = Target(s, tensor);
        int head = rng.Int(0, t.Heads - 1);
        int token = tensor == Tensor.WindowQueries ? rng.Int(t.Tokens - window, t.Tokens - 1) : rng.Int(0, t.Tokens - 1);
        int size = Elements.Size(t.DType);
        Elements.WriteNonFinite(t.Row(head, token).Slice(rng.Int(0, t.Dim - 1) * size, size), t.DType, nan);
        return (head, token);
    }

    [Test]
    public void NonFiniteValue_IsRejected([Values] Tensor tensor, [Values] DType dtype, [Values] bool nan)
    {
        var rng = TestRandom.ForCurrentTest();
        var options = new CompressionOptions { Window = rng.Int(2, 8), Budget = 12 };
        StoredLayer s = LayerData.Random(rng, 2, 2, rng.Int(20, 40), rng.Int(2, 16), options.Window + 2, dtype).Store(rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd);
        (int head, int token) = Poison(rng, s, tensor, options.Window, nan);
        string parameter = tensor switch { Tensor.Keys => "keys", Tensor.Values => "values", _ => "queries" };

        Rejection.AssertRejected(s, options, LayerPosition.Single, parameter, "non-finite", rng.Say($"{(nan ? "NaN" : "Inf")} at head {head}, token {token}"));
    }

    [Test]
    public void CheckFiniteOff_SkipsTheCheck_AndTheRowsAreStillCopiedByteForByte([Values] DType dtype)
    {
        // Attention mode never reads V, so an Inf in V changes nothing but the copied bytes of that row.
        var rng = TestRandom.ForCurrentTest();
        int window = rng.Int(2, 6);
        LayerData data = LayerData.Random(rng, 2, 2, rng.Int(30, 60), 8, window, dtype);
        var options = new CompressionOptions { Score = ScoreMode.Attention, Window = window, Budget = window + 6, CheckFinite = false };
        var compressor = new ReferenceCompressor();
        CompressedLayer clean = compressor.Compress(data.Store(TensorLayout.Hnd).Inputs, options, LayerPosition.Single);

        StoredLayer dirty = data.Store(TensorLayout.Hnd);
        int keptRow = rng.Int(0, clean.Kept.TotalTokens - 1);
        int head = Array.FindLastIndex(clean.Kept.CuLens, cu => cu <= keptRow);
        int position = clean.Kept.Positions[keptRow];
        Elements.WriteNonFinite(dirty.Values.Row(head, position), dtype, nan: false);

        CompressedLayer result = compressor.Compress(dirty.Inputs, options, LayerPosition.Single);

        Assert.That(result.Kept.Positions, Is.EqualTo(clean.Kept.Positions), rng.Tag);
        int rowBytes = dirty.Values.RowBytes;
        Sentinel.AssertSameBytes(dirty.Values.Row(head, position), result.Values.AsSpan(keptRow * rowBytes, rowBytes), rng.Say("the Inf row"));
        Assert.That(float.IsPositiveInfinity(Elements.Read(result.Values.AsSpan(keptRow * rowBytes), dtype)), Is.True, rng.Tag);

        // With the check on, the same input is refused.
        Rejection.AssertRejected(dirty, options with { CheckFinite = true }, LayerPosition.Single, "values", "non-finite", rng.Tag);
    }

    [Test]
    public void CheckFiniteOff_NaNKeysDoNotThrow([Values] ScoreMode score)
    {
        var rng = TestRandom.ForCurrentTest();
        var options = new CompressionOptions { Score = score, Window = 4, Budget = 10, CheckFinite = false };
        StoredLayer s = LayerData.Random(rng, 2, 1, 30, 8, 4, DType.F16).Store(TensorLayout.Hnd);
        Poison(rng, s, Tensor.Keys, 4, nan: true);
        KeptTokens? kept = null;
        Assert.That(() => kept = new ReferenceCompressor().Compress(s.Inputs, options, LayerPosition.Single).Kept, Throws.Nothing, rng.Tag);
        Assert.That(kept!.HeadLens, Is.EqualTo(new[] { 10, 10 }), rng.Tag);
    }
}
