using MixKV.Options;
using MixKV.Reference;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Reference;

/// <summary>Spec section 7, decode-time append into a flattened cache built from a real compression.</summary>
[TestFixture]
public sealed class AppendTests
{
    private sealed record Cache(FlatCache Flat, GuardedBuffer Keys, GuardedBuffer Values);

    private static Cache Build(TestRandom rng, DType dtype, int spareSteps, out int heads, out int dim, int spareRows = 0)
    {
        heads = rng.Int(1, 5);
        dim = rng.Int(2, 24);
        int tokens = rng.Int(20, 60), window = rng.Int(2, 6);
        LayerData data = LayerData.Random(rng, heads, rng.Int(1, 2), tokens, dim, window, dtype);
        var options = new CompressionOptions { Method = BudgetMethod.AdaKV, Window = window, Budget = window + rng.Int(1, tokens - window) };
        CompressedLayer layer = new ReferenceCompressor().Compress(data.Store(TensorLayout.Hnd).Inputs, options, LayerPosition.Single);

        int rowBytes = dim * Elements.Size(dtype);
        int capacity = layer.Kept.TotalTokens + heads * spareSteps + spareRows;
        var keys = new GuardedBuffer(capacity * rowBytes);
        var values = new GuardedBuffer(capacity * rowBytes);
        layer.Keys.CopyTo(keys.Span);
        layer.Values.CopyTo(values.Span);
        var positions = new int[capacity];
        layer.Kept.Positions.CopyTo(positions, 0);
        var flat = new FlatCache(keys.Memory, values.Memory, dtype, dim, capacity, (int[])layer.Kept.HeadLens.Clone(), positions);
        return new Cache(flat, keys, values);
    }

    private static byte[] RandomRows(TestRandom rng, int heads, int dim, DType dtype)
    {
        var bytes = new byte[heads * dim * Elements.Size(dtype)];
        int size = Elements.Size(dtype);
        for (int i = 0; i < heads * dim; i++)
        {
            Elements.Write(bytes.AsSpan(i * size, size), dtype, Elements.Representable(dtype, rng.Gaussian()));
        }

        return bytes;
    }

    [Test]
    public void Append_PutsEachNewRowAtTheEndOfItsHeadsSegment([Values] DType dtype)
    {
        var rng = TestRandom.ForCurrentTest();
        const int steps = 3;
        Cache cache = Build(rng, dtype, steps, out int heads, out int dim);
        FlatCache flat = cache.Flat;
        int rowBytes = flat.RowBytes;

        // The model of the cache: per head, a list of (row bytes of K, row bytes of V, position).
        var model = new List<(byte[] K, byte[] V, int Position)>[heads];
        for (int h = 0; h < heads; h++)
        {
            model[h] = [];
            for (int t = flat.CuLens[h]; t < flat.CuLens[h + 1]; t++)
            {
                model[h].Add((cache.Keys.Span.Slice(t * rowBytes, rowBytes).ToArray(), cache.Values.Span.Slice(t * rowBytes, rowBytes).ToArray(), flat.Positions[t]));
            }
        }

        for (int step = 0; step < steps; step++)
        {
            int[] lensBefore = (int[])flat.HeadLens.Clone();
            byte[] newKeys = RandomRows(rng, heads, dim, dtype), newValues = RandomRows(rng, heads, dim, dtype);
            int position = 1000 + step;

            Append.Run(flat, newKeys, newValues, position);

            for (int h = 0; h < heads; h++)
            {
                model[h].Add((newKeys.AsSpan(h * rowBytes, rowBytes).ToArray(), newValues.AsSpan(h * rowBytes, rowBytes).ToArray(), position));
                Assert.That(flat.HeadLens[h], Is.EqualTo(lensBefore[h] + 1), rng.Say($"step {step}: head_lens[{h}]"));
            }

            int[] expectedCu = new int[heads + 1];
            for (int h = 0; h < heads; h++)
            {
                expectedCu[h + 1] = expectedCu[h] + model[h].Count;
            }

            Assert.That(flat.CuLens, Is.EqualTo(expectedCu), rng.Say($"step {step}: cu_lens"));
            for (int h = 0; h < heads; h++)
            {
                for (int j = 0; j < model[h].Count; j++)
                {
                    int t = expectedCu[h] + j;
                    string where = rng.Say($"step {step}, head {h}, row {j}");
                    Sentinel.AssertSameBytes(model[h][j].K, cache.Keys.Span.Slice(t * rowBytes, rowBytes), $"{where}: keys");
                    Sentinel.AssertSameBytes(model[h][j].V, cache.Values.Span.Slice(t * rowBytes, rowBytes), $"{where}: values");
                    Assert.That(flat.Positions[t], Is.EqualTo(model[h][j].Position), $"{where}: position");
                }
            }

            // Rows past the live ones are still poison; the guards are intact.
            int live = expectedCu[heads] * rowBytes;
            Assert.That(cache.Keys.Span[live..].IndexOfAnyExcept(Sentinel.Byte), Is.EqualTo(-1), rng.Say($"step {step}: keys written past the live rows"));
            Assert.That(cache.Values.Span[live..].IndexOfAnyExcept(Sentinel.Byte), Is.EqualTo(-1), rng.Say($"step {step}: values written past the live rows"));
            cache.Keys.AssertGuardsIntact(rng.Say($"step {step}: keys"));
            cache.Values.AssertGuardsIntact(rng.Say($"step {step}: values"));
        }
    }

