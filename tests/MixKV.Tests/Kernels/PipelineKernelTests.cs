using System.Collections.Concurrent;
using MixKV.Device;
using MixKV.Kernels;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;
using K = MixKV.Kernels;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Kernels;

/// <summary>
/// The whole kernel pipeline on the CPU runtime against the reference (acceptance 1 of the kernels
/// issue): every stage's intermediate within the stated tolerance (S within that plus what its
/// normalisations make of the errors in its inputs, <see cref="ScoreTolerance"/>), the same kept positions outside
/// genuine near-ties, and kept rows byte-identical to the input rows.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PipelineKernelTests
{
    private static readonly ConcurrentDictionary<string, double> MaxErrors = new(StringComparer.Ordinal);

    private KernelBackend backend = null!;

    [OneTimeSetUp]
    public void Open() => backend = KernelBackend.OpenEmulated();

    [OneTimeTearDown]
    public void Close()
    {
        foreach (var (key, value) in MaxErrors.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            TestContext.Progress.WriteLine($"max relative error {key,-28} {value:E3}");
        }

        backend.Dispose();
    }

    internal static IEnumerable<TestCaseData> Cases() => KernelCase.All();

    [TestCaseSource(nameof(Cases))]
    public void MatchesReference(KernelCase c) => CheckAgainstReference(backend, c);

    /// <summary>The same check with the run kernels' wgmma forms (kernels/common/wgmma.cuh), as the CPU runtime runs them when asked.</summary>
    [TestCaseSource(typeof(KernelCase), nameof(KernelCase.Warpgroup))]
    public void WarpgroupFormsMatchReference(KernelCase c)
    {
        var runtime = (K.Runtime.EmulatedKernelRuntime)backend.Runtime;
        runtime.WarpgroupProducts = true;
        try
        {
            CheckAgainstReference(backend, c);
        }
        finally
        {
            runtime.WarpgroupProducts = false;
        }
    }

    /// <summary>The acceptance check of one case on any kernel backend (CudaPipelineTests runs it on a GPU).</summary>
    internal static void CheckAgainstReference(KernelBackend backend, KernelCase c) => CheckAgainstReference(backend, c, KernelCheck.Seeded());

    /// <summary>The same, drawing the data, token count and options from <paramref name="rng"/>.</summary>
    internal static void CheckAgainstReference(KernelBackend backend, KernelCase c, TestRandom rng)
    {
        (StoredLayer stored, CompressionOptions options, LayerPosition layer, int tokens) = c.DrawLayer(rng);
        string say = rng.Say($"{c}: N {tokens}, budget {options.Budget}, layer {layer}, alpha {options.FloorAlpha}, beta {options.Beta}");
        if (c.GridSelection)
        {
            int window = Math.Min(options.Window, tokens);
            bool deviceCaps = options.Method == BudgetMethod.AdaKV;
            Assert.That(K.Select.FormFor(tokens - window, deviceCaps, options.Budget - window, K.Select.Preference.Measured), Is.EqualTo(K.Select.Form.Grid), $"{say}: the case should take the grid selection");
        }

        CheckAgainstReference(backend, stored, options, layer, say);
    }

    /// <summary>The same check on given inputs; returns the kernels' intermediates (null without a prefix).</summary>
    internal static KernelIntermediates? CheckAgainstReference(KernelBackend backend, StoredLayer stored, CompressionOptions options, LayerPosition layer, string say)
    {
        byte[][] before = stored.Snapshot();
        KeptTokens expected = new Ref.ReferenceCompressor().Plan(stored.Inputs, options, layer, withScores: true, out _);
        (CompressedLayer actual, KernelIntermediates? details) = backend.Run(stored.Inputs, options, layer, withScores: true, intermediates: true);

        stored.AssertUnchanged(before, $"{say}: the kernels modified their inputs");
        int heads = stored.Inputs.KvHeads, tokens = stored.Inputs.Tokens, window = Math.Min(options.Window, tokens), prefix = tokens - window;
        DType dtype = stored.Inputs.Keys.DType;
        Assert.That(actual.Kept.Compressed, Is.EqualTo(expected.Compressed), $"{say}: compressed flag");
        Assert.That(actual.Kept.Prefix, Is.EqualTo(expected.Prefix), $"{say}: prefix");

        double tolerance = KernelCheck.Tolerance(dtype);
        double[][]? referenceScores = null, kernelScores = null, referenceAttention = null;
        double[]? scoreAllowance = null;
        if (prefix > 0)
        {
            Assert.That(details, Is.Not.Null, say);
            (referenceAttention, referenceScores, scoreAllowance) = CompareStages(stored.Inputs, options, layer, details!, dtype, tolerance, say);
            kernelScores = KernelCheck.Rows(details!.Scores, heads, prefix);
            Assert.That(actual.Kept.Scores, Is.EqualTo(details.Scores), $"{say}: returned scores are the workspace's S");
        }
        else
        {
            Assert.That(actual.Kept.Scores, Is.Empty, $"{say}: no prefix, no scores");
        }

        int[] referenceCaps = expected.HeadLens.Select(len => len - window).ToArray();
        int[] kernelCaps = actual.Kept.HeadLens.Select(len => len - window).ToArray();
        Assert.That(actual.Kept.CuLens, Is.EqualTo(Prefix(actual.Kept.HeadLens)), $"{say}: cu_lens");
        if (!kernelCaps.SequenceEqual(referenceCaps))
        {
            AssertAdaKVNearTie(options, layer, dtype, referenceAttention!, details!, kernelCaps, referenceCaps, tolerance, say);
        }

        for (int h = 0; h < heads; h++)
        {
            int[] got = actual.Kept.PositionsOfHead(h).ToArray();
            int[] want = expected.PositionsOfHead(h).ToArray();
            if (!got.SequenceEqual(want))
            {
                AssertGenuineNearTie(h, got, want, kernelCaps[h], referenceCaps[h], kernelScores, referenceScores, window, prefix, scoreAllowance?[h] ?? tolerance, say);
            }
        }

        AssertRowsAreInputRows(stored, actual, say);
        return details;
    }

    /// <summary>
    /// The device API over caller-owned buffers between sentinels: exactly T rows and positions are
    /// written, the rest of the output capacity keeps its poison, guards survive, inputs are read only.
    /// </summary>
    [Category("TsanSmall")]
    [TestCase(BudgetMethod.AdaKV, DType.F16, TensorLayout.Nhd)]
    [TestCase(BudgetMethod.SnapKV, DType.BF16, TensorLayout.Hnd)]
    [TestCase(BudgetMethod.PyramidKV, DType.F32, TensorLayout.Nhd)]
    public void EnqueueWritesOnlyTheOutputRows(BudgetMethod method, DType dtype, TensorLayout layout)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = 3, groups = 2, tokens = rng.Int(120, 260), dim = 24, window = 8;
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window + 2, dtype);
        var options = new CompressionOptions { Method = method, Budget = window + rng.Int(5, tokens - window - 5), Window = window, FloorAlpha = rng.Uniform(0, 0.5) };
        var layer = new LayerPosition(1, 3);
        string say = rng.Say($"N {tokens}, budget {options.Budget}");
        StoredLayer stored = data.Store(layout);
        KeptTokens expected = new Ref.ReferenceCompressor().Plan(stored.Inputs, options, layer, withScores: false, out _);
        (CompressedLayer viaRun, _) = backend.Run(stored.Inputs, options, layer, withScores: false, intermediates: false);

        var runtime = backend.Runtime;
        DevicePlan plan = backend.Plan(heads * groups, heads, tokens, dim, options, layer);
        using DeviceRegion k = DeviceRegion.Of<byte>(runtime, stored.Keys.Storage.Span);
        using DeviceRegion v = DeviceRegion.Of<byte>(runtime, stored.Values.Storage.Span);
        using DeviceRegion q = DeviceRegion.Of<byte>(runtime, stored.Queries.Storage.Span);
        byte[] kBefore = k.Span.ToArray(), vBefore = v.Span.ToArray(), qBefore = q.Span.ToArray();
        int rowBytes = dim * dtype.Size();
        int capacity = plan.MaxOutputTokens;
        using var outKeys = new DeviceRegion(runtime, (long)capacity * rowBytes);
        using var outValues = new DeviceRegion(runtime, (long)capacity * rowBytes);
        using var positions = new DeviceRegion(runtime, capacity * sizeof(int));
        using var headLens = new DeviceRegion(runtime, heads * sizeof(int));
        using var cuLens = new DeviceRegion(runtime, (heads + 1) * sizeof(int));
        using var workspace = new DeviceRegion(runtime, plan.WorkspaceBytes);
        DeviceTensor Tensor(DeviceRegion b, StoredTensor t) => new(b.Pointer.AddBytes(t.Offset * dtype.Size()), dtype, t.Heads, t.Tokens, t.Dim, t.HeadStride, t.TokenStride);

        backend.Enqueue(plan, Tensor(k, stored.Keys), Tensor(v, stored.Values), Tensor(q, stored.Queries),
            new DeviceLayerOutput(outKeys.Pointer, outValues.Pointer, positions.Pointer, headLens.Pointer, cuLens.Pointer, capacity), workspace.Pointer, workspace.Bytes);
        runtime.Synchronize();

        int[] lens = headLens.Read<int>(heads);
        int total = cuLens.Read<int>(heads + 1)[heads];
        Assert.That(lens, Is.EqualTo(viaRun.Kept.HeadLens), $"{say}: head_lens");
        Assert.That(cuLens.Read<int>(heads + 1), Is.EqualTo(Prefix(lens)), $"{say}: cu_lens");
        Assert.That(positions.Read<int>(total), Is.EqualTo(viaRun.Kept.Positions), $"{say}: positions (Enqueue vs Run)");
        if (method != BudgetMethod.AdaKV)
        {
            Assert.That(positions.Read<int>(total), Is.EqualTo(expected.Positions), $"{say}: positions vs reference");
        }

        Assert.That(outKeys.Span[..(total * rowBytes)].ToArray(), Is.EqualTo(viaRun.Keys), $"{say}: keys");
        Assert.That(outValues.Span[..(total * rowBytes)].ToArray(), Is.EqualTo(viaRun.Values), $"{say}: values");
        outKeys.AssertPoisoned((long)total * rowBytes, outKeys.Bytes, $"{say}: keys past T");
        outValues.AssertPoisoned((long)total * rowBytes, outValues.Bytes, $"{say}: values past T");
        positions.AssertPoisoned(total * sizeof(int), positions.Bytes, $"{say}: positions past T");
        foreach (DeviceRegion b in new[] { outKeys, outValues, positions, headLens, cuLens, workspace, k, v, q })
        {
            b.AssertGuardsIntact(say);
        }

        Sentinel.AssertSameBytes(kBefore, k.Span, $"{say}: keys are read only");
        Sentinel.AssertSameBytes(vBefore, v.Span, $"{say}: values are read only");
        Sentinel.AssertSameBytes(qBefore, q.Span, $"{say}: queries are read only");
    }

    internal static int[] Prefix(int[] lens)
    {
        var cu = new int[lens.Length + 1];
        for (int h = 0; h < lens.Length; h++)
        {
            cu[h + 1] = cu[h] + lens[h];
        }

        return cu;
    }

    private static void Record(string key, double error) => MaxErrors.AddOrUpdate(key, error, (_, old) => Math.Max(old, error));

    /// <summary>Every stage's device array against the reference stage functions; returns the reference A and S and each head's S allowance.</summary>
    private static (double[][] Attention, double[][] Scores, double[] ScoreAllowance) CompareStages(LayerInputs inputs, CompressionOptions options, LayerPosition layer, KernelIntermediates details, DType dtype, double tolerance, string say)
    {
        int heads = inputs.KvHeads, prefix = inputs.Tokens - options.Window;
        double[][] attention = Ref.WindowScores.Compute(inputs.Keys, inputs.WindowQueries(options.Window), options.Gqa, options.Pooling, options.PoolingKernel);
        Ref.HeadStatistics stats = Ref.HeadStats.Compute(inputs.Keys, inputs.Values, prefix);
        double[] redundancy = options.Redundancy is { } table ? Enumerable.Range(0, heads).Select(h => table[layer.Index, h]).ToArray() : stats.Redundancy;
        double[][] scores = Ref.Mix.Compute(options.Score, attention, stats, redundancy);
        string d = dtype.Name();

        Record($"{d} A", KernelCheck.AssertClose(details.Attention, attention, tolerance, $"{say}: A"));
        Record($"{d} key norms", KernelCheck.AssertClose(details.KeyNorms, stats.KeyNorms, tolerance, $"{say}: key norms"));
        Record($"{d} value norms", KernelCheck.AssertClose(details.ValueNorms, stats.ValueNorms, tolerance, $"{say}: value norms"));
        Record($"{d} similarity", KernelCheck.AssertClose(details.Similarity, stats.MeanKeySimilarity, tolerance, $"{say}: similarity k^.mu", floorFraction: 1, absoluteFloor: KernelCheck.SimilarityFloor));

        // r_h lies in [0, 1]: its error is measured against that range (absolute).
        Record($"{d} online redundancy", MaxAbs(details.OnlineRedundancy, stats.Redundancy, tolerance, say));
        // S: each head within the tolerance plus what its normalisations make of the errors above.
        double[] allowance = ScoreTolerance.PerHead(options.Score, tolerance,
            (KernelCheck.Rows(details.Similarity, heads, prefix), stats.MeanKeySimilarity),
            (KernelCheck.Rows(details.ValueNorms, heads, prefix), stats.ValueNorms),
            (KernelCheck.Rows(details.KeyNorms, heads, prefix), stats.KeyNorms));
        for (int h = 0; h < heads; h++)
        {
            Record($"{d} S", KernelCheck.AssertClose(details.Scores.AsSpan(h * prefix, prefix), [scores[h]], allowance[h], $"{say}: S ({options.Score.Name()}) of head {h}", floorFraction: 1));
            Record($"{d} S allowance / tolerance", allowance[h] / tolerance);
        }

        return (attention, scores, allowance);
    }

    private static double MaxAbs(float[] actual, double[] expected, double tolerance, string say)
    {
        double worst = 0;
        for (int h = 0; h < expected.Length; h++)
        {
            double error = Math.Abs(actual[h] - expected[h]);
            Assert.That(error, Is.LessThanOrEqualTo(tolerance), $"{say}: r[{h}] = {actual[h]}, expected {expected[h]}");
            worst = Math.Max(worst, error);
        }

        return worst;
    }

    /// <summary>
    /// Positions of head <paramref name="h"/> differ from the reference: legal only when (a) the kernel
    /// kept exactly the top cap of its own S (lower position wins ties) and (b) the reference's S at the
    /// cut (cap-th vs (cap+1)-th largest) is a near-tie, and every swapped position sits at that cut.
    /// </summary>
    private static void AssertGenuineNearTie(int h, int[] got, int[] want, int kernelCap, int referenceCap, double[][]? kernelScores, double[][]? referenceScores, int window, int prefix, double tolerance, string say)
    {
        string head = $"{say}: head {h} positions differ from the reference (kernel [{string.Join(",", got)}], reference [{string.Join(",", want)}])";
        Assert.That(kernelScores, Is.Not.Null, head);
        int[] ownTop = Ref.Select.TopPrefix(kernelScores![h], kernelCap);
        Assert.That(got, Is.EqualTo(ownTop.Concat(Enumerable.Range(prefix, window))), $"{head}: not the top {kernelCap} of the kernel's own S");
        if (kernelCap != referenceCap)
        {
            return; // an AdaKV allocation near-tie, already checked
        }

        double[] s = referenceScores![h];
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

    /// <summary>
    /// AdaKV caps differ from the reference: legal when they equal Budget.AdaKVCaps on the kernel's own
    /// A, or when the reference allocation's cut (the Hkv*base-th vs next largest scaled score) is a near-tie.
    /// </summary>
    private static void AssertAdaKVNearTie(CompressionOptions options, LayerPosition layer, DType dtype, double[][] referenceAttention, KernelIntermediates details, int[] kernelCaps, int[] referenceCaps, double tolerance, string say)
    {
        string what = $"{say}: caps [{string.Join(",", kernelCaps)}] differ from the reference [{string.Join(",", referenceCaps)}]";
        Assert.That(options.Method == BudgetMethod.AdaKV && layer.Index >= options.Skip, $"{what} outside the AdaKV allocation");
        int baseCap = options.Budget - options.Window, prefix = referenceAttention[0].Length;
        int[] own = Ref.Budget.AdaKVCaps(KernelCheck.Rows(details.Attention, referenceAttention.Length, prefix), baseCap, options.FloorAlpha, options.Normalize)
            .Select(cap => Math.Clamp(cap, 0, prefix)).ToArray();
        if (own.SequenceEqual(kernelCaps))
        {
            TestContext.Progress.WriteLine($"AdaKV caps follow the kernel's own A: {what}");
            return;
        }

        double[] pool = ScaledPool(referenceAttention, baseCap, options.Normalize);
        int take = referenceAttention.Length * baseCap;
        Assert.That(take, Is.InRange(1, pool.Length - 1), $"{what}: no allocation cut to tie at");
        double scale = pool[0];
        Assert.That(pool[take - 1] - pool[take], Is.LessThanOrEqualTo(tolerance * scale), $"{what}: nor from the kernel's own A ([{string.Join(",", own)}]); reference cut {pool[take - 1]:R} vs {pool[take]:R} is no near-tie ({dtype.Name()})");
    }

    /// <summary>Every head's A scaled by its top-base share, all heads pooled, descending.</summary>
    internal static double[] ScaledPool(double[][] attention, int baseCap, bool normalize)
    {
        var pool = new List<double>();
        foreach (double[] row in attention)
        {
            double[] sorted = row.OrderByDescending(x => x).ToArray();
            double all = sorted.Sum();
            double factor = normalize && all > 0 ? sorted.Take(baseCap).Sum() / all : 1.0;
            pool.AddRange(sorted.Select(x => x * factor));
        }

        return pool.OrderByDescending(x => x).ToArray();
    }

    /// <summary>Row j of head h of K' and V' is byte-identical to the input row at the kernel's position.</summary>
    internal static void AssertRowsAreInputRows(StoredLayer stored, CompressedLayer actual, string say)
    {
        int rowBytes = stored.Keys.RowBytes;
        KeptTokens kept = actual.Kept;
        Assert.That(actual.Keys, Has.Length.EqualTo(kept.TotalTokens * rowBytes), $"{say}: K' length");
        Assert.That(actual.Values, Has.Length.EqualTo(kept.TotalTokens * rowBytes), $"{say}: V' length");
        for (int h = 0; h < kept.KvHeads; h++)
        {
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

}
