using MixKV.Device;
using MixKV.Interop;
using MixKV.Tensors;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;
using K = MixKV.Kernels;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Kernels;

/// <summary>
/// kernels/gather.cu (spec section 7): kept rows byte for byte into flattened and dense layouts, and
/// the copy-back half of an in-place compression, with 16-, 4- and 2-byte copy words.
/// </summary>
[TestFixture]
[Category("TsanSmall")] // small shapes: also run once under ThreadSanitizer (build.cake TsanCheck)
[NonParallelizable]
public sealed class GatherKernelTests : EmulatedKernelFixture
{
    /// <summary>dtype, head dim, layout, row padding (elements), destination misalignment (bytes), the copy word the launcher must pick.</summary>
    private static IEnumerable<TestCaseData> Widths()
    {
        yield return new TestCaseData(DType.F32, 8, TensorLayout.Hnd, 0, 0, 16).SetArgDisplayNames("f32 D8 32-byte rows: 16-byte words");
        yield return new TestCaseData(DType.BF16, 64, TensorLayout.Nhd, 8, 0, 16).SetArgDisplayNames("bf16 D64 nhd padded by 16 bytes: 16-byte words");
        yield return new TestCaseData(DType.F16, 4, TensorLayout.Hnd, 0, 0, 4).SetArgDisplayNames("f16 D4 8-byte rows: 4-byte words");
        yield return new TestCaseData(DType.F16, 16, TensorLayout.Nhd, 2, 0, 4).SetArgDisplayNames("f16 D16 nhd padded by 4 bytes: 4-byte words");
        yield return new TestCaseData(DType.F32, 8, TensorLayout.Hnd, 0, 4, 4).SetArgDisplayNames("f32 D8 destination off by 4 bytes: 4-byte words");
        yield return new TestCaseData(DType.BF16, 7, TensorLayout.Hnd, 0, 0, 2).SetArgDisplayNames("bf16 D7 14-byte rows: 2-byte words");
        yield return new TestCaseData(DType.F16, 5, TensorLayout.Nhd, 1, 2, 2).SetArgDisplayNames("f16 D5 nhd odd padding: 2-byte words");
    }

    [TestCaseSource(nameof(Widths))]
    public void FromCacheFlattened(DType dtype, int dim, TensorLayout layout, int rowPad, int misalign, int word)
    {
        TestRandom rng = KernelCheck.Seeded();
        Cache cache = Cache.Random(rng, dtype, dim, layout, rowPad, uniform: false);
        string say = rng.Say($"lens [{string.Join(",", cache.Lens)}]");
        var runtime = backend.Runtime;
        using var buffers = new Buffers(runtime, cache);
        int rowBytes = cache.Stored.RowBytes;
        using var destination = new DeviceRegion(runtime, (cache.Total + 3) * rowBytes, misalign);
        DeviceTensor source = buffers.Source;
        Assert.That(K.RowCopyWord.Pick(rowBytes, source.Pointer.Address, source.HeadStride * dtype.Size(), source.TokenStride * dtype.Size(), destination.Pointer.Address, rowBytes, rowBytes), Is.EqualTo(word), "the case exercises its copy word");

        K.Gather.EnqueueFromCache(runtime, source, buffers.Positions.Pointer, buffers.HeadLens.Pointer, buffers.CuLens.Pointer, cache.Lens.Max(), destination.Pointer);

        for (int h = 0; h < cache.Heads; h++)
        {
            for (int j = 0; j < cache.Lens[h]; j++)
            {
                int row = cache.Cu[h] + j;
                Sentinel.AssertSameBytes(cache.Stored.Row(h, cache.Positions[row]), destination.Span.Slice(row * rowBytes, rowBytes), $"{say}: row {row} (head {h}, position {cache.Positions[row]})");
            }
        }

        destination.AssertPoisoned(cache.Total * rowBytes, destination.Bytes, $"{say}: past T");
        destination.AssertGuardsIntact(say);
        buffers.AssertUnchanged(say);
    }