    /// <summary>
    /// An engine may stage the step's rows in the cache's own spare rows, right after the live ones:
    /// exactly where the shifted segments land. The append must read them before it moves anything.
    /// </summary>
    [Test]
    public void Append_NewRowsStagedInTheCachesSpareRows_AppendAsIfCopiedOut([Values] DType dtype)
    {
        var rng = TestRandom.ForCurrentTest();
        int seed = rng.Int(0, int.MaxValue - 1);
        Cache staged = Build(new TestRandom(seed), dtype, spareSteps: 1, out int heads, out int dim);
        Cache copied = Build(new TestRandom(seed), dtype, spareSteps: 1, out _, out _);
        byte[] newKeys = RandomRows(rng, heads, dim, dtype), newValues = RandomRows(rng, heads, dim, dtype);
        int live = staged.Flat.TotalTokens * staged.Flat.RowBytes;
        newKeys.CopyTo(staged.Keys.Span[live..]);
        newValues.CopyTo(staged.Values.Span[live..]);
        string say = rng.Say($"Hkv {heads}, D {dim}, {dtype}, head_lens [{string.Join(",", staged.Flat.HeadLens)}]");

        Append.Run(staged.Flat, staged.Keys.Span.Slice(live, newKeys.Length), staged.Values.Span.Slice(live, newValues.Length), 77);
        Append.Run(copied.Flat, newKeys, newValues, 77);

        Sentinel.AssertSameBytes(copied.Keys.Backing, staged.Keys.Backing, $"{say}: keys");
        Sentinel.AssertSameBytes(copied.Values.Backing, staged.Values.Backing, $"{say}: values");
        Assert.That(staged.Flat.Positions, Is.EqualTo(copied.Flat.Positions), say);
        Assert.That(staged.Flat.CuLens, Is.EqualTo(copied.Flat.CuLens), say);
    }

    [Test]
    public void FlatCache_ValuesOverTheKeys_Throws()
    {
        var rng = TestRandom.ForCurrentTest();
        // One buffer, V starting anywhere inside K's rows (its last element at the latest).
        int dim = rng.Int(1, 16), capacity = rng.Int(1, 40), rowBytes = dim * sizeof(float);
        var buffer = new byte[2 * capacity * rowBytes];
        int valuesStart = rng.Int(0, (capacity * dim) - 1) * sizeof(float);
        Memory<byte> keys = buffer.AsMemory(0, capacity * rowBytes), values = buffer.AsMemory(valuesStart, capacity * rowBytes);

        var ex = Assert.Throws<ArgumentException>(() => new FlatCache(keys, values, DType.F32, dim, capacity, [0], new int[capacity]), rng.Say($"V from byte {valuesStart} of K's {capacity * rowBytes}"));

        Assert.That(ex!.ParamName, Is.EqualTo("values"), rng.Say(ex.Message));
        Assert.That(ex.Message, Does.Contain("overlap the keys"), rng.Tag);
    }

