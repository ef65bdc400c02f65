using MixKV.Device;
using MixKV.Fast;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Fast;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Kernels;

/// <summary>
/// Shapes nobody listed: every other kernel and fast-path test runs a fixed list of shapes with fresh
/// data, so a head dim, group size or window outside that list is never tried. Here the shape itself is
/// drawn from the seed too (any D from 1 to 160 and some up to 512, G up to 16, W up to 70, N from 1;
/// every method, score, pooling, layout, padding and layer position), and the emulated
/// kernels (out of place, in place and as a captured graph) and the fast path are each held to the
/// reference (the graph to Enqueue) by the same checks as the listed cases.
/// A few draws per run, different every run; <c>MIXKV_RANDOM_SHAPES</c> sets how many (for a longer
/// search: the first ones found the heads of FlatScoreTests and the conditioning of ScoreTolerance).
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class RandomShapeTests : EmulatedKernelFixture
{
    public const string CountVariable = "MIXKV_RANDOM_SHAPES";

    private static int Draws => int.TryParse(Environment.GetEnvironmentVariable(CountVariable), out int n) && n > 0 ? n : 4;

    [Test]
    public void KernelsMatchReference() => ForEachDraw((c, rng, _) => PipelineKernelTests.CheckAgainstReference(backend, c, rng));

    [Test]
    public void FastPathMatchesReference() => ForEachDraw((c, rng, draw) =>
    {
        (StoredLayer stored, CompressionOptions options, LayerPosition layer, int tokens) = c.DrawLayer(rng);
        string say = rng.Say($"{draw} ({c}): N {tokens}, budget {options.Budget}, layer {layer}, alpha {options.FloorAlpha}, beta {options.Beta}");
        FastAgreement.AssertMatchesReference(new FastCompressor { ForcePortable = rng.Coin() }, stored, options, layer, say);
    });

    /// <summary>A captured layer launched over two contents writes what Enqueue writes (<see cref="LayerGraphCheck"/>).</summary>
    [Test]
    public void GraphLaunchesMatchEnqueue() => ForEachDraw((c, rng, draw) => LayerGraphCheck.LaunchesEqualEnqueue(backend, c, rng, draw));

    /// <summary>
    /// EnqueueInPlace over the case's layer in either cache layout equals the reference's in-place
    /// result byte for byte: positions, lengths, and the whole K and V buffers after the call. Dense
    /// where the caps are one per layer (or AdaKV's on one KV head), flattened otherwise or by coin.
    /// </summary>
    [Test]
    public void InPlaceKernelsMatchReferenceInPlace() => ForEachDraw((c, rng, draw) =>
    {
        LayerData data = c.Data(rng, out int tokens);
        (CompressionOptions options, LayerPosition layer) = c.DrawOptions(rng, tokens);
        DevicePlan plan = backend.Plan(data.QueryHeads, data.KvHeads, tokens, data.Dim, options, layer);
        TensorLayout layout = rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd;
        bool uniform = new Ref.ReferenceCompressor().Plan(data.Store(layout).Inputs, options, layer, withScores: false, out _).IsUniform;
        OutputLayout output = uniform && (!plan.DeviceCaps || data.KvHeads == 1) && rng.Coin() ? OutputLayout.Dense : OutputLayout.Flattened;
        string say = rng.Say($"{draw} ({c}): N {tokens}, {layout}, {output}, budget {options.Budget}, layer {layer}");
        InPlaceCheck.AssertMatchesReference(backend, data, layout, options, layer, output, say);
    });

    /// <summary>Draws <see cref="Draws"/> cases from one seed and checks each (its data drawn from the same generator).</summary>
    private static void ForEachDraw(Action<KernelCase, TestRandom, string> check)
    {
        TestRandom rng = KernelCheck.Seeded();
        for (int i = 0; i < Draws; i++)
        {
            KernelCase c = Draw(rng);
            TestContext.Progress.WriteLine($"draw {i}: {c}");
            check(c, rng, $"draw {i}");
        }
    }

    /// <summary>One shape and option set from the whole space the API accepts (kept small enough to emulate in seconds).</summary>
    internal static KernelCase Draw(TestRandom rng)
    {
        DType dtype = rng.Pick([DType.F32, DType.F16, DType.BF16]);
        int dim = rng.Int(0, 9) switch
        {
            0 => rng.Int(1, 8),
            1 => rng.Pick([192, 256, 300, 512]),
            _ => rng.Int(9, 160),
        };
        int groups = rng.Pick([1, 1, 2, 3, 4, 5, 7, 8, 16]);
        int window = rng.Int(0, 4) == 0 ? rng.Int(33, 70) : rng.Int(1, 32);
        int kvHeads = rng.Int(1, 4);
        int tokens = rng.Int(0, 9) switch
        {
            0 => rng.Int(1, window + 2),
            1 => rng.Int(1500, 2500),
            _ => rng.Int(window + 2, 700),
        };
        if (dim > 256)
        {
            tokens = Math.Min(tokens, 700); // past any D the kernels specialise; kept to seconds of emulation
        }

        var method = rng.Pick(Enum.GetValues<BudgetMethod>());
        var score = rng.Pick(Enum.GetValues<ScoreMode>());
        int layers = method == BudgetMethod.PyramidKV || rng.Coin() ? rng.Int(1, 6) : 1;
        return new KernelCase(
            kvHeads, groups, tokens, tokens, dim, window, dtype, rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd, rng.Coin(),
            method, score, rng.Coin() ? GqaReduction.Mean : GqaReduction.Max, rng.Coin() ? PoolingKind.Avg : PoolingKind.Max, 2 * rng.Int(0, 4) + 1,
            Layers: layers, Layer: rng.Int(0, layers - 1), Normalize: rng.Coin(), Skip: rng.Int(0, layers), Offline: score == ScoreMode.MixKV && rng.Coin(),
            Uncompressed: rng.Int(0, 7) == 0);
    }
}