    [TestCaseSource(nameof(Widths))]
    public void FromCacheDense(DType dtype, int dim, TensorLayout layout, int rowPad, int misalign, int word)
    {
        TestRandom rng = KernelCheck.Seeded();
        Cache cache = Cache.Random(rng, dtype, dim, layout, rowPad, uniform: true);
        int length = cache.Lens[0], rowBytes = cache.Stored.RowBytes, size = dtype.Size();
        string say = rng.Say($"length {length}");
        var runtime = backend.Runtime;
        using var buffers = new Buffers(runtime, cache);

        // Dense destination [Hkv, length + 2, D] in the same layout, rows padded like the source.
        int tokens = length + 2;
        long rowStride = dim + rowPad;
        (long headStride, long tokenStride) = layout == TensorLayout.Hnd ? (tokens * rowStride, rowStride) : (rowStride, cache.Heads * rowStride);
        long extent = layout == TensorLayout.Hnd ? cache.Heads * headStride : tokens * tokenStride;
        using var destination = new DeviceRegion(runtime, extent * size, misalign);
        var dense = new DeviceTensor(destination.Pointer, dtype, cache.Heads, tokens, dim, headStride, tokenStride);
        DeviceTensor source = buffers.Source;
        Assert.That(K.RowCopyWord.Pick(rowBytes, source.Pointer.Address, source.HeadStride * size, source.TokenStride * size, destination.Pointer.Address, headStride * size, tokenStride * size), Is.EqualTo(word), "the case exercises its copy word");

        K.Gather.EnqueueFromCache(runtime, source, buffers.Positions.Pointer, buffers.HeadLens.Pointer, buffers.CuLens.Pointer, length, destination.Pointer, dense);

        var written = new bool[destination.Bytes];
        for (int h = 0; h < cache.Heads; h++)
        {
            for (int j = 0; j < length; j++)
            {
                int at = checked((int)dense.RowByteOffset(h, j));
                written.AsSpan(at, rowBytes).Fill(true);
                Sentinel.AssertSameBytes(cache.Stored.Row(h, cache.Positions[cache.Cu[h] + j]), destination.Span.Slice(at, rowBytes), $"{say}: dense row [{h}, {j}]");
            }
        }

        for (int i = 0; i < written.Length; i++)
        {
            Assert.That(written[i] || destination.Span[i] == DeviceRegion.Poison, $"{say}: dense byte {i} outside the kept rows was written");
        }

        destination.AssertGuardsIntact(say);
        buffers.AssertUnchanged(say);
    }

    /// <summary>
    /// K and V at the same positions: one gather_rows_pair launch when both copy with the same word,
    /// two gather_rows launches when V's rows (padded by 4 bytes) take another: either way every kept
    /// row of both, byte for byte, and nothing past T.
    /// </summary>
    [Test]
    public void PairFromCacheCopiesKeysAndValues([Values] bool sameWord)
    {
        TestRandom rng = KernelCheck.Seeded();
        const DType dtype = DType.BF16;
        const int dim = 64;
        Cache keys = Cache.Random(rng, dtype, dim, TensorLayout.Hnd, rowPad: 0, uniform: false);
        LayerData other = LayerData.Random(rng, keys.Heads, 1, keys.Stored.Tokens, dim, 1, dtype);
        Cache values = keys with { Stored = StoredTensor.Pack(other.Keys, dtype, TensorLayout.Hnd, new Padding(8 * rng.Int(0, 2), sameWord ? 0 : 2, 0, 3)) };
        string say = rng.Say($"same word {sameWord}, lens [{string.Join(",", keys.Lens)}]");
        var runtime = backend.Runtime;
        using var keyBuffers = new Buffers(runtime, keys);
        using var valueBuffers = new Buffers(runtime, values);
        int rowBytes = dim * dtype.Size();
        using var keysOut = new DeviceRegion(runtime, (keys.Total + 3) * rowBytes);
        using var valuesOut = new DeviceRegion(runtime, (keys.Total + 3) * rowBytes);
        DeviceTensor k = keyBuffers.Source, v = valueBuffers.Source;
        int WordOf(DeviceTensor t, DeviceRegion to) => K.RowCopyWord.Pick(rowBytes, t.Pointer.Address, t.HeadStride * 2, t.TokenStride * 2, to.Pointer.Address, rowBytes, rowBytes);
        Assert.That(WordOf(k, keysOut) == WordOf(v, valuesOut), Is.EqualTo(sameWord), $"{say}: the case exercises its launch count");

        K.Gather.EnqueuePairFromCache(runtime, k, v, keyBuffers.Positions.Pointer, keyBuffers.HeadLens.Pointer, keyBuffers.CuLens.Pointer, keys.Lens.Max(), keysOut.Pointer, valuesOut.Pointer);

        foreach ((Cache cache, DeviceRegion destination, string name) in new[] { (keys, keysOut, "K"), (values, valuesOut, "V") })
        {
            for (int row = 0; row < keys.Total; row++)
            {
                Sentinel.AssertSameBytes(cache.Stored.Row(HeadOf(keys, row), keys.Positions[row]), destination.Span.Slice(row * rowBytes, rowBytes), $"{say}: {name} row {row}");
            }

            destination.AssertPoisoned(keys.Total * rowBytes, destination.Bytes, $"{say}: {name} past T");
            destination.AssertGuardsIntact(say);
        }

        keyBuffers.AssertUnchanged(say);
        valueBuffers.AssertUnchanged(say);
    }

