using MixKV.Options;
using MixKV.Reference;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Reference;

/// <summary>
/// Which buffers the host in-place call lets share memory (the device rule, DeviceByteRanges, on the
/// host): K and V interleaved in one [N, 2, Hkv, D] buffer compress densely to the out-of-place rows,
/// and are refused by the flattened layout, whose packed rows would run over the other tensor's; window
/// queries inside the cache are refused in either layout. A refused call changes no byte.
/// </summary>
[TestFixture]
public sealed class InPlaceSharingTests
{
    [Test]
    public void DenseInPlaceOverInterleavedKeysAndValuesKeepsTheOutOfPlaceRows([Values] DType dtype)
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        (LayerData data, CompressionOptions options) = Draw(rng, dtype);
        byte[] cache = InterleavedCache.Bytes(data);
        HeadTensor queries = data.Store(TensorLayout.Hnd).Queries.View;
        var compressor = new ReferenceCompressor();
        CompressedLayer expected = compressor.Compress(new LayerInputs(InterleavedCache.Keys(cache.ToArray(), data), InterleavedCache.Values(cache.ToArray(), data), queries), options, LayerPosition.Single);
        HeadTensor keys = InterleavedCache.Keys(cache, data), values = InterleavedCache.Values(cache, data);

        KeptTokens kept = compressor.CompressInPlace(new LayerInputs(keys, values, queries), options, LayerPosition.Single, OutputLayout.Dense);

        Assert.That(kept.Positions, Is.EqualTo(expected.Kept.Positions), rng.Tag);
        int rowBytes = keys.RowBytes;
        for (int h = 0; h < data.KvHeads; h++)
        {
            for (int i = 0; i < kept.HeadLens[h]; i++)
            {
                int row = (kept.CuLens[h] + i) * rowBytes;
                Sentinel.AssertSameBytes(expected.Keys.AsSpan(row, rowBytes), keys.Row(h, i), rng.Say($"K head {h} row {i}"));
                Sentinel.AssertSameBytes(expected.Values.AsSpan(row, rowBytes), values.Row(h, i), rng.Say($"V head {h} row {i}"));
            }
        }
    }

    [Test]
    public void FlattenedInPlaceRefusesInterleavedKeysAndValues()
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        (LayerData data, CompressionOptions options) = Draw(rng, rng.Pick([DType.F32, DType.F16, DType.BF16]));
        byte[] cache = InterleavedCache.Bytes(data), before = cache.ToArray();
        var inputs = new LayerInputs(InterleavedCache.Keys(cache, data), InterleavedCache.Values(cache, data), data.Store(TensorLayout.Hnd).Queries.View);

        var error = Assert.Throws<ArgumentException>(() => new ReferenceCompressor().CompressInPlace(inputs, options, LayerPosition.Single, OutputLayout.Flattened), rng.Tag);

        Assert.That(error!.ParamName, Is.EqualTo("values"), rng.Say(error.Message));
        Assert.That(error.Message, Does.Contain("packs the kept keys over the values"), rng.Tag);
        Assert.That(cache, Is.EqualTo(before), rng.Say("the cache is unchanged"));
    }

    [Test]
    public void InPlaceRefusesWindowQueriesInsideTheCache([Values] OutputLayout layout, [Values("keys", "values")] string holder)
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        (LayerData data, CompressionOptions options) = Draw(rng, rng.Pick([DType.F32, DType.F16, DType.BF16]));
        StoredLayer stored = data.Store(TensorLayout.Hnd);
        byte[][] before = stored.Snapshot();
        // The queries' shape over the holder's buffer, from a random row on: its bytes are finite rows.
        HeadTensor k = stored.Keys.View, v = stored.Values.View, held = holder == "keys" ? k : v;
        int rowsFree = (held.Heads * held.Tokens) - (data.QueryHeads * options.Window);
        var queries = new HeadTensor(held.Data, held.DType, data.QueryHeads, options.Window, held.Dim, (long)options.Window * held.Dim, held.Dim, held.Offset + ((long)rng.Int(0, rowsFree) * held.Dim));

        var error = Assert.Throws<ArgumentException>(() => new ReferenceCompressor().CompressInPlace(new LayerInputs(k, v, queries), options, LayerPosition.Single, layout), rng.Tag);

        Assert.That(error!.ParamName, Is.EqualTo("queries"), rng.Say(error.Message));
        Assert.That(error.Message, Does.Contain($"share bytes with the {holder}"), rng.Tag);
        stored.AssertUnchanged(before, rng.Say("the cache is unchanged"));
    }

    /// <summary>A uniform-cap layer (the dense layout needs one cap a head) with room for the queries inside its keys.</summary>
    private static (LayerData Data, CompressionOptions Options) Draw(TestRandom rng, DType dtype)
    {
        int heads = rng.Int(1, 4), groups = rng.Int(1, 3), window = rng.Int(2, 10), tokens = rng.Int((groups * window) + 20, 150);
        LayerData data = LayerData.Random(rng, heads, groups, tokens, rng.Int(2, 40), window, dtype);
        var options = new CompressionOptions { Method = rng.Coin() ? BudgetMethod.SnapKV : BudgetMethod.PyramidKV, Window = window, Budget = window + rng.Int(1, tokens - window - 1) };
        return (data, options);
    }
}
