using MixKV.Options;
using MixKV.Reference;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Reference;

/// <summary>
/// Random end-to-end properties of <see cref="ReferenceCompressor"/> (spec sections 2–7) on every
/// method, mode, dtype and layout, against the independent <see cref="Oracle"/>.
/// </summary>
[TestFixture]
public sealed class ReferenceCompressorPropertyTests
{
    private static readonly ReferenceCompressor Compressor = new();

    private static IEnumerable<TestCaseData> Cases() => PropertyCase.All();

    [TestCaseSource(nameof(Cases))]
    public void Compress_KeepsTheOracleTopKAndCopiesRowsExactly(PropertyCase c)
    {
        var rng = TestRandom.ForCurrentTest();
        LayerData data = c.Data(rng);
        (CompressionOptions options, LayerPosition layer) = c.DrawOptions(rng);
        string say = rng.Say($"budget {options.Budget}, layer {layer}, alpha {options.FloorAlpha}, normalize {options.Normalize}, skip {options.Skip}, beta {options.Beta}, offline r {options.Redundancy is not null}");
        StoredLayer stored = data.Store(c.Layout);
        byte[][] before = stored.Snapshot();

        CompressedLayer result = Compressor.Compress(stored.Inputs, options, layer, withScores: true);

        stored.AssertUnchanged(before, $"{say}: out-of-place compression modified its inputs");
        KeptTokens kept = result.Kept;
        int n = c.Tokens, w = c.Window, p = n - w, heads = c.KvHeads;
        int[]? caps = Oracle.Caps(data, options, layer);
        double[][] expectedScores = Oracle.Scores(data, options, layer);

        Assert.That(kept.Compressed, Is.EqualTo(caps is not null), $"{say}: compressed flag");
        Assert.That(kept.Prefix, Is.EqualTo(p), say);
        Assert.That(kept.HeadLens, Is.EqualTo(caps is null ? Enumerable.Repeat(n, heads) : caps.Select(cap => cap + w)), $"{say}: head_lens = cap + W");
        Assert.That(kept.CuLens[0], Is.Zero, say);
        for (int h = 0; h < heads; h++)
        {
            Assert.That(kept.CuLens[h + 1], Is.EqualTo(kept.CuLens[h] + kept.HeadLens[h]), $"{say}: cu_lens[{h + 1}]");
        }

        Assert.That(kept.Positions, Has.Length.EqualTo(kept.CuLens[heads]), say);
        AssertScores(kept.Scores, expectedScores, heads, p, say);

        for (int h = 0; h < heads; h++)
        {
            int[] positions = kept.PositionsOfHead(h).ToArray();
            string head = $"{say}: head {h}";
            Assert.That(positions, Is.Ordered.Ascending.And.Unique, head);
            if (caps is null)
            {
                Assert.That(positions, Is.EqualTo(Enumerable.Range(0, n)), $"{head}: an uncompressed layer keeps every token");
                continue;
            }

            Assert.That(positions[^w..], Is.EqualTo(Enumerable.Range(p, w)), $"{head}: the window P..N-1 comes last");
            int[] prefix = positions[..^w];
            Assert.That(prefix, Is.EqualTo(Oracle.TopK(expectedScores[h], caps[h])), $"{head}: kept prefix vs the oracle's top-{caps[h]}");
            AssertTopKOfReportedScores(kept.Scores!.AsSpan(h * p, p).ToArray(), prefix, caps[h], head);
        }

        AssertRowsCopied(stored.Keys, kept, result.Keys, $"{say}: keys");
        AssertRowsCopied(stored.Values, kept, result.Values, $"{say}: values");
        Assert.That(result.DType, Is.EqualTo(c.DType), say);
        Assert.That(result.HeadDim, Is.EqualTo(c.Dim), say);
    }