    private static int HeadOf(Cache cache, int row)
    {
        int h = 0;
        while (cache.Cu[h + 1] <= row)
        {
            h++;
        }

        return h;
    }

    /// <summary>
    /// In-place compression on the device: gather into a packed workspace, then EnqueueFromPacked back over
    /// the cache itself (flattened from its start, or dense into each head's own region). The whole cache
    /// buffer must equal the reference's Gather.FlattenedInPlace / DenseInPlace byte for byte.
    /// </summary>
    [Test]
    public void InPlaceCopyBackMatchesTheReference([Values] bool dense, [Values(0, 2, 5)] int widthCase)
    {
        TestRandom rng = KernelCheck.Seeded();
        (DType dtype, int dim, TensorLayout layout, int rowPad) = widthCase switch
        {
            0 => (DType.F32, 16, TensorLayout.Hnd, 0),
            2 => (DType.F16, 4, TensorLayout.Nhd, 2),
            _ => (DType.BF16, 7, TensorLayout.Hnd, 1),
        };
        Cache cache = Cache.Random(rng, dtype, dim, layout, rowPad, uniform: dense);
        string say = rng.Say($"{dtype.Name()} D {dim} {layout}, lens [{string.Join(",", cache.Lens)}]");
        var runtime = backend.Runtime;
        using var buffers = new Buffers(runtime, cache);
        int rowBytes = cache.Stored.RowBytes;
        using var packed = new DeviceRegion(runtime, cache.Total * rowBytes);

        // The reference on a host copy of the same bytes.
        byte[] host = cache.Stored.Storage.Span.ToArray();
        StoredTensor t = cache.Stored;
        var view = new HeadTensor(host, dtype, t.Heads, t.Tokens, t.Dim, t.HeadStride, t.TokenStride, t.Offset);
        var kept = new KeptTokens(true, cache.Lens, cache.Positions, t.Tokens, null);
        if (dense)
        {
            Ref.Gather.DenseInPlace(view, kept);
        }
        else
        {
            Ref.Gather.FlattenedInPlace(view, kept);
        }

        DeviceTensor source = buffers.Source;
        K.Gather.EnqueueFromCache(runtime, source, buffers.Positions.Pointer, buffers.HeadLens.Pointer, buffers.CuLens.Pointer, cache.Lens.Max(), packed.Pointer);
        K.Gather.EnqueueFromPacked(runtime, cache.Heads, rowBytes, packed.Pointer, buffers.HeadLens.Pointer, buffers.CuLens.Pointer, cache.Lens.Max(), source.Pointer, dense ? source : null);

        Sentinel.AssertSameBytes(host, buffers.Storage.Span, $"{say}: cache after the in-place copy-back");
        packed.AssertGuardsIntact(say);
        buffers.Storage.AssertGuardsIntact(say);
    }

