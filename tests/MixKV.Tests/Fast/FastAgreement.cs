using MixKV.Fast;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Fast;

/// <summary>
/// The agreement contract of the fast path with the double-precision reference (the same one the
/// kernels are held to): every intermediate score within 1e-5 (fp32 inputs) or 1e-3 (fp16/bf16)
/// relative, S within that plus what its normalisations make of the errors in its inputs
/// (<see cref="ScoreTolerance"/>), the same caps and kept positions except at genuine near-ties of
/// the reference's scores, and kept rows byte-identical to the input rows.
/// </summary>
internal static class FastAgreement
{
    public const double F32Tolerance = 1e-5;

    public const double HalfTolerance = 1e-3;

    public static double Tolerance(DType dtype) => dtype == DType.F32 ? F32Tolerance : HalfTolerance;

    /// <summary>Runs <paramref name="compressor"/> and the reference on the same inputs and checks everything; returns the fast result.</summary>
    public static CompressedLayer AssertMatchesReference(FastCompressor compressor, StoredLayer stored, CompressionOptions options, LayerPosition layer, string say)
    {
        LayerInputs inputs = stored.Inputs;
        byte[][] before = stored.Snapshot();
        KeptTokens expected = new Ref.ReferenceCompressor().Plan(inputs, options, layer, withScores: true, out _);
        (CompressedLayer actual, FastIntermediates? details) = compressor.Run(inputs, options, layer, withScores: true, keepIntermediates: true);
        stored.AssertUnchanged(before, $"{say}: the fast path modified its inputs");

        int heads = inputs.KvHeads, tokens = inputs.Tokens, window = Math.Min(options.Window, tokens), prefix = tokens - window;
        Assert.That(actual.Kept.Compressed, Is.EqualTo(expected.Compressed), $"{say}: compressed flag");
        Assert.That(actual.Kept.Prefix, Is.EqualTo(expected.Prefix), $"{say}: prefix");
        Assert.That(actual.Kept.CuLens[0], Is.Zero, say);
        Assert.That(actual.Kept.Scores, Has.Length.EqualTo(heads * prefix), $"{say}: scores [Hkv, P]");

        double tolerance = Tolerance(inputs.Keys.DType);
        double[][]? referenceScores = null, referenceAttention = null;
        double[]? scoreAllowance = null;
        if (details is not null && prefix > 0)
        {
            (referenceAttention, referenceScores, scoreAllowance) = CompareStages(inputs, options, layer, details, tolerance, say);
            double[][] reported = Rows(actual.Kept.Scores!, heads, prefix);
            for (int h = 0; h < heads; h++)
            {
                for (int n = 0; n < prefix; n++)
                {
                    Assert.That(reported[h][n], Is.EqualTo((float)details.Scores[h][n]), $"{say}: returned S[{h},{n}] is the selection's S");
                }
            }
        }

        if (!expected.Compressed)
        {
            Assert.That(actual.Kept.HeadLens, Is.EqualTo(expected.HeadLens), $"{say}: uncompressed head_lens");
            Assert.That(actual.Kept.Positions, Is.EqualTo(expected.Positions), $"{say}: uncompressed positions");
            AssertRowsAreInputRows(stored, actual, say);
            return actual;
        }

        int[] referenceCaps = expected.HeadLens.Select(len => len - window).ToArray();
        int[] fastCaps = actual.Kept.HeadLens.Select(len => len - window).ToArray();
        if (!fastCaps.SequenceEqual(referenceCaps))
        {
            AssertAdaKVNearTie(options, layer, referenceAttention!, details!, fastCaps, referenceCaps, tolerance, say);
        }

        for (int h = 0; h < heads; h++)
        {
            int[] got = actual.Kept.PositionsOfHead(h).ToArray();
            int[] want = expected.PositionsOfHead(h).ToArray();
            if (!got.SequenceEqual(want))
            {
                AssertGenuineNearTie(h, got, want, fastCaps[h], referenceCaps[h], details!.Scores, referenceScores!, window, prefix, scoreAllowance?[h] ?? tolerance, say);
            }
        }

        AssertRowsAreInputRows(stored, actual, say);
        return actual;
    }

