using MixKV.Options;
using MixKV.Reference;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Reference;

/// <summary>Spec section 5 by hand: every budget rule, every no-compression rule, the clamp.</summary>
[TestFixture]
public sealed class BudgetTests
{
    private static double[][] RandomAttention(TestRandom rng, int heads, int prefix) =>
        Enumerable.Range(0, heads).Select(_ => Enumerable.Range(0, prefix).Select(_ => rng.Uniform(0.01, 1)).ToArray()).ToArray();

    [Test]
    public void SnapKV_UniformCapIsBudgetMinusWindow()
    {
        // budget 10, W 4 -> cap 6 for all heads (N = 20, P = 16).
        var rng = TestRandom.ForCurrentTest();
        var options = new CompressionOptions { Method = BudgetMethod.SnapKV, Budget = 10, Window = 4 };
        Assert.That(Budget.IsUncompressed(options, LayerPosition.Single, 20), Is.False);
        Assert.That(Budget.Caps(options, LayerPosition.Single, RandomAttention(rng, 3, 16), 3, 20), Is.EqualTo(new[] { 6, 6, 6 }), rng.Tag);
    }

    [TestCase(3, true, TestName = "N < W")]
    [TestCase(9, true, TestName = "N < budget")]
    [TestCase(10, false, TestName = "N == budget compresses")]
    public void SnapKV_NoCompressionRule(int tokens, bool uncompressed)
    {
        var options = new CompressionOptions { Method = BudgetMethod.SnapKV, Budget = 10, Window = 4 };
        Assert.That(Budget.IsUncompressed(options, LayerPosition.Single, tokens), Is.EqualTo(uncompressed));
    }

    // base = 40 - 8 = 32, lo = 32 // 20 = 1, hi = 64 - 1 = 63.
    // P = 192 (N = 200): hi < P; L = 4: steps = (63 - 1) // 3 = 62 // 3 = 20 (not 20.67): caps 63, 43, 23, 3.
    [TestCase(200, 0, 4, 63)]
    [TestCase(200, 1, 4, 43)]
    [TestCase(200, 2, 4, 23)]
    [TestCase(200, 3, 4, 3)]
    // L = 1: steps = 0, cap = hi = 63.
    [TestCase(200, 0, 1, 63)]
    // P = 42 (N = 50): hi = 63 >= 42 -> hi = 42, lo = 64 - 42 = 22; steps = 20 // 3 = 6: caps 42, 36, 30, 24.
    [TestCase(50, 0, 4, 42)]
    [TestCase(50, 1, 4, 36)]
    [TestCase(50, 2, 4, 30)]
    [TestCase(50, 3, 4, 24)]
    // P = 63 exactly (N = 71): hi >= P branch at equality: hi = 63, lo = 1, same as above with L = 2: steps 62 -> 63, 1.
    [TestCase(71, 1, 2, 1)]
    public void PyramidKV_CapPerLayer(int tokens, int index, int layers, int expectedCap)
    {
        var rng = TestRandom.ForCurrentTest();
        var options = new CompressionOptions { Method = BudgetMethod.PyramidKV, Budget = 40, Window = 8, Beta = 20 };
        var layer = new LayerPosition(index, layers);
        Assert.That(Budget.IsUncompressed(options, layer, tokens), Is.False);
        Assert.That(Budget.Caps(options, layer, RandomAttention(rng, 2, tokens - 8), 2, tokens), Is.EqualTo(new[] { expectedCap, expectedCap }), rng.Tag);
    }

    [Test]
    public void PyramidKV_FloorDivisionOfANegativeStep_AndItsNoCompressionRule()
    {
        // base 32, N = 28, W = 8, P = 20: hi = 63 >= 20 -> hi = 20, lo = 64 - 20 = 44.
        // L = 6: steps = (20 - 44) // 5 = -24 // 5 = -5 (Python floors; C# truncation gives -4).
        // l = 0: cap 20 -> N < 28? no: compressed, cap 20 = P.
        // l = 1: cap 20 + 5 = 25 -> N < 33: uncompressed. Caps() still clamps 25 to P = 20.
        var options = new CompressionOptions { Method = BudgetMethod.PyramidKV, Budget = 40, Window = 8, Beta = 20 };
        Assert.That(Budget.PyramidCapUnclamped(40, 8, 20, 20, new LayerPosition(1, 6)), Is.EqualTo(25));
        Assert.That(Budget.IsUncompressed(options, new LayerPosition(0, 6), 28), Is.False);
        Assert.That(Budget.IsUncompressed(options, new LayerPosition(1, 6), 28), Is.True);
        var rng = TestRandom.ForCurrentTest();
        Assert.That(Budget.Caps(options, new LayerPosition(1, 6), RandomAttention(rng, 2, 20), 2, 28), Is.EqualTo(new[] { 20, 20 }), rng.Tag);
    }