    [TestCaseSource(nameof(Cases))]
    public void HndNhdAndPaddedViews_GiveIdenticalResults(PropertyCase c)
    {
        var rng = TestRandom.ForCurrentTest();
        LayerData data = c.Data(rng);
        (CompressionOptions options, LayerPosition layer) = c.DrawOptions(rng);
        Padding padding = c.DrawPadding(rng);
        string say = rng.Say($"budget {options.Budget}, layer {layer}, padding {padding}");

        CompressedLayer reference = Compressor.Compress(data.Store(TensorLayout.Hnd).Inputs, options, layer, withScores: true);
        foreach ((TensorLayout layout, Padding pad) in new[] { (TensorLayout.Nhd, Padding.None), (TensorLayout.Hnd, padding), (TensorLayout.Nhd, padding) })
        {
            StoredLayer stored = data.Store(layout, pad);
            byte[][] before = stored.Snapshot();
            CompressedLayer other = Compressor.Compress(stored.Inputs, options, layer, withScores: true);
            string what = $"{say}: {layout} with padding {pad} vs packed HND";

            stored.AssertUnchanged(before, what);
            Assert.That(other.Kept.HeadLens, Is.EqualTo(reference.Kept.HeadLens), what);
            Assert.That(other.Kept.Positions, Is.EqualTo(reference.Kept.Positions), what);
            Assert.That(other.Kept.Scores, Is.EqualTo(reference.Kept.Scores), $"{what}: scores must be bitwise equal");
            Sentinel.AssertSameBytes(reference.Keys, other.Keys, $"{what}: keys");
            Sentinel.AssertSameBytes(reference.Values, other.Values, $"{what}: values");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void InPlace_EqualsOutOfPlace(PropertyCase c)
    {
        var rng = TestRandom.ForCurrentTest();
        LayerData data = c.Data(rng);
        (CompressionOptions options, LayerPosition layer) = c.DrawOptions(rng);
        Padding padding = rng.Coin() ? c.DrawPadding(rng) : Padding.None;
        string say = rng.Say($"budget {options.Budget}, layer {layer}, padding {padding}");
        CompressedLayer expected = Compressor.Compress(data.Store(c.Layout).Inputs, options, layer);

        // Flattened: packed [T, D] from the view's offset, whatever the caps.
        StoredLayer flat = data.Store(c.Layout, padding);
        KeptTokens flatKept = Compressor.CompressInPlace(flat.Inputs, options, layer, OutputLayout.Flattened);
        Assert.That(flatKept.Positions, Is.EqualTo(expected.Kept.Positions), $"{say}: flattened in place");
        foreach ((StoredTensor tensor, byte[] rows, string name) in new[] { (flat.Keys, expected.Keys, "keys"), (flat.Values, expected.Values, "values") })
        {
            int start = checked((int)tensor.RowByteOffset(0, 0));
            Sentinel.AssertSameBytes(rows, tensor.Storage.Span.Slice(start, rows.Length), $"{say}: flattened in-place {name}");
            Assert.That(tensor.Storage.Span[..start].IndexOfAnyExcept(Sentinel.Byte), Is.EqualTo(-1), $"{say}: {name} written before the view's offset");
            tensor.Storage.AssertGuardsIntact($"{say}: flattened in-place {name}");
        }

        // Dense: each head's kept rows at the front of its own region, padding untouched.
        StoredLayer dense = data.Store(c.Layout, padding);
        byte[][] before = dense.Snapshot();
        if (!expected.Kept.IsUniform)
        {
            var ex = Assert.Throws<ArgumentException>(() => Compressor.CompressInPlace(dense.Inputs, options, layer, OutputLayout.Dense), say);
            Assert.That(ex!.ParamName, Is.EqualTo("layout"), say);
            dense.AssertUnchanged(before, $"{say}: refused dense in-place call");
            return;
        }

        KeptTokens denseKept = Compressor.CompressInPlace(dense.Inputs, options, layer, OutputLayout.Dense);
        Assert.That(denseKept.Positions, Is.EqualTo(expected.Kept.Positions), $"{say}: dense in place");
        int length = expected.Kept.HeadLens[0];
        foreach ((StoredTensor tensor, byte[] rows, byte[] old, string name) in new[] { (dense.Keys, expected.Keys, before[0], "keys"), (dense.Values, expected.Values, before[1], "values") })
        {
            int rowBytes = tensor.RowBytes;
            for (int h = 0; h < c.KvHeads; h++)
            {
                for (int j = 0; j < length; j++)
                {
                    Sentinel.AssertSameBytes(rows.AsSpan((h * length + j) * rowBytes, rowBytes), tensor.Row(h, j), $"{say}: dense in-place {name}, head {h}, row {j}");
                }
            }

            bool[] rowMask = tensor.RowMask();
            ReadOnlySpan<byte> now = tensor.Storage.Span, then = old.AsSpan(Sentinel.GuardBytes, tensor.Storage.Length);
            for (int i = 0; i < rowMask.Length; i++)
            {
                if (!rowMask[i] && now[i] != then[i])
                {
                    Assert.Fail($"{say}: dense in-place {name} overwrote padding byte {i}");
                }
            }

            tensor.Storage.AssertGuardsIntact($"{say}: dense in-place {name}");
        }
    }

    [Test]
    public void DuplicateTokens_TieToTheLowerPosition([Values] ScoreMode score, [Values] BudgetMethod method)
    {
        // With pooling off, two tokens with identical K and V rows get bit-identical scores in every mode,
        // so the cap cuts through groups of exact ties: the lower positions must win.
        var rng = TestRandom.ForCurrentTest();
        int heads = rng.Int(1, 3), tokens = rng.Int(40, 90), window = rng.Int(2, 8), p = tokens - window;
        LayerData data = LayerData.Random(rng, heads, rng.Int(1, 2), tokens, 16, window, DType.F32);
        for (int h = 0; h < heads; h++)
        {
            for (int n = 4; n < p; n++)
            {
                data.CopyToken(h, rng.Int(0, 3), n); // the prefix holds only 4 distinct tokens
            }
        }

        var options = new CompressionOptions { Method = method, Score = score, Window = window, Budget = window + rng.Int(1, p - 1), PoolingKernel = 1 };
        CompressedLayer result = Compressor.Compress(data.Store(TensorLayout.Hnd).Inputs, options, LayerPosition.Single, withScores: true);

        for (int h = 0; h < heads; h++)
        {
            int[] prefix = result.Kept.PositionsOfHead(h)[..^window].ToArray();
            float[] s = result.Kept.Scores!.AsSpan(h * p, p).ToArray();
            Assert.That(prefix, Is.EqualTo(Oracle.TopK(Array.ConvertAll(s, x => (double)x), prefix.Length)), rng.Say($"head {h}, budget {options.Budget}"));
        }
    }

    private static void AssertScores(float[]? actual, double[][] expected, int heads, int prefix, string say)
    {
        Assert.That(actual, Is.Not.Null.And.Length.EqualTo(heads * prefix), $"{say}: scores [Hkv, P]");
        for (int h = 0; h < heads; h++)
        {
            double scale = expected[h].Max(Math.Abs);
            for (int n = 0; n < prefix; n++)
            {
                double want = expected[h][n];
                Assert.That(actual![h * prefix + n], Is.EqualTo(want).Within(1e-5 * scale + 1e-6 * Math.Abs(want)), $"{say}: S[{h}, {n}]");
            }
        }
    }

    /// <summary>
    /// Brute force on the reported (f32) scores with the tie rule. Two distinct doubles may round to one
    /// float, so the kept set may differ from the float top-k only among positions whose float score
    /// equals the boundary value; everything kept must score at least everything dropped.
    /// </summary>
    private static void AssertTopKOfReportedScores(float[] s, int[] kept, int cap, string say)
    {
        var keptSet = new HashSet<int>(kept);
        float minKept = kept.Length == 0 ? float.PositiveInfinity : kept.Min(n => s[n]);
        float maxDropped = Enumerable.Range(0, s.Length).Where(n => !keptSet.Contains(n)).Select(n => s[n]).DefaultIfEmpty(float.NegativeInfinity).Max();
        Assert.That(minKept, Is.GreaterThanOrEqualTo(maxDropped), $"{say}: a dropped token outscores a kept one");

        int[] brute = Oracle.TopK(Array.ConvertAll(s, x => (double)x), cap);
        if (!brute.SequenceEqual(kept))
        {
            float boundary = s.OrderByDescending(x => x).ElementAt(cap - 1);
            foreach (int n in brute.Except(kept).Concat(kept.Except(brute)))
            {
                Assert.That(s[n], Is.EqualTo(boundary), $"{say}: position {n} differs from the brute-force top-{cap} of the reported scores");
            }
        }
    }

    private static void AssertRowsCopied(StoredTensor source, KeptTokens kept, byte[] output, string say)
    {
        int rowBytes = source.RowBytes;
        Assert.That(output, Has.Length.EqualTo(kept.TotalTokens * rowBytes), $"{say}: output size");
        for (int h = 0, t = 0; h < kept.KvHeads; h++)
        {
            foreach (int position in kept.PositionsOfHead(h))
            {
                Sentinel.AssertSameBytes(source.Row(h, position), output.AsSpan(t * rowBytes, rowBytes), $"{say}: row {t} (head {h}, position {position})");
                t++;
            }
        }
    }
}