    private static (double[][] Attention, double[][] Scores, double[] ScoreAllowance) CompareStages(LayerInputs inputs, CompressionOptions options, LayerPosition layer, FastIntermediates details, double tolerance, string say)
    {
        int window = options.Window, prefix = inputs.Tokens - window;
        double[][] attention = Ref.WindowScores.Compute(inputs.Keys, inputs.WindowQueries(window), options.Gqa, options.Pooling, options.PoolingKernel);
        Ref.HeadStatistics stats = Ref.HeadStats.Compute(inputs.Keys, inputs.Values, prefix);
        double[] redundancy = options.Redundancy is { } table
            ? Enumerable.Range(0, inputs.KvHeads).Select(h => table[layer.Index, h]).ToArray()
            : stats.Redundancy;
        double[][] scores = Ref.Mix.Compute(options.Score, attention, stats, redundancy);

        double errorA = AssertClose(details.Attention, attention, tolerance, 1e-3, $"{say}: A");
        double errorK = AssertClose(details.KeyNorms, stats.KeyNorms, tolerance, 1e-3, $"{say}: key norms");
        double errorV = AssertClose(details.ValueNorms, stats.ValueNorms, tolerance, 1e-3, $"{say}: value norms");
        double errorS = AssertClose(details.Similarity, stats.MeanKeySimilarity, tolerance, 1, $"{say}: similarity k^.mu", KernelCheck.SimilarityFloor);
        for (int h = 0; h < inputs.KvHeads; h++)
        {
            Assert.That(details.OnlineRedundancy[h], Is.EqualTo(stats.Redundancy[h]).Within(tolerance), $"{say}: online r[{h}]");
        }

        // S: each head within the tolerance plus what its normalisations make of the errors above.
        double[] allowance = ScoreTolerance.PerHead(options.Score, tolerance, (details.Similarity, stats.MeanKeySimilarity), (details.ValueNorms, stats.ValueNorms), (details.KeyNorms, stats.KeyNorms));
        double errorScores = 0;
        for (int h = 0; h < inputs.KvHeads; h++)
        {
            errorScores = Math.Max(errorScores, AssertClose([details.Scores[h]], [scores[h]], allowance[h], 1, $"{say}: S ({options.Score.Name()}) of head {h}"));
        }

        TestContext.Progress.WriteLine($"max relative error: A {errorA:E2}, key norms {errorK:E2}, value norms {errorV:E2}, similarity {errorS:E2}, S {errorScores:E2} ({inputs.Keys.DType.Name()}) {say}");
        return (attention, scores, allowance);
    }

    /// <summary>|a - b| / max(|b|, floor · max over the head of |b|, absoluteFloor) &lt;= tolerance (the kernels' metric, KernelCheck.AssertClose).</summary>
    public static double AssertClose(double[][] actual, double[][] expected, double tolerance, double floorFraction, string what, double absoluteFloor = 0)
    {
        double worst = 0;
        Assert.That(actual, Has.Length.EqualTo(expected.Length), $"{what}: heads");
        for (int h = 0; h < expected.Length; h++)
        {
            Assert.That(actual[h], Has.Length.EqualTo(expected[h].Length), $"{what}: head {h} length");
            double headMax = expected[h].Length == 0 ? 0 : expected[h].Max(Math.Abs);
            for (int n = 0; n < expected[h].Length; n++)
            {
                double a = actual[h][n], b = expected[h][n];
                double scale = Math.Max(Math.Max(Math.Abs(b), floorFraction * headMax), absoluteFloor);
                double error = scale == 0 ? Math.Abs(a - b) : Math.Abs(a - b) / scale;
                if (!(error <= tolerance))
                {
                    Assert.Fail($"{what}: [{h}, {n}] = {a:R}, expected {b:R}: relative error {error:E3} > {tolerance:E1}");
                }

                worst = Math.Max(worst, error);
            }
        }

        return worst;
    }

    /// <summary>
    /// Positions of head h differ: legal only when the fast path kept exactly the top cap of its own S
    /// (lower position wins ties), the reference's S at its cut is a near-tie, and every swapped
    /// position sits at that cut.
    /// </summary>
    private static void AssertGenuineNearTie(int h, int[] got, int[] want, int fastCap, int referenceCap, double[][] fastScores, double[][] referenceScores, int window, int prefix, double tolerance, string say)
    {
        string head = $"{say}: head {h} positions differ from the reference (fast [{string.Join(",", got)}], reference [{string.Join(",", want)}])";
        int[] ownTop = Ref.Select.TopPrefix(fastScores[h], fastCap);
        Assert.That(got, Is.EqualTo(ownTop.Concat(Enumerable.Range(prefix, window))), $"{head}: not the top {fastCap} of the fast path's own S");
        if (fastCap != referenceCap)
        {
            return; // an AdaKV allocation near-tie, already checked
        }

        double[] s = referenceScores[h];
        Assert.That(referenceCap, Is.InRange(1, prefix - 1), $"{head}: with cap {referenceCap} of {prefix} there is no cut to tie at");
        double[] sorted = s.OrderByDescending(x => x).ToArray();
        double scale = s.Max(Math.Abs);
        double inside = sorted[referenceCap - 1], outside = sorted[referenceCap];
        Assert.That(inside - outside, Is.LessThanOrEqualTo(tolerance * scale), $"{head}: reference S at the cut {inside:R} vs {outside:R} is no near-tie");
        foreach (int swapped in got.Except(want).Concat(want.Except(got)))
        {
            Assert.That(Math.Abs(s[swapped] - inside), Is.LessThanOrEqualTo(2 * tolerance * scale), $"{head}: swapped position {swapped} (S {s[swapped]:R}) is not at the cut {inside:R}");
        }

        TestContext.Progress.WriteLine($"near-tie accepted: head {h}, cut {inside:R} vs {outside:R} {say}");
    }

