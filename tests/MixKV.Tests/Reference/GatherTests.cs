using MixKV.Reference;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Reference;

/// <summary>Spec section 7: byte-exact copies into poisoned, guarded outputs, and short outputs refused.</summary>
[TestFixture]
public sealed class GatherTests
{
    private static (StoredTensor Source, KeptTokens Kept) RandomCase(TestRandom rng, DType dtype, TensorLayout layout, bool uniform)
    {
        int heads = rng.Int(1, 4), tokens = rng.Int(6, 30), dim = rng.Int(1, 9), window = rng.Int(2, 4);
        LayerData data = LayerData.Random(rng, heads, 1, tokens, dim, 1, dtype);
        var positions = new List<int>();
        var lens = new int[heads];
        int sharedCap = rng.Int(0, tokens - window);
        for (int h = 0; h < heads; h++)
        {
            int cap = uniform ? sharedCap : rng.Int(0, tokens - window);
            int[] prefix = Enumerable.Range(0, tokens - window).ToArray();
            rng.Shuffle(prefix);
            positions.AddRange(prefix.Take(cap).Order());
            positions.AddRange(Enumerable.Range(tokens - window, window));
            lens[h] = cap + window;
        }

        var padding = new Padding(rng.Int(0, 3), rng.Int(0, 3), rng.Int(0, 3), rng.Int(0, 3));
        return (StoredTensor.Pack(data.Keys, dtype, layout, padding), new KeptTokens(true, lens, positions.ToArray(), tokens - window, null));
    }

    [Test]
    public void Flattened_CopiesEveryKeptRowAndNothingElse([Values] DType dtype, [Values] TensorLayout layout)
    {
        var rng = TestRandom.ForCurrentTest();
        (StoredTensor source, KeptTokens kept) = RandomCase(rng, dtype, layout, uniform: false);
        var output = new GuardedBuffer(kept.TotalTokens * source.RowBytes);

        Gather.Flattened(source.View, kept, output.Span);

        output.AssertGuardsIntact(rng.Tag);
        for (int h = 0, t = 0; h < kept.KvHeads; h++)
        {
            foreach (int position in kept.PositionsOfHead(h))
            {
                Sentinel.AssertSameBytes(source.Row(h, position), output.Span.Slice(t * source.RowBytes, source.RowBytes), rng.Say($"row {t} (head {h}, position {position})"));
                t++;
            }
        }
    }

    [Test]
    public void Dense_WritesTheDestinationsRowsAndKeepsItsPadding([Values] DType dtype, [Values] TensorLayout layout)
    {
        var rng = TestRandom.ForCurrentTest();
        (StoredTensor source, KeptTokens kept) = RandomCase(rng, dtype, layout, uniform: true);
        int length = kept.HeadLens[0];
        float[][][] poison = Enumerable.Range(0, source.Heads).Select(_ => Enumerable.Range(0, length + 1).Select(_ => new float[source.Dim]).ToArray()).ToArray();
        StoredTensor destination = StoredTensor.Pack(poison, dtype, layout == TensorLayout.Hnd ? TensorLayout.Nhd : TensorLayout.Hnd, new Padding(2, 1, 3, 2));
        destination.Storage.Span.Fill(Sentinel.Byte);
        bool[] rowMask = destination.RowMask();

        Gather.Dense(source.View, kept, destination.View);

        destination.Storage.AssertGuardsIntact(rng.Tag);
        for (int h = 0; h < source.Heads; h++)
        {
            ReadOnlySpan<int> positions = kept.PositionsOfHead(h);
            for (int j = 0; j < length; j++)
            {
                Sentinel.AssertSameBytes(source.Row(h, positions[j]), destination.Row(h, j), rng.Say($"head {h}, row {j}"));
            }

            Assert.That(destination.Row(h, length).IndexOfAnyExcept(Sentinel.Byte), Is.EqualTo(-1), rng.Say($"head {h}: the spare row past the kept length was written"));
        }

        for (int i = 0; i < rowMask.Length; i++)
        {
            if (!rowMask[i])
            {
                Assert.That(destination.Storage.Span[i], Is.EqualTo(Sentinel.Byte), rng.Say($"padding byte {i} of the destination was written"));
            }
        }
    }

    [Test]
    public void Flattened_IntoAShortBuffer_ThrowsAndWritesNothing()
    {
        var rng = TestRandom.ForCurrentTest();
        (StoredTensor source, KeptTokens kept) = RandomCase(rng, DType.F16, TensorLayout.Hnd, uniform: false);
        var output = new GuardedBuffer(kept.TotalTokens * source.RowBytes - 1);

        var ex = Assert.Throws<ArgumentException>(() => Gather.Flattened(source.View, kept, output.Span), rng.Tag);

        Assert.That(ex!.ParamName, Is.EqualTo("destination"), rng.Tag);
        Assert.That(ex.Message, Does.Contain("capacity"), rng.Tag);
        Assert.That(output.Backing.AsSpan().IndexOfAnyExcept(Sentinel.Byte), Is.EqualTo(-1), rng.Say("a refused gather wrote into the output"));
    }

    [Test]
    public void Dense_IntoTooFewTokens_ThrowsAndWritesNothing()
    {
        var rng = TestRandom.ForCurrentTest();
        (StoredTensor source, KeptTokens kept) = RandomCase(rng, DType.BF16, TensorLayout.Nhd, uniform: true);
        int length = kept.HeadLens[0];
        // W >= 2, so the kept length is >= 2 and a destination one token shorter still exists.
        float[][][] shape = Enumerable.Range(0, source.Heads).Select(_ => Enumerable.Range(0, length - 1).Select(_ => new float[source.Dim]).ToArray()).ToArray();
        StoredTensor destination = StoredTensor.Pack(shape, DType.BF16, TensorLayout.Hnd);
        destination.Storage.Span.Fill(Sentinel.Byte);

        var ex = Assert.Throws<ArgumentException>(() => Gather.Dense(source.View, kept, destination.View), rng.Tag);

        Assert.That(ex!.ParamName, Is.EqualTo("destination"), rng.Tag);
        Assert.That(destination.Storage.Backing.AsSpan().IndexOfAnyExcept(Sentinel.Byte), Is.EqualTo(-1), rng.Say("a refused gather wrote into the output"));
    }
}