    [Test]
    public void PyramidKV_BetaFloors()
    {
        // base = 37 - 5 = 32, beta 3: lo = 32 // 3 = 10, hi = 54; P = 100; L = 3: steps = 44 // 2 = 22: caps 54, 32, 10.
        Assert.That(Enumerable.Range(0, 3).Select(l => Budget.PyramidCapUnclamped(37, 5, 100, 3, new LayerPosition(l, 3))), Is.EqualTo(new[] { 54, 32, 10 }));
    }

    [Test]
    public void Caps_AreClampedToThePrefix()
    {
        // SnapKV asked (outside its contract) for N = 8 < budget 10: cap 6 > P = 4 -> 4.
        var rng = TestRandom.ForCurrentTest();
        var options = new CompressionOptions { Method = BudgetMethod.SnapKV, Budget = 10, Window = 4 };
        Assert.That(Budget.Caps(options, LayerPosition.Single, RandomAttention(rng, 2, 4), 2, 8), Is.EqualTo(new[] { 4, 4 }), rng.Tag);
    }

    [TestCase(10, true, TestName = "AdaKV budget - W = 7 > P = 6")]
    [TestCase(11, false, TestName = "AdaKV budget - W = 7 = P compresses")]
    [TestCase(3, true, TestName = "AdaKV N < W")]
    public void AdaKV_NoCompressionRule(int tokens, bool uncompressed)
    {
        var options = new CompressionOptions { Method = BudgetMethod.AdaKV, Budget = 11, Window = 4 };
        Assert.That(Budget.IsUncompressed(options, new LayerPosition(0, 2), tokens), Is.EqualTo(uncompressed));
    }

    // Head 0 flat, head 1 concentrated; base 3, P = 6.
    //   h0 = .21 .19 .20 .18 .22 .20  sum 1.20, sorted .22 .21 .20 .20 .19 .18, top3 .63, factor .525
    //        scaled .1155 .11025 .105 .105 ...
    //   h1 = .50 .01 .19 .02 .30 .03  sum 1.05, sorted .50 .30 .19 .03 .02 .01, top3 .99, factor .942857
    //        scaled .4714 .2829 .1791 ...
    // Without normalize the 6 largest are .50 .30 (h1) .22 .21 .20 .20 (h0): counts 4, 2.
    // With normalize: .4714 .2829 .1791 (h1) .1155 .11025 .105 (h0): counts 3, 3.
    private static readonly double[][] FlatAndPeaked =
    [
        [0.21, 0.19, 0.20, 0.18, 0.22, 0.20],
        [0.50, 0.01, 0.19, 0.02, 0.30, 0.03],
    ];

    [Test]
    public void AdaKV_NormalizeOnAndOff()
    {
        // floor_alpha 0: cap = count.
        Assert.That(Budget.AdaKVCaps(FlatAndPeaked, 3, 0.0, normalize: false), Is.EqualTo(new[] { 4, 2 }));
        Assert.That(Budget.AdaKVCaps(FlatAndPeaked, 3, 0.0, normalize: true), Is.EqualTo(new[] { 3, 3 }));
    }

    /// <summary>The normalisation factor itself: the top `base` of the sorted scores over all of them (h1 above: .99 / 1.05).</summary>
    [Test]
    public void AdaKV_TopShareIsTheTopBaseOverAll()
    {
        double[] sorted = [0.50, 0.30, 0.19, 0.03, 0.02, 0.01];
        Assert.That(Budget.TopShare(sorted, 3), Is.EqualTo(0.99 / 1.05).Within(1e-15));
        Assert.That(Budget.TopShare(sorted, 1), Is.EqualTo(0.50 / 1.05).Within(1e-15));
        Assert.That(Budget.TopShare(sorted, 0), Is.Zero, "base 0 keeps nothing");
        Assert.That(Budget.TopShare(sorted, 6), Is.EqualTo(1.0), "base = P: everything");
        Assert.That(Budget.TopShare(sorted, 9), Is.EqualTo(1.0), "base past P: everything");
        Assert.That(Budget.TopShare([0.0, 0.0], 1), Is.EqualTo(1.0), "no mass: nothing to rescale");
    }