    /// <summary>AdaKV caps differ: legal when they are the reference allocation on the fast path's own A, or the reference's allocation cut is a near-tie.</summary>
    private static void AssertAdaKVNearTie(CompressionOptions options, LayerPosition layer, double[][] referenceAttention, FastIntermediates details, int[] fastCaps, int[] referenceCaps, double tolerance, string say)
    {
        string what = $"{say}: caps [{string.Join(",", fastCaps)}] differ from the reference [{string.Join(",", referenceCaps)}]";
        Assert.That(options.Method == BudgetMethod.AdaKV && layer.Index >= options.Skip, $"{what} outside the AdaKV allocation");
        int baseCap = options.Budget - options.Window, prefix = referenceAttention[0].Length;
        int[] own = Ref.Budget.AdaKVCaps(details.Attention, baseCap, options.FloorAlpha, options.Normalize).Select(cap => Math.Clamp(cap, 0, prefix)).ToArray();
        if (own.SequenceEqual(fastCaps))
        {
            TestContext.Progress.WriteLine($"AdaKV caps follow the fast path's own A: {what}");
            return;
        }

        var pool = new List<double>();
        foreach (double[] row in referenceAttention)
        {
            double[] sorted = row.OrderByDescending(x => x).ToArray();
            double all = sorted.Sum();
            double factor = options.Normalize && all > 0 ? sorted.Take(baseCap).Sum() / all : 1.0;
            pool.AddRange(sorted.Select(x => x * factor));
        }

        double[] ordered = pool.OrderByDescending(x => x).ToArray();
        int take = referenceAttention.Length * baseCap;
        Assert.That(take, Is.InRange(1, ordered.Length - 1), $"{what}: no allocation cut to tie at");
        Assert.That(ordered[take - 1] - ordered[take], Is.LessThanOrEqualTo(tolerance * ordered[0]), $"{what}: nor from the fast path's own A ([{string.Join(",", own)}])");
    }

    /// <summary>Row j of head h of K' and V' is byte-identical to the input row at the kept position.</summary>
    public static void AssertRowsAreInputRows(StoredLayer stored, CompressedLayer actual, string say)
    {
        int rowBytes = stored.Keys.RowBytes;
        KeptTokens kept = actual.Kept;
        Assert.That(actual.Keys, Has.Length.EqualTo(kept.TotalTokens * rowBytes), $"{say}: K' length");
        Assert.That(actual.Values, Has.Length.EqualTo(kept.TotalTokens * rowBytes), $"{say}: V' length");
        Assert.That(actual.DType, Is.EqualTo(stored.Keys.DType), say);
        Assert.That(actual.HeadDim, Is.EqualTo(stored.Keys.Dim), say);
        for (int h = 0; h < kept.KvHeads; h++)
        {
            Assert.That(kept.CuLens[h + 1], Is.EqualTo(kept.CuLens[h] + kept.HeadLens[h]), $"{say}: cu_lens[{h + 1}]");
            ReadOnlySpan<int> positions = kept.PositionsOfHead(h);
            Assert.That(positions.ToArray(), Is.Ordered.Ascending.And.Unique, $"{say}: head {h} positions ascending");
            for (int j = 0; j < positions.Length; j++)
            {
                int row = kept.CuLens[h] + j;
                if (!stored.Keys.Row(h, positions[j]).SequenceEqual(actual.Keys.AsSpan(row * rowBytes, rowBytes))
                    || !stored.Values.Row(h, positions[j]).SequenceEqual(actual.Values.AsSpan(row * rowBytes, rowBytes)))
                {
                    Assert.Fail($"{say}: row {row} (head {h}, position {positions[j]}) is not the input row");
                }
            }
        }
    }

    public static double[][] Rows(float[] flat, int heads, int width)
    {
        var rows = new double[heads][];
        for (int h = 0; h < heads; h++)
        {
            rows[h] = new double[width];
            for (int n = 0; n < width; n++)
            {
                rows[h][n] = flat[(h * width) + n];
            }
        }

        return rows;
    }
}