    [Test]
    public void Append_PastCapacity_ThrowsAndWritesNothing()
    {
        var rng = TestRandom.ForCurrentTest();
        Cache cache = Build(rng, DType.F32, spareSteps: 1, out int heads, out int dim);
        FlatCache flat = cache.Flat;
        Append.Run(flat, RandomRows(rng, heads, dim, DType.F32), RandomRows(rng, heads, dim, DType.F32), 500); // fills the cache exactly
        Assert.That(flat.TotalTokens, Is.EqualTo(flat.CapacityTokens), rng.Tag);

        byte[] keysBefore = cache.Keys.Backing.ToArray(), valuesBefore = cache.Values.Backing.ToArray();
        int[] lensBefore = (int[])flat.HeadLens.Clone(), cuBefore = (int[])flat.CuLens.Clone(), positionsBefore = (int[])flat.Positions.Clone();

        var ex = Assert.Throws<ArgumentException>(() => Append.Run(flat, RandomRows(rng, heads, dim, DType.F32), RandomRows(rng, heads, dim, DType.F32), 501), rng.Tag);

        Assert.That(ex!.ParamName, Is.EqualTo("cache"), rng.Tag);
        Assert.That(ex.Message, Does.Contain("capacity"), rng.Tag);
        Sentinel.AssertSameBytes(keysBefore, cache.Keys.Backing, rng.Say("keys after a refused append"));
        Sentinel.AssertSameBytes(valuesBefore, cache.Values.Backing, rng.Say("values after a refused append"));
        Assert.That(flat.HeadLens, Is.EqualTo(lensBefore), rng.Tag);
        Assert.That(flat.CuLens, Is.EqualTo(cuBefore), rng.Tag);
        Assert.That(flat.Positions, Is.EqualTo(positionsBefore), rng.Tag);
    }

    [Test]
    public void Append_OneRowShortOfAStep_ThrowsAndWritesNothing()
    {
        // Capacity T + Hkv - 1: a step needs Hkv rows, one is missing (every head count, the last one included).
        var rng = TestRandom.ForCurrentTest();
        for (int trial = 0; trial < 6; trial++)
        {
            Cache probe = Build(new TestRandom(rng.Seed + trial), DType.F16, spareSteps: 0, out int heads, out _);
            Cache cache = Build(new TestRandom(rng.Seed + trial), DType.F16, spareSteps: 0, out _, out int dim, spareRows: heads - 1);
            byte[] keysBefore = cache.Keys.Backing.ToArray(), valuesBefore = cache.Values.Backing.ToArray();
            int[] lensBefore = (int[])cache.Flat.HeadLens.Clone();
            string say = rng.Say($"trial {trial}, Hkv {heads}, capacity {cache.Flat.CapacityTokens}, live {cache.Flat.TotalTokens}");

            var ex = Assert.Throws<ArgumentException>(() => Append.Run(cache.Flat, RandomRows(rng, heads, dim, DType.F16), RandomRows(rng, heads, dim, DType.F16), 9), say);

            Assert.That(ex!.ParamName, Is.EqualTo("cache"), say);
            Sentinel.AssertSameBytes(keysBefore, cache.Keys.Backing, say);
            Sentinel.AssertSameBytes(valuesBefore, cache.Values.Backing, say);
            Assert.That(cache.Flat.HeadLens, Is.EqualTo(lensBefore), say);
            Assert.That(probe.Flat.TotalTokens, Is.EqualTo(cache.Flat.TotalTokens), say);
        }
    }

    [Test]
    public void Append_RowsOfTheWrongSize_ThrowAndWriteNothing()
    {
        var rng = TestRandom.ForCurrentTest();
        Cache cache = Build(rng, DType.BF16, spareSteps: 2, out int heads, out int dim);
        byte[] keysBefore = cache.Keys.Backing.ToArray();
        byte[] good = RandomRows(rng, heads, dim, DType.BF16);
        byte[] shortRows = good[..^2];

        var keysEx = Assert.Throws<ArgumentException>(() => Append.Run(cache.Flat, shortRows, good, 7), rng.Tag);
        var valuesEx = Assert.Throws<ArgumentException>(() => Append.Run(cache.Flat, good, shortRows, 7), rng.Tag);

        Assert.That(keysEx!.ParamName, Is.EqualTo("newKeys"), rng.Tag);
        Assert.That(valuesEx!.ParamName, Is.EqualTo("newValues"), rng.Tag);
        Sentinel.AssertSameBytes(keysBefore, cache.Keys.Backing, rng.Say("keys after refused appends"));
    }

    [Test]
    public void FlatCache_BufferShorterThanCapacity_IsRefused()
    {
        var rng = TestRandom.ForCurrentTest();
        int dim = rng.Int(1, 16), capacity = rng.Int(2, 40);
        var keys = new byte[capacity * dim * 2 - 1];
        var values = new byte[capacity * dim * 2];
        rng.Fill(keys);
        rng.Fill(values);

        var ex = Assert.Throws<ArgumentException>(() => _ = new FlatCache(keys, values, DType.F16, dim, capacity, [1, 1], new int[capacity]), rng.Tag);
        Assert.That(ex!.ParamName, Is.EqualTo("keys"), rng.Tag);

        var lensEx = Assert.Throws<ArgumentException>(() => _ = new FlatCache(values.ToArray(), values, DType.F16, dim, capacity, [capacity, 1], new int[capacity]), rng.Tag);
        Assert.That(lensEx!.ParamName, Is.EqualTo("headLens"), rng.Tag);
    }
}
