using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Kernels.Support;

/// <summary>
/// One shape/dtype/layout/mode/method combination of the kernel-vs-reference tests. The list is fixed
/// (stable names, guaranteed coverage of every mode, method, pooling, kernel size, GQA mode, dtype and
/// layout); the data, the token count and the budget are drawn from the per-test seed.
/// </summary>
public sealed record KernelCase(
    int KvHeads, int Groups, int MinTokens, int MaxTokens, int Dim, int Window, DType DType, TensorLayout Layout, bool Padded,
    BudgetMethod Method, ScoreMode Score, GqaReduction Gqa, PoolingKind Pooling, int Kernel,
    int Layers = 1, int Layer = 0, bool Normalize = true, int Skip = 0, bool Offline = false, bool Uncompressed = false, bool GridSelection = false)
{
    public override string ToString() =>
        $"{Method.Name()}/{Score.Name()} Hkv{KvHeads} G{Groups} N{MinTokens}-{MaxTokens} D{Dim} W{Window} {DType.Name()} {Layout}{(Padded ? "+pad" : string.Empty)} " +
        $"gqa-{Gqa.Name()} pool-{Pooling.Name()}{Kernel} L{Layer}/{Layers}{(Method == BudgetMethod.AdaKV ? $" norm-{Normalize} skip{Skip}" : string.Empty)}{(Offline ? " offline-r" : string.Empty)}{(Uncompressed ? " uncompressed" : string.Empty)}{(GridSelection ? " grid-select" : string.Empty)}";

    public static IEnumerable<TestCaseData> All()
    {
        DType[] dtypes = [DType.F32, DType.F16, DType.BF16];
        int[] kernels = [1, 3, 5, 7];
        int[] dims = [16, 24, 64, 8, 32, 128];
        int index = 0;

        // Every method x every score mode; dtype x layout x padding cycle through all 12 combinations.
        foreach (BudgetMethod method in Enum.GetValues<BudgetMethod>())
        {
            foreach (ScoreMode score in Enum.GetValues<ScoreMode>())
            {
                int i = index++;
                yield return Case(new KernelCase(
                    1 + i % 4, 1 + (i / 2) % 3, 70, 300, dims[i % dims.Length], 4 + (i * 7) % 29, dtypes[i % 3], (TensorLayout)((i / 3) % 2), (i / 6) % 2 == 1,
                    method, score, (GqaReduction)(i % 2), (PoolingKind)((i / 2) % 2), kernels[i % 4],
                    Layers: method == BudgetMethod.PyramidKV ? 4 : 1, Layer: method == BudgetMethod.PyramidKV ? i % 4 : 0,
                    Normalize: i % 5 != 0, Offline: score == ScoreMode.MixKV && method == BudgetMethod.PyramidKV));
            }
        }

        // Pooling x kernel sweep on the attention score itself (A decides the selection directly).
        foreach (PoolingKind pooling in Enum.GetValues<PoolingKind>())
        {
            foreach (int kernel in kernels)
            {
                int i = index++;
                yield return Case(new KernelCase(2, 2, 60, 200, 32, 8, dtypes[i % 3], (TensorLayout)(i % 2), i % 3 == 0,
                    BudgetMethod.SnapKV, ScoreMode.Attention, (GqaReduction)((i / 2) % 2), pooling, kernel));
            }
        }

        // AdaKV: normalise on/off, a skipped layer (uniform cap) and a layer past the skip.
        yield return Case(new KernelCase(4, 2, 100, 300, 32, 16, DType.F32, TensorLayout.Hnd, false, BudgetMethod.AdaKV, ScoreMode.MixKV, GqaReduction.Mean, PoolingKind.Avg, 5, Normalize: false));
        yield return Case(new KernelCase(4, 2, 100, 300, 32, 16, DType.BF16, TensorLayout.Nhd, true, BudgetMethod.AdaKV, ScoreMode.Attention, GqaReduction.Max, PoolingKind.Max, 3, Normalize: true));
        yield return Case(new KernelCase(3, 1, 100, 300, 16, 8, DType.F16, TensorLayout.Hnd, true, BudgetMethod.AdaKV, ScoreMode.VNorm, GqaReduction.Mean, PoolingKind.Avg, 5, Layers: 4, Layer: 1, Skip: 2));
        yield return Case(new KernelCase(3, 1, 100, 300, 16, 8, DType.F16, TensorLayout.Nhd, false, BudgetMethod.AdaKV, ScoreMode.KeyDiff, GqaReduction.Mean, PoolingKind.Avg, 5, Layers: 4, Layer: 3, Skip: 2));

        // PyramidKV over the layers of a 5-layer model.
        for (int layer = 0; layer < 5; layer += 2)
        {
            yield return Case(new KernelCase(2, 2, 150, 300, 24, 12, dtypes[layer % 3], TensorLayout.Nhd, layer == 2, BudgetMethod.PyramidKV, ScoreMode.MixKV, GqaReduction.Mean, PoolingKind.Avg, 5, Layers: 5, Layer: layer));
        }

        // Edges: budget past N (uncompressed, scores still computed), N < W, N == W (empty prefix).
        yield return Case(new KernelCase(2, 2, 40, 80, 16, 8, DType.F16, TensorLayout.Hnd, true, BudgetMethod.SnapKV, ScoreMode.MixKV, GqaReduction.Mean, PoolingKind.Avg, 5, Uncompressed: true));
        yield return Case(new KernelCase(2, 1, 3, 7, 16, 8, DType.F32, TensorLayout.Nhd, false, BudgetMethod.AdaKV, ScoreMode.MixKV, GqaReduction.Mean, PoolingKind.Avg, 5));
        yield return Case(new KernelCase(2, 1, 8, 8, 16, 8, DType.BF16, TensorLayout.Hnd, true, BudgetMethod.SnapKV, ScoreMode.KNorm, GqaReduction.Max, PoolingKind.Max, 3));

        // A few long prompts (several head-stats chunks, several select chunks).
        yield return Case(new KernelCase(2, 2, 2048, 2048, 64, 32, DType.F16, TensorLayout.Nhd, true, BudgetMethod.AdaKV, ScoreMode.MixKV, GqaReduction.Mean, PoolingKind.Avg, 5));
        yield return Case(new KernelCase(1, 4, 1500, 1500, 128, 16, DType.BF16, TensorLayout.Hnd, false, BudgetMethod.SnapKV, ScoreMode.MixKVUniform, GqaReduction.Max, PoolingKind.Max, 7));
        yield return Case(new KernelCase(4, 1, 1024, 1024, 16, 8, DType.F32, TensorLayout.Nhd, true, BudgetMethod.PyramidKV, ScoreMode.KeyDiff, GqaReduction.Mean, PoolingKind.Avg, 3, Layers: 3, Layer: 1));

        // More KV heads than the one-block AdaKV allocation had room for (256; the grid form has no such limit).
        yield return Case(new KernelCase(300, 1, 40, 60, 8, 8, DType.F16, TensorLayout.Hnd, false, BudgetMethod.AdaKV, ScoreMode.MixKV, GqaReduction.Mean, PoolingKind.Avg, 3));

        // Heads of two or three spans of the grid selections (kernels/select.cu, adakv.cu: 2048 positions
        // each) and of two of the candidate form's (4096), whichever form the drawn cap takes.
        yield return Case(new KernelCase(2, 2, 4200, 6500, 32, 16, DType.BF16, TensorLayout.Hnd, false, BudgetMethod.AdaKV, ScoreMode.MixKV, GqaReduction.Mean, PoolingKind.Avg, 5));
        yield return Case(new KernelCase(3, 1, 4200, 6500, 16, 8, DType.F32, TensorLayout.Nhd, true, BudgetMethod.SnapKV, ScoreMode.Attention, GqaReduction.Max, PoolingKind.Max, 3));

        // Layers whose selection takes the grid form by the measured choice (Select.FormFor; the
        // shorter layers above take the candidate form): a uniform cap of more than FasterCandidates
        // candidates a head, and AdaKV past the merge's P (its shares too).
        yield return Case(new KernelCase(2, 2, 6000, 6500, 16, 8, DType.F16, TensorLayout.Nhd, false, BudgetMethod.SnapKV, ScoreMode.MixKV, GqaReduction.Mean, PoolingKind.Avg, 5, GridSelection: true));
        yield return Case(new KernelCase(2, 1, 8300, 8700, 16, 8, DType.BF16, TensorLayout.Hnd, true, BudgetMethod.AdaKV, ScoreMode.MixKV, GqaReduction.Max, PoolingKind.Max, 3, GridSelection: true));
    }

    /// <summary>The case's data, token count, options and stored layout, drawn from <paramref name="rng"/> in that order.</summary>
    public (StoredLayer Stored, CompressionOptions Options, LayerPosition Layer, int Tokens) DrawLayer(TestRandom rng)
    {
        LayerData data = Data(rng, out int tokens);
        (CompressionOptions options, LayerPosition layer) = DrawOptions(rng, tokens);
        return (data.Store(Layout, DrawPadding(rng)), options, layer, tokens);
    }

    public LayerData Data(TestRandom rng, out int tokens)
    {
        tokens = rng.Int(MinTokens, MaxTokens);
        return LayerData.Random(rng, KvHeads, Groups, tokens, Dim, Window + rng.Int(0, 2), DType);
    }

    public (CompressionOptions Options, LayerPosition Layer) DrawOptions(TestRandom rng, int tokens)
    {
        int prefix = tokens - Window;
        // A grid-selection layer's uniform cap is at least half of P, so past 8192 - P (about 2000 at
        // these N) its two spans give more than FasterCandidates candidates.
        int budget = Uncompressed || prefix < 1 ? tokens + Window + rng.Int(1, 10)
            : GridSelection && Method != BudgetMethod.AdaKV ? Window + rng.Int(prefix / 2, prefix - 1)
            : Window + rng.Int(1, prefix);
        RedundancyTable? table = Offline
            ? new RedundancyTable(Enumerable.Range(0, Layers).Select(_ => (IReadOnlyList<double>)Enumerable.Range(0, KvHeads).Select(_ => rng.Uniform(0, 1)).ToArray()).ToArray())
            : null;
        var options = new CompressionOptions
        {
            Method = Method,
            Score = Score,
            Budget = budget,
            Window = Window,
            Gqa = Gqa,
            Pooling = Pooling,
            PoolingKernel = Kernel,
            FloorAlpha = rng.Pick([0.0, 0.2, 0.5, rng.Uniform(0, 0.95)]),
            Normalize = Normalize,
            Skip = Skip,
            Beta = rng.Pick([1, 2, 7, 20]),
            Redundancy = table,
        };
        return (options, new LayerPosition(Layer, Layers));
    }

    public Padding DrawPadding(TestRandom rng) => Padded ? new(rng.Int(1, 5), rng.Int(1, 7), rng.Int(0, 9), rng.Int(0, 5)) : Padding.None;

    /// <summary>
    /// Layers the run kernels' wgmma forms take (D = 128, G·W 113 to 128): every score mode that reads
    /// K's statistics from the run kernels' tiles (norms, k̂·μ), both 16-bit dtypes, padded rows (off
    /// 16 bytes: the 16-bit loads into the core layout), query heads straddling 16-row tiles.
    /// </summary>
    public static IEnumerable<TestCaseData> Warpgroup()
    {
        yield return Case(new KernelCase(2, 4, 300, 700, 128, 32, DType.BF16, TensorLayout.Hnd, false, BudgetMethod.SnapKV, ScoreMode.MixKV, GqaReduction.Mean, PoolingKind.Avg, 5));
        yield return Case(new KernelCase(1, 8, 300, 700, 128, 16, DType.F16, TensorLayout.Nhd, true, BudgetMethod.AdaKV, ScoreMode.KeyDiff, GqaReduction.Max, PoolingKind.Max, 3));
        yield return Case(new KernelCase(2, 3, 300, 600, 128, 40, DType.BF16, TensorLayout.Nhd, true, BudgetMethod.PyramidKV, ScoreMode.MixKVUniform, GqaReduction.Mean, PoolingKind.Avg, 7, Layers: 4, Layer: 1));
        yield return Case(new KernelCase(1, 5, 200, 500, 128, 23, DType.F16, TensorLayout.Hnd, false, BudgetMethod.SnapKV, ScoreMode.KNorm, GqaReduction.Mean, PoolingKind.Avg, 1));
    }

    private static TestCaseData Case(KernelCase c) => new TestCaseData(c).SetArgDisplayNames(c.ToString());
}
