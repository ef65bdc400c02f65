using MixKV.Options;
using MixKV.Tensors;
using NUnit.Framework;

namespace MixKV.Tests.Support;

/// <summary>
/// One shape/dtype/layout/mode/method combination of the random property tests. The list is fixed (so
/// test names are stable); the data and the budget options are drawn from the per-test seed.
/// </summary>
public sealed record PropertyCase(
    int KvHeads, int Groups, int Tokens, int Dim, int Window, DType DType, TensorLayout Layout,
    BudgetMethod Method, ScoreMode Score, GqaReduction Gqa, PoolingKind Pooling, int Kernel)
{
    public override string ToString() =>
        $"{Method.Name()}/{Score.Name()} Hkv{KvHeads} G{Groups} N{Tokens} D{Dim} W{Window} {DType.Name()} {Layout} gqa-{Gqa.Name()} pool-{Pooling.Name()}{Kernel}";

    /// <summary>Many small cases covering every method x mode twice, plus three large ones.</summary>
    public static IEnumerable<TestCaseData> All()
    {
        var pick = new Random(20251126); // fixed: the case list, not the data
        DType[] dtypes = [DType.F32, DType.F16, DType.BF16];
        int[] dims = [16, 24, 32, 64, 128];
        int index = 0;
        for (int round = 0; round < 2; round++)
        {
            foreach (BudgetMethod method in Enum.GetValues<BudgetMethod>())
            {
                foreach (ScoreMode score in Enum.GetValues<ScoreMode>())
                {
                    int dim = dims[pick.Next(dims.Length)];
                    int window = pick.Next(4, 33);
                    int tokens = dim == 128 ? pick.Next(40, 120) : pick.Next(Math.Max(40, window + 2), 400);
                    yield return Case(new PropertyCase(
                        pick.Next(1, 9), pick.Next(1, 5), tokens, dim, window, dtypes[index % 3], (TensorLayout)((index / 3) % 2),
                        method, score, (GqaReduction)(index % 2), (PoolingKind)((index / 2) % 2), 2 * pick.Next(0, 4) + 1));
                    index++;
                }
            }
        }

        yield return Case(new PropertyCase(2, 2, 4096, 64, 32, DType.F16, TensorLayout.Nhd, BudgetMethod.AdaKV, ScoreMode.MixKV, GqaReduction.Mean, PoolingKind.Avg, 5));
        yield return Case(new PropertyCase(1, 4, 2048, 128, 16, DType.BF16, TensorLayout.Hnd, BudgetMethod.SnapKV, ScoreMode.MixKV, GqaReduction.Max, PoolingKind.Max, 7));
        yield return Case(new PropertyCase(8, 1, 1024, 16, 8, DType.F32, TensorLayout.Nhd, BudgetMethod.PyramidKV, ScoreMode.KeyDiff, GqaReduction.Mean, PoolingKind.Avg, 3));
    }

    private static TestCaseData Case(PropertyCase c) => new TestCaseData(c).SetArgDisplayNames(c.ToString());

    public LayerData Data(TestRandom rng) => LayerData.Random(rng, KvHeads, Groups, Tokens, Dim, Window + rng.Int(0, 3), DType);

    /// <summary>Budget options drawn from the seed: mostly a cap in [1, P], sometimes a budget past N (no compression).</summary>
    public (CompressionOptions Options, LayerPosition Layer) DrawOptions(TestRandom rng)
    {
        int prefix = Tokens - Window;
        int budget = rng.Int(0, 7) == 0 ? Tokens + rng.Int(1, 10) : Window + rng.Int(1, prefix);
        int layers = rng.Int(1, 8);
        var layer = new LayerPosition(rng.Int(0, layers - 1), layers);
        RedundancyTable? table = null;
        if (Score == ScoreMode.MixKV && rng.Coin())
        {
            table = new RedundancyTable(Enumerable.Range(0, layers).Select(_ => (IReadOnlyList<double>)Enumerable.Range(0, KvHeads).Select(_ => rng.Uniform(0, 1)).ToArray()).ToArray());
        }

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
            Normalize = rng.Coin(),
            Skip = rng.Int(0, layers),
            Beta = rng.Pick([1, 2, 7, 20]),
            Redundancy = table,
        };
        return (options, layer);
    }

    public Padding DrawPadding(TestRandom rng) => new(rng.Int(1, 5), rng.Int(1, 7), rng.Int(0, 9), rng.Int(0, 5));
}
