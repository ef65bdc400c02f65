using MixKV.Fast;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Fast;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Kernels;

/// <summary>
/// Options at the edges of what spec section 8 allows, which no other test sets: a budget, pooling
/// kernel, beta, skip or layer count of int.MaxValue, a window past N (the layer is kept whole) with
/// fewer query rows than the window, floor_alpha a hair below 1. Each is valid, so the reference, the
/// fast path and the emulated kernels must all run it and agree, by the checks every agreement test
/// uses. Found a fast pooling test that overflowed at k near int.MaxValue, and the device refusing
/// the short queries of a layer kept whole, which the host takes.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ExtremeOptionsTests : EmulatedKernelFixture
{
    private const int Draws = 10;

    [Test]
    public void OptionsAtTheirLimitsRunAndAgreeOnEveryBackend()
    {
        TestRandom rng = KernelCheck.Seeded();
        for (int draw = 0; draw < Draws; draw++)
        {
            (StoredLayer stored, CompressionOptions options, LayerPosition layer, string shape) = Draw(rng);
            string say = rng.Say($"draw {draw}: {shape}, {options}, layer {layer}");
            TestContext.Progress.WriteLine(say);
            FastAgreement.AssertMatchesReference(new FastCompressor(), stored, options, layer, say);
            PipelineKernelTests.CheckAgainstReference(backend, stored, options, layer, say);
        }
    }

    [Test]
    public void ALayerShorterThanItsWindowNeedsNoWindowOfQueries([Values] DType dtype)
    {
        // N < W keeps the layer whole and reads no query: fewer than W rows (even fewer than N) are fine.
        TestRandom rng = KernelCheck.Seeded();
        int tokens = rng.Int(2, 30), window = tokens + rng.Int(1, 40);
        LayerData data = LayerData.Random(rng, rng.Int(1, 3), rng.Int(1, 3), tokens, rng.Int(1, 24), rng.Int(1, tokens - 1), dtype);
        var options = new CompressionOptions { Window = window, Budget = window + rng.Int(1, 20) };
        string say = rng.Say($"N {tokens}, W {window}, Wq {data.Queries[0].Length}, {dtype}");

        FastAgreement.AssertMatchesReference(new FastCompressor(), data.Store(TensorLayout.Nhd), options, LayerPosition.Single, say);
        PipelineKernelTests.CheckAgainstReference(backend, data.Store(TensorLayout.Hnd), options, LayerPosition.Single, say);
    }

    private static (StoredLayer Stored, CompressionOptions Options, LayerPosition Layer, string Shape) Draw(TestRandom rng)
    {
        DType dtype = rng.Pick([DType.F32, DType.F16, DType.BF16]);
        int heads = rng.Int(1, 3), groups = rng.Int(1, 3), tokens = rng.Int(1, 80), dim = rng.Int(1, 24);
        int window = rng.Pick([1, 2, rng.Int(1, 40), 100, int.MaxValue - 1]);
        int budget = window == int.MaxValue - 1 ? int.MaxValue : rng.Pick([window + 1, window + rng.Int(1, 50), int.MaxValue]);
        // Wq >= W where the window is read (N >= W); anything from one row where the layer is kept whole.
        int queryRows = tokens >= window ? window + rng.Int(0, 3) : rng.Int(1, Math.Min(window, 120));
        int layers = rng.Pick([1, 3, 1000, int.MaxValue]);
        var layer = new LayerPosition(rng.Pick([0, layers - 1, rng.Int(0, Math.Min(layers, 1000) - 1)]), layers);
        var options = new CompressionOptions
        {
            Method = rng.Pick([BudgetMethod.SnapKV, BudgetMethod.PyramidKV, BudgetMethod.AdaKV]),
            Score = rng.Pick([ScoreMode.Attention, ScoreMode.MixKV, ScoreMode.MixKVUniform, ScoreMode.KeyDiff, ScoreMode.VNorm, ScoreMode.KNorm]),
            Window = window,
            Budget = budget,
            PoolingKernel = rng.Pick([1, 3, 7, (2 * rng.Int(0, 100)) + 1, 1_000_001, int.MaxValue]),
            Pooling = rng.Pick([PoolingKind.Avg, PoolingKind.Max]),
            Gqa = rng.Pick([GqaReduction.Mean, GqaReduction.Max]),
            Normalize = rng.Coin(),
            Beta = rng.Pick([1, 2, 20, int.MaxValue]),
            Skip = rng.Pick([0, 1, rng.Int(0, 100), int.MaxValue]),
            FloorAlpha = rng.Pick([0.0, 0.5, 0.999999, 1 - 1e-15]),
        };
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, queryRows, dtype);
        TensorLayout layout = rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd;
        return (data.Store(layout), options, layer, $"{dtype} {layout} Hkv {heads} G {groups} N {tokens} D {dim} Wq {queryRows}");
    }
}