    [Test]
    public void AdaKV_FloorAlpha()
    {
        // alpha 0.2, base 3: floor(0.6) = 0; counts 4, 2 -> 3.2 -> 3, 1.6 -> 2.
        Assert.That(Budget.AdaKVCaps(FlatAndPeaked, 3, 0.2, normalize: false), Is.EqualTo(new[] { 3, 2 }));
        // alpha 0.4, base 7 on a 10-token prefix: floor(2.8) = 2 (rounding would give 3).
        // Counts: h1's values exceed all of h0's, so h1 takes all 10, h0 4 of the 14 slots:
        //   h0: 4 * 0.6 + 2 = 4.4 -> 4;  h1: 10 * 0.6 + 2 = 8.
        double[][] a =
        [
            [0.10, 0.05, 0.30, 0.20, 0.01, 0.02, 0.03, 0.04, 0.06, 0.07],
            [0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99, 0.90],
        ];
        Assert.That(Budget.AdaKVCaps(a, 7, 0.4, normalize: false), Is.EqualTo(new[] { 4, 8 }));
    }

    [Test]
    public void AdaKV_RoundsHalfToEven()
    {
        // alpha 0.5 makes count * 0.5 exact; base 3: floor(1.5) = 1.
        // Counts 5, 3, 1 (the 9 largest: h2's .95, h0's five values >= .5, h1's .85 .75 .65):
        //   5 -> 2.5 + 1 = 3.5 -> 4;  3 -> 1.5 + 1 = 2.5 -> 2 (away from zero: 3);  1 -> 0.5 + 1 = 1.5 -> 2.
        double[][] a =
        [
            [0.60, 0.01, 0.90, 0.50, 0.80, 0.70],
            [0.02, 0.75, 0.03, 0.85, 0.04, 0.65],
            [0.05, 0.06, 0.95, 0.07, 0.08, 0.09],
        ];
        Assert.That(Budget.AdaKVCaps(a, 3, 0.5, normalize: false), Is.EqualTo(new[] { 4, 2, 2 }));
    }

    [Test]
    public void AdaKV_TieAcrossHeads_LowerHeadWins()
    {
        // base 2, 4 slots: .6 (h1), .5 (h0), .4 (h1), then .3 in both heads for the last slot -> head 0.
        double[][] a =
        [
            [0.5, 0.3, 0.1, 0.02],
            [0.3, 0.6, 0.01, 0.4],
        ];
        Assert.That(Budget.AdaKVCaps(a, 2, 0.0, normalize: false), Is.EqualTo(new[] { 2, 2 }));

        // Swap the heads: now head 0 holds .6 .4 .3 and takes the tie: counts 3, 1.
        Assert.That(Budget.AdaKVCaps([a[1], a[0]], 2, 0.0, normalize: false), Is.EqualTo(new[] { 3, 1 }));
    }

    [Test]
    public void AdaKV_SkipLayersUseTheUniformCap()
    {
        // The round-half-even data, skip = 2 of 4 layers: layers 0, 1 -> base 3 each; layer 2 -> 4, 2, 2.
        double[][] a =
        [
            [0.60, 0.01, 0.90, 0.50, 0.80, 0.70],
            [0.02, 0.75, 0.03, 0.85, 0.04, 0.65],
            [0.05, 0.06, 0.95, 0.07, 0.08, 0.09],
        ];
        var options = new CompressionOptions { Method = BudgetMethod.AdaKV, Budget = 5, Window = 2, FloorAlpha = 0.5, Normalize = false, Skip = 2 };
        Assert.That(Budget.Caps(options, new LayerPosition(1, 4), a, 3, 8), Is.EqualTo(new[] { 3, 3, 3 }));
        Assert.That(Budget.Caps(options, new LayerPosition(2, 4), a, 3, 8), Is.EqualTo(new[] { 4, 2, 2 }));
    }

    [Test]
    public void FloorDiv_IsPythonFloor()
    {
        Assert.That(Budget.FloorDiv(7, 2), Is.EqualTo(3));
        Assert.That(Budget.FloorDiv(-7, 2), Is.EqualTo(-4));
        Assert.That(Budget.FloorDiv(-6, 2), Is.EqualTo(-3));
        Assert.That(Budget.FloorDiv(7, -2), Is.EqualTo(-4));
    }
}
