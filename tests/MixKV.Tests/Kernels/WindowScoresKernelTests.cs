using MixKV.Device;
using MixKV.Interop;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;
using K = MixKV.Kernels;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Kernels;

/// <summary>
/// kernels/window_scores.cu and kernels/window_mma.cu (spec section 2): softmax row statistics, window
/// mass, pooling, on CUDA cores or (fp16/bf16 with D a multiple of 16) on tensor cores.
/// </summary>
[TestFixture]
[Category("TsanSmall")] // small shapes: also run once under ThreadSanitizer (build.cake TsanCheck)
[NonParallelizable]
public sealed class WindowScoresKernelTests : EmulatedKernelFixture
{
    [Test]
    public void RandomInputsMatchTheReferenceStageByStage([Values] DType dtype, [Values] GqaReduction gqa, [Values] TensorLayout layout)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = rng.Int(1, 3), groups = rng.Int(1, 3), tokens = rng.Int(40, 300), dim = rng.Pick([8, 16, 40, 64]), window = rng.Int(1, 24);
        var pooling = rng.Coin() ? PoolingKind.Avg : PoolingKind.Max;
        int kernel = rng.Pick([1, 3, 5, 7]);
        string say = rng.Say($"Hkv {heads} G {groups} N {tokens} D {dim} W {window} pool {pooling} {kernel}");
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window + rng.Int(0, 3), dtype);
        StoredLayer stored = data.Store(layout, new Padding(rng.Int(0, 3), rng.Int(0, 3), rng.Int(0, 5), 1));
        int prefix = tokens - window, queryHeads = heads * groups;
        using var stage = new StageHarness(backend, queryHeads, heads, tokens, dim, window);
        DeviceTensor keys = stage.Upload(stored.Keys);
        DeviceTensor queries = stage.Upload(stored.Queries);
        DeviceTensor windowQueries = queries.SliceTokens(queries.Tokens - window, window);
        var options = new CompressionOptions { Window = window, Budget = window + 1, Gqa = gqa, Pooling = pooling, PoolingKernel = kernel };

        K.WindowScores.Enqueue(stage.Runtime, keys, windowQueries, options, stage.Workspace);

        AssertRowStatisticsAndMass(stage, data, stored, dtype, gqa, window, say);
        K.KernelWorkspace ws = stage.Workspace;
        double tolerance = KernelCheck.Tolerance(dtype);
        double[][] pooled = Ref.WindowScores.Compute(stored.Inputs.Keys, stored.Inputs.WindowQueries(window), gqa, pooling, kernel);
        KernelCheck.AssertClose(stage.Floats(ws.Attention, heads * prefix), pooled, tolerance, $"{say}: A");
        KernelCheck.AssertClose(stage.Floats(ws.Attention, heads * prefix), Oracle.Attention(data, options), tolerance, $"{say}: A vs the oracle");
    }

    /// <summary>
    /// The one-tile-per-block kernels (window_mma.cu: tensor cores for fp16/bf16 past the run kernels'
    /// 128 rows, FMAs for fp32) with many row tiles (G·W up to 240: several passes of the four warps,
    /// two probability passes for fp32, query heads straddling 16-row tiles) and keys over several
    /// 64-key tiles, masked tail included; the key partials they write on the side are exactly
    /// head_key_partials' (bf16: within 2^-12, summed on the tensor cores).
    /// </summary>
    [Test]
    public void TilePathMatchesTheReferenceOverManyTiles([Values] DType dtype, [Values] GqaReduction gqa)
    {
        TestRandom rng = KernelCheck.Seeded();
        bool fp32 = dtype == DType.F32;
        int heads = rng.Int(1, 2), groups = fp32 ? rng.Int(3, 6) : rng.Int(4, 6), tokens = rng.Int(200, 420), window = fp32 ? rng.Int(17, 40) : rng.Int(33, 40);
        int dim = fp32 ? rng.Pick([5, 16, 36, 128]) : rng.Pick([16, 48, 128]);
        string say = rng.Say($"Hkv {heads} G {groups} N {tokens} D {dim} W {window}");
        Assert.That(K.WindowScores.UsesTiles(dtype, dim), Is.True, say);
        Assert.That(K.WindowScores.UsesTensorCores(dtype, dim), Is.EqualTo(!fp32), say);
        Assert.That(K.WindowScores.UsesRuns(dtype, dim, groups * window, window), Is.False, say);
        AssertTileKernelsMatchTheReference(rng, dtype, gqa, heads, groups, tokens, dim, window, say);
    }

    /// <summary>
    /// The run kernels (window_run.cu: every window row resident in one block over runs of key tiles)
    /// over two runs, the last one short, the masked tail, query heads straddling 16-row tiles
    /// (W not always a multiple of 16, so a warp's rows meet up to three heads) and a partly filled
    /// last warp; the key partials they write are head_key_partials' (bits; bf16 within 2^-12). D = 128 takes its own
    /// product code (constant offsets), so each dtype and each reduction meets it and another D. With
    /// <paramref name="manyGroups"/>, G is 5 to 16, so the mass kernel's four lanes per key take more
    /// than one query head each.
    /// </summary>
    [TestCase(DType.F16, GqaReduction.Mean, 128, false)]
    [TestCase(DType.BF16, GqaReduction.Max, 128, false)]
    [TestCase(DType.F16, GqaReduction.Max, 48, false)]
    [TestCase(DType.BF16, GqaReduction.Mean, 16, false)]
    [TestCase(DType.BF16, GqaReduction.Mean, 128, true)]
    [TestCase(DType.F16, GqaReduction.Max, 32, true)]
    public void RunPathMatchesTheReferenceOverSeveralRuns(DType dtype, GqaReduction gqa, int dim, bool manyGroups)
    {
        TestRandom rng = KernelCheck.Seeded();
        int window = manyGroups ? rng.Int(K.WindowScores.MinRunWindow, 25) : rng.Int(K.WindowScores.MinRunWindow, 40);
        int groups = manyGroups ? rng.Int(5, K.WindowScores.MaxRunRows / window) : rng.Int(1, K.WindowScores.MaxRunRows / window);
        // Runs of 4 tiles, two of them, the second short (2 or 3 tiles): small enough for the TSan pass.
        const int runTiles = 4;
        int runKeys = runTiles * K.WindowScores.TileKeys;
        int heads = rng.Int(1, 2), tokens = rng.Int(runKeys + K.WindowScores.TileKeys + 1, 2 * runKeys - K.WindowScores.TileKeys);
        string say = rng.Say($"Hkv {heads} G {groups} N {tokens} D {dim} W {window}");
        Assert.That(K.WindowScores.UsesRuns(dtype, dim, groups * window, window), Is.True, say);
        AssertTileKernelsMatchTheReference(rng, dtype, gqa, heads, groups, tokens, dim, window, say, runTiles);
    }

    /// <summary>
    /// The run kernels mask only the key tiles that reach past P + 1 (window_run.cu): the window's first
    /// row, at position P, sees keys 0..P. N is drawn so that a tile ends on each key around it (P - 1
    /// to P + 2); a mask that skipped one tile too many would let row 0 see key P + 1, which moves its
    /// softmax statistics by about one key's share. (Random N reaches these only one time in 64.)
    /// </summary>
    [Test]
    public void RunPathMasksTheTileEndingAroundTheWindowStart([Values(DType.F16, DType.BF16)] DType dtype, [Values(-1, 0, 1, 2)] int lastKeyPastP)
    {
        TestRandom rng = KernelCheck.Seeded();
        int window = rng.Int(K.WindowScores.MinRunWindow, 40), groups = rng.Int(1, K.WindowScores.MaxRunRows / window);
        int heads = rng.Int(1, 2), dim = rng.Pick([16, 48, 128]), tiles = rng.Int(2, 5);
        int prefix = (tiles * K.WindowScores.TileKeys) - 1 - lastKeyPastP, tokens = prefix + window;
        string say = rng.Say($"Hkv {heads} G {groups} N {tokens} D {dim} W {window}: tile {tiles - 1} ends on key P{lastKeyPastP:+0;-0;+0}");
        Assert.That(K.WindowScores.UsesRuns(dtype, dim, groups * window, window), Is.True, say);
        AssertTileKernelsMatchTheReference(rng, dtype, GqaReduction.Mean, heads, groups, tokens, dim, window, say);
    }

    /// <summary>
    /// window_run_stats' wgmma path (kernels/common/wgmma.cuh: D = 128 over two full warpgroups, G·W
    /// 113 to 128), which the CPU runtime takes when asked (as the CUDA runtime does when compiled for
    /// compute_90a), against the same reference and head_key_partials: a full and a partly filled last
    /// warp, query heads straddling 16-row tiles, rows on 16 bytes (cp.async into the core layout) and
    /// off them (16-bit loads), the masked tail, a short second run.
    /// </summary>
    [TestCase(DType.BF16, GqaReduction.Mean, 4, 32, false)]
    [TestCase(DType.F16, GqaReduction.Max, 3, 40, true)]
    [TestCase(DType.BF16, GqaReduction.Max, 5, 23, true)]
    [TestCase(DType.F16, GqaReduction.Mean, 8, 16, false)]
    public void WarpgroupPathMatchesTheReference(DType dtype, GqaReduction gqa, int groups, int window, bool offAlignment)
    {
        TestRandom rng = KernelCheck.Seeded();
        const int dim = 128, runTiles = 4;
        int runKeys = runTiles * K.WindowScores.TileKeys;
        int heads = rng.Int(1, 2), tokens = rng.Int(runKeys + K.WindowScores.TileKeys + 1, 2 * runKeys - K.WindowScores.TileKeys);
        string say = rng.Say($"Hkv {heads} G {groups} N {tokens} D {dim} W {window}{(offAlignment ? ", rows off 16 bytes" : "")}");
        Assert.That(groups * window, Is.InRange(113, K.WindowScores.MaxRunRows), say);
        var runtime = (K.Runtime.EmulatedKernelRuntime)backend.Runtime;
        runtime.WarpgroupProducts = true;
        try
        {
            AssertTileKernelsMatchTheReference(rng, dtype, gqa, heads, groups, tokens, dim, window, say, runTiles, offAlignment ? new Padding(1, 1, 3, 1) : Padding.None);
        }
        finally
        {
            runtime.WarpgroupProducts = false;
        }
    }

    /// <summary>
    /// The run length the launcher picks: as long as possible while the blocks still cover every
    /// multiprocessor's two block slots (one run shorter would need more blocks than that), from 1 to 32.
    /// </summary>
    [Test]
    public void RunLengthFillsTheMultiprocessorsOnce()
    {
        TestRandom rng = KernelCheck.Seeded();
        for (int i = 0; i < 200; i++)
        {
            int tokens = rng.Int(1, 300_000), heads = rng.Int(1, 64), multiprocessors = rng.Int(1, 200);
            int run = K.WindowScores.RunTilesFor(tokens, heads, multiprocessors);
            long tiles = (long)K.WindowScores.KeyTiles(tokens) * heads, slots = 2L * multiprocessors;
            string say = rng.Say($"N {tokens} Hkv {heads} SMs {multiprocessors}: run {run}");
            Assert.That(run, Is.InRange(1, K.WindowScores.MaxRunTiles), say);
            if (run < K.WindowScores.MaxRunTiles)
            {
                Assert.That((tiles + run - 1) / run, Is.LessThanOrEqualTo(slots), say);
            }

            if (run > 1)
            {
                Assert.That((tiles + run - 2) / (run - 1), Is.GreaterThan(slots), say);
            }
        }
    }

    private void AssertTileKernelsMatchTheReference(TestRandom rng, DType dtype, GqaReduction gqa, int heads, int groups, int tokens, int dim, int window, string say, int? runTiles = null,
                                                    Padding padding = default)
    {
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, dtype);
        StoredLayer stored = data.Store(rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd, padding);
        int prefix = tokens - window, queryHeads = heads * groups;
        using var stage = new StageHarness(backend, queryHeads, heads, tokens, dim, window);
        DeviceTensor keys = stage.Upload(stored.Keys);
        DeviceTensor queries = stage.Upload(stored.Queries);
        var options = new CompressionOptions { Window = window, Budget = window + 1, Gqa = gqa, PoolingKernel = 1 };

        K.WindowScores.Enqueue(stage.Runtime, keys, queries, options, stage.Workspace, runTiles);

        AssertRowStatisticsAndMass(stage, data, stored, dtype, gqa, window, say, runTiles);

        // The key statistics' partials, written from the staged tiles, are head_key_partials' bits, but
        // for bf16 tiles, which sum on the tensor cores with 1/||k|| split into hi and lo bf16 rows
        // (within ~2^-17 of it) in another order: those agree within 2^-12 of the chunk's largest
        // component (sums of unit vectors: 64 terms' rounding, whatever cancels). Dropping the lo row
        // alone is 2^-9.
        int chunks = K.HeadStats.Chunks(tokens), partials = heads * chunks * dim;
        float[] fromTiles = stage.Floats(stage.Workspace.KeyPartials, partials);
        K.HeadStats.Enqueue(stage.Runtime, keys, stage.Upload(stored.Values), prefix, stage.Workspace);
        float[] fromHeadStats = stage.Floats(stage.Workspace.KeyPartials, partials);
        if (dtype == DType.BF16)
        {
            KernelCheck.AssertClose(fromTiles, KernelCheck.Rows(fromHeadStats, heads * chunks, dim), Math.ScaleB(1, -12), $"{say}: key partials vs head_key_partials", floorFraction: 1);
        }
        else
        {
            Assert.That(fromTiles, Is.EqualTo(fromHeadStats), $"{say}: key partials vs head_key_partials");
        }
    }

    /// <summary>The row kernels (window_scores.cu): fp32 past the tile limit of D (up to 256), 16-bit with D not a multiple of 16.</summary>
    [Test]
    public void RowPathMatchesTheReference([Values] DType dtype, [Values] GqaReduction gqa)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = rng.Int(1, 2), groups = rng.Int(1, 3), tokens = rng.Int(70, 200), window = rng.Int(3, 20);
        int dim = dtype == DType.F32 ? rng.Pick([K.WindowScores.MaxTileDim + rng.Int(1, 20), 256]) : rng.Pick([8, 40, 72]);
        string say = rng.Say($"Hkv {heads} G {groups} N {tokens} D {dim} W {window}");
        Assert.That(K.WindowScores.UsesTiles(dtype, dim), Is.False, say);
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, dtype);
        StoredLayer stored = data.Store(rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd);
        using var stage = new StageHarness(backend, heads * groups, heads, tokens, dim, window);
        var options = new CompressionOptions { Window = window, Budget = window + 1, Gqa = gqa, PoolingKernel = 1 };

        K.WindowScores.Enqueue(stage.Runtime, stage.Upload(stored.Keys), stage.Upload(stored.Queries), options, stage.Workspace);

        AssertRowStatisticsAndMass(stage, data, stored, dtype, gqa, window, say);
    }

    /// <summary>
    /// The stage wrote its outputs (and, by tiles, its per-tile statistics) and nothing else; the
    /// softmax row statistics and the raw mass (before pooling) agree with the reference.
    /// </summary>
    private static void AssertRowStatisticsAndMass(StageHarness stage, LayerData data, StoredLayer stored, DType dtype, GqaReduction gqa, int window, string say, int? runTiles = null)
    {
        K.KernelWorkspace ws = stage.Workspace;
        int heads = data.KvHeads, tokens = data.Tokens, prefix = tokens - window, rows = data.QueryHeads * window;
        var written = new List<(DevicePointer, long)> { (ws.RowMax, rows), (ws.RowSum, rows), (ws.RawAttention, heads * prefix), (ws.Attention, heads * prefix) };
        if (K.WindowScores.UsesTiles(dtype, data.Dim))
        {
            int run = runTiles ?? K.WindowScores.RunTilesFor(tokens, heads, stage.Runtime.Multiprocessors);
            int columns = K.WindowScores.StatisticColumns(dtype, data.Dim, data.QueryHeads / heads * window, window, tokens, run);
            written.Add((ws.TileMax, rows * columns));
            written.Add((ws.TileSum, rows * columns));
            written.Add((ws.KeyPartials, (long)heads * K.HeadStats.Chunks(tokens) * data.Dim));
        }

        stage.AssertWroteOnly(say, [.. written]);
        double tolerance = KernelCheck.Tolerance(dtype);
        (double[][] max, double[][] sum) = RowStatistics(data, window);
        KernelCheck.AssertClose(stage.Floats(ws.RowMax, rows), max, tolerance, $"{say}: row max", floorFraction: 1);
        KernelCheck.AssertClose(stage.Floats(ws.RowSum, rows), sum, tolerance, $"{say}: row sum");
        double[][] raw = Ref.WindowScores.ReduceGqa(Ref.WindowScores.AttentionMass(stored.Inputs.Keys, stored.Inputs.WindowQueries(window)), heads, gqa);
        KernelCheck.AssertClose(stage.Floats(ws.RawAttention, heads * prefix), raw, tolerance, $"{say}: raw mass (before pooling)");
    }

    /// <summary>
    /// Zero queries give every visible key the logit 0, so row w's softmax is 1/(P+w+1) whatever the
    /// keys: A_raw[n] = (1/W) * sum_w 1/(P+w+1) for every n, for both GQA reductions. Avg pooling then
    /// divides the in-range neighbours by k: interior values are unchanged, the first and last k/2
    /// positions lose the padded share. Max pooling keeps the value.
    /// </summary>
    [Test]
    public void ZeroQueriesGiveTheHandComputedUniformMass([Values] PoolingKind pooling, [Values(1, 5)] int kernel)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = 2, groups = 2, tokens = rng.Int(30, 90), dim = 16, window = rng.Int(2, 9), prefix = tokens - window;
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, DType.F32);
        foreach (float[][] head in data.Queries)
        {
            foreach (float[] row in head)
            {
                Array.Clear(row);
            }
        }

        StoredLayer stored = data.Store(TensorLayout.Hnd);
        using var stage = new StageHarness(backend, heads * groups, heads, tokens, dim, window);
        DeviceTensor keys = stage.Upload(stored.Keys);
        DeviceTensor queries = stage.Upload(stored.Queries);
        var options = new CompressionOptions { Window = window, Budget = window + 1, Gqa = rng.Coin() ? GqaReduction.Max : GqaReduction.Mean, Pooling = pooling, PoolingKernel = kernel };

        K.WindowScores.Enqueue(stage.Runtime, keys, queries, options, stage.Workspace);

        double mass = Enumerable.Range(0, window).Sum(w => 1.0 / (prefix + w + 1)) / window;
        var expected = new double[heads][];
        for (int h = 0; h < heads; h++)
        {
            expected[h] = Enumerable.Range(0, prefix).Select(n =>
            {
                int inside = Math.Min(prefix - 1, n + kernel / 2) - Math.Max(0, n - kernel / 2) + 1;
                return pooling == PoolingKind.Max ? mass : mass * inside / kernel;
            }).ToArray();
        }

        KernelCheck.AssertClose(stage.Floats(stage.Workspace.Attention, heads * prefix), expected, 1e-6, rng.Say($"uniform mass {mass:R}, N {tokens}, W {window}"));
    }

    /// <summary>Pooling alone, on the kernel's own raw mass: kernel 1 and max pooling are exact copies/maxima; avg is the window sum / k within 1e-6 relative (1e-4 percent).</summary>
    [Test]
    public void PoolingOfTheRawMassIsExact([Values] PoolingKind pooling, [Values(1, 3, 7)] int kernel)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = 3, prefix = rng.Int(1, 700);
        using var stage = new StageHarness(backend, heads, heads, prefix + 1, 8, 1);
        float[] raw = Enumerable.Range(0, heads * prefix).Select(_ => (float)Math.Exp(rng.Uniform(-12, 0))).ToArray();
        stage.Runtime.CopyToDevice(System.Runtime.InteropServices.MemoryMarshal.AsBytes(raw.AsSpan()), stage.Workspace.RawAttention);
        stage.Runtime.Launch("window_pool", K.Launch.Config(K.Launch.Blocks(prefix, 256), (uint)heads, 256), new K.WindowPoolParams
        {
            Raw = stage.Workspace.RawAttention.Address,
            Pooled = stage.Workspace.Attention.Address,
            Prefix = prefix,
            Kernel = kernel,
            PoolMax = pooling == PoolingKind.Max ? 1 : 0,
        });

        float[] pooled = stage.Floats(stage.Workspace.Attention, heads * prefix);
        string say = rng.Say($"P {prefix}");
        for (int h = 0; h < heads; h++)
        {
            for (int n = 0; n < prefix; n++)
            {
                var inside = Enumerable.Range(n - kernel / 2, kernel).Where(i => i >= 0 && i < prefix).Select(i => raw[h * prefix + i]).ToArray();
                float got = pooled[h * prefix + n];
                if (pooling == PoolingKind.Max || kernel == 1)
                {
                    Assert.That(got, Is.EqualTo(pooling == PoolingKind.Max ? inside.Max() : raw[h * prefix + n]), $"{say}: [{h}, {n}] exact");
                }
                else
                {
                    Assert.That(got, Is.EqualTo(inside.Sum(x => (double)x) / kernel).Within(1e-4).Percent, $"{say}: [{h}, {n}]");
                }
            }
        }
    }

    /// <summary>Causal softmax statistics in double: max logit and sum of exp(logit - max) over keys 0..P+w.</summary>
    private static (double[][] Max, double[][] Sum) RowStatistics(LayerData data, int window)
    {
        int n = data.Tokens, prefix = n - window, g = data.QueryHeads / data.KvHeads;
        var max = new double[data.QueryHeads][];
        var sum = new double[data.QueryHeads][];
        for (int q = 0; q < data.QueryHeads; q++)
        {
            max[q] = new double[window];
            sum[q] = new double[window];
            float[][] rows = data.Queries[q];
            for (int w = 0; w < window; w++)
            {
                float[] query = rows[rows.Length - window + w];
                double[] logits = Enumerable.Range(0, prefix + w + 1)
                    .Select(key => query.Zip(data.Keys[q / g][key], (a, b) => (double)a * b).Sum() / Math.Sqrt(data.Dim)).ToArray();
                max[q][w] = logits.Max();
                sum[q][w] = logits.Sum(l => Math.Exp(l - max[q][w]));
            }
        }

        return (max, sum);
    }
}