    /// <summary>A launch grid smaller than the rows (one block per head) must stride over all of them.</summary>
    [Test]
    public void OneBlockPerHeadStridesOverEveryRow()
    {
        TestRandom rng = KernelCheck.Seeded();
        Cache cache = Cache.Random(rng, DType.F32, 4, TensorLayout.Hnd, 0, uniform: false, minLength: 20);
        var runtime = backend.Runtime;
        using var buffers = new Buffers(runtime, cache);
        int rowBytes = cache.Stored.RowBytes;
        using var destination = new DeviceRegion(runtime, cache.Total * rowBytes);
        DeviceTensor source = buffers.Source;

        runtime.Launch("gather_rows<unsigned int>", K.Launch.Config(1, (uint)cache.Heads, 256), new K.GatherParams
        {
            Source = source.Pointer.Address,
            Destination = destination.Pointer.Address,
            Positions = buffers.Positions.Pointer.Address,
            HeadLens = buffers.HeadLens.Pointer.Address,
            CuLens = buffers.CuLens.Pointer.Address,
            SourceHeadStride = source.HeadStride,
            SourceTokenStride = source.TokenStride,
            SourceTokens = source.Tokens,
            MaxHeadRows = cache.Lens.Max(),
            RowWords = rowBytes / 4,
            DestFlattened = 1,
        });

        for (int h = 0; h < cache.Heads; h++)
        {
            for (int j = 0; j < cache.Lens[h]; j++)
            {
                int row = cache.Cu[h] + j;
                Sentinel.AssertSameBytes(cache.Stored.Row(h, cache.Positions[row]), destination.Span.Slice(row * rowBytes, rowBytes), rng.Say($"row {row}"));
            }
        }

        destination.AssertGuardsIntact(rng.Tag);
    }

    /// <summary>What <see cref="AnIndexOutOfRangeTraps"/> breaks in the index arrays the selection would have written.</summary>
    public enum BrokenIndex
    {
        PositionPoisoned,       // -1: a position the selection never wrote (the tests' poison bytes)
        PositionPastTheHead,
        OffsetPoisoned,         // cu_lens[h] = -1
        RowsPastTheBound,       // cu_lens[h] + head_lens[h] past Hkv times the rows a head keeps on average
        DenseHeadAboveItsRows,  // more rows than a head's region of a dense destination holds
    }

    /// <summary>
    /// Lengths, offsets and positions come from the selection kernels; one out of range must stop the
    /// launch with the trap (an error naming it), not copy rows from or to memory outside the buffers.
    /// </summary>
    [Test]
    public void AnIndexOutOfRangeTraps([Values] BrokenIndex broken)
    {
        TestRandom rng = KernelCheck.Seeded();
        // Two heads at least: head 0 one row over its dense region then stays inside the total bound.
        Cache cache = Cache.Random(rng, DType.BF16, 16, TensorLayout.Hnd, 0, uniform: false, minLength: 2, minHeads: 2);
        int head = rng.Int(0, cache.Heads - 1), maxRows = cache.Lens.Max();
        int[] positions = (int[])cache.Positions.Clone(), lens = (int[])cache.Lens.Clone(), cu = (int[])cache.Cu.Clone();
        int row = cu[head] + rng.Int(0, lens[head] - 1);
        switch (broken)
        {
            case BrokenIndex.PositionPoisoned: positions[row] = -1; break;
            case BrokenIndex.PositionPastTheHead: positions[row] = cache.Stored.Tokens + rng.Int(0, 5); break;
            case BrokenIndex.OffsetPoisoned: cu[head] = -1; break;
            case BrokenIndex.RowsPastTheBound: lens[head] = cache.Heads * maxRows - cu[head] + 1; break;
            case BrokenIndex.DenseHeadAboveItsRows: head = 0; lens[0] = maxRows + 1; break;
        }

        string say = rng.Say($"{broken} at head {head} (row {row}), lens [{string.Join(",", lens)}], cu_lens [{string.Join(",", cu)}]");
        var runtime = backend.Runtime;
        using var buffers = new Buffers(runtime, cache with { Lens = lens, Cu = cu, Positions = positions });
        int rowBytes = cache.Stored.RowBytes, dim = cache.Stored.Dim;
        using var destination = new DeviceRegion(runtime, cache.Heads * maxRows * rowBytes);
        var packedRows = new byte[cache.Heads * maxRows * rowBytes];
        rng.Fill(packedRows);
        using var packed = DeviceRegion.Of<byte>(runtime, packedRows);
        var dense = new DeviceTensor(destination.Pointer, cache.Stored.DType, cache.Heads, maxRows, dim, (long)maxRows * dim, dim);

        // Positions are read by the gather from the cache; offsets and lengths are checked alone by the
        // copy-back from a packed buffer, which reads no positions that could trap first.
        TestDelegate launch = broken switch
        {
            BrokenIndex.PositionPoisoned or BrokenIndex.PositionPastTheHead =>
                () => K.Gather.EnqueueFromCache(runtime, buffers.Source, buffers.Positions.Pointer, buffers.HeadLens.Pointer, buffers.CuLens.Pointer, maxRows, destination.Pointer),
            _ => () => K.Gather.EnqueueFromPacked(runtime, cache.Heads, rowBytes, packed.Pointer, buffers.HeadLens.Pointer, buffers.CuLens.Pointer, maxRows, destination.Pointer,
                broken == BrokenIndex.DenseHeadAboveItsRows ? dense : null),
        };
        var failure = Assert.Throws<InvalidOperationException>(launch, say);
        Assert.That(failure!.Message, Does.Contain("__trap"), say);
        destination.AssertGuardsIntact(say);
        packed.AssertGuardsIntact(say);
        buffers.AssertUnchanged(say);
    }

    /// <summary>A random cache [Hkv, N, D] in a padded layout and what each head keeps (ascending positions).</summary>
    internal sealed record Cache(StoredTensor Stored, int[] Lens, int[] Cu, int[] Positions)
    {
        public int Heads => Lens.Length;

        public int Total => Cu[^1];

        public static Cache Random(TestRandom rng, DType dtype, int dim, TensorLayout layout, int rowPad, bool uniform, int minLength = 0, int minHeads = 1)
        {
            int heads = rng.Int(minHeads, 4), tokens = rng.Int(Math.Max(minLength, 10), 120);
            LayerData data = LayerData.Random(rng, heads, 1, tokens, dim, 1, dtype);
            StoredTensor stored = StoredTensor.Pack(data.Keys, dtype, layout, new Padding(rng.Int(0, 2) * 8, rowPad, rng.Int(0, 2) * 8, 3));
            int common = rng.Int(Math.Max(minLength, 1), tokens);
            int[] lens = Enumerable.Range(0, heads).Select(h => uniform ? common : (h == 0 ? 0 : rng.Int(Math.Max(minLength, 1), tokens))).ToArray();
            if (!uniform && minLength > 0)
            {
                lens[0] = minLength;
            }

            var positions = new List<int>();
            foreach (int len in lens)
            {
                int[] all = Enumerable.Range(0, tokens).ToArray();
                rng.Shuffle(all);
                positions.AddRange(all.Take(len).Order());
            }

            return new Cache(stored, lens, PipelineKernelTests.Prefix(lens), positions.ToArray());
        }
    }

    /// <summary>The cache and its index arrays in device memory.</summary>
    internal sealed class Buffers : IDisposable
    {
        private readonly Cache cache;
        private readonly byte[] before;

        public Buffers(K.Runtime.IKernelRuntime runtime, Cache cache)
        {
            this.cache = cache;
            Storage = DeviceRegion.Of<byte>(runtime, cache.Stored.Storage.Span);
            before = Storage.Span.ToArray();
            Positions = DeviceRegion.Of<int>(runtime, cache.Positions.Length == 0 ? [0] : cache.Positions);
            HeadLens = DeviceRegion.Of<int>(runtime, cache.Lens);
            CuLens = DeviceRegion.Of<int>(runtime, cache.Cu);
        }

        public DeviceRegion Storage { get; }

        public DeviceRegion Positions { get; }

        public DeviceRegion HeadLens { get; }

        public DeviceRegion CuLens { get; }

        public DeviceTensor Source
        {
            get
            {
                StoredTensor t = cache.Stored;
                return new DeviceTensor(Storage.Pointer.AddBytes(t.Offset * Elements.Size(t.DType)), t.DType, t.Heads, t.Tokens, t.Dim, t.HeadStride, t.TokenStride);
            }
        }

        /// <summary>The cache and the index arrays are only read.</summary>
        public void AssertUnchanged(string say)
        {
            Sentinel.AssertSameBytes(before, Storage.Span, $"{say}: source cache");
            Assert.That(HeadLens.Read<int>(cache.Heads), Is.EqualTo(cache.Lens), $"{say}: head_lens");
            Assert.That(CuLens.Read<int>(cache.Heads + 1), Is.EqualTo(cache.Cu), $"{say}: cu_lens");
            foreach (DeviceRegion b in new[] { Storage, Positions, HeadLens, CuLens })
            {
                b.AssertGuardsIntact(say);
            }
        }

        public void Dispose()
        {
            Storage.Dispose();
            Positions.Dispose();
            HeadLens.Dispose();
            CuLens.Dispose();
        }
    }
}
