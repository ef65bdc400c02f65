using MixKV.Options;
using MixKV.Reference;
using NUnit.Framework;

namespace MixKV.Tests.Reference;

/// <summary>Spec sections 3 and 4 by hand: normalisations, fit(), and the six score modes.</summary>
[TestFixture]
public sealed class MixTests
{
    private const double Tol = 1e-6; // the 1e-8 epsilons perturb the hand values by < 1e-7

    // Shared hand case, P = 3.
    //   A         = 0.1, 0.3, 0.2          mean(A) = 0.2
    //   ||V||     = 3, 5, 4    min-max -> 0, 1, 0.5      mean 0.5, fit x 0.2/0.5 = 0.4 -> 0, 0.4, 0.2
    //   -||K||    = -3,-5,-4   min-max -> 1, 0, 0.5      fit -> 0.4, 0, 0.2
    //   s         = 0.4, 0.6, 0.5;  d = -s = -0.4,-0.6,-0.5; (d - min)/(0.2 + 1e-8) -> 1, 0, 0.5; fit -> 0.4, 0, 0.2
    private static readonly double[] A = [0.1, 0.3, 0.2];
    private static readonly double[] ValueNorms = [3, 5, 4];
    private static readonly double[] KeyNorms = [3, 5, 4];
    private static readonly double[] Similarity = [0.4, 0.6, 0.5];

    private static IEnumerable<TestCaseData> Modes()
    {
        yield return new TestCaseData(ScoreMode.Attention, 0.25, new[] { 0.1, 0.3, 0.2 }).SetArgDisplayNames("attention");
        // fit(diversity) = 0.4, 0, 0.2
        yield return new TestCaseData(ScoreMode.KeyDiff, 0.25, new[] { 0.4, 0.0, 0.2 }).SetArgDisplayNames("keydiff");
        // A + fit(vnorm) = 0.1+0, 0.3+0.4, 0.2+0.2
        yield return new TestCaseData(ScoreMode.VNorm, 0.25, new[] { 0.1, 0.7, 0.4 }).SetArgDisplayNames("vnorm");
        // A + fit(knorm) = 0.1+0.4, 0.3+0, 0.2+0.2  (the minus sign: the smallest key scores highest)
        yield return new TestCaseData(ScoreMode.KNorm, 0.25, new[] { 0.5, 0.3, 0.4 }).SetArgDisplayNames("knorm");
        // r = 0.25: 0.25 (0.4, 0, 0.2) + 0.75 (0.1, 0.7, 0.4) = (0.1 + 0.075, 0.525, 0.05 + 0.3)
        yield return new TestCaseData(ScoreMode.MixKV, 0.25, new[] { 0.175, 0.525, 0.35 }).SetArgDisplayNames("mixkv r=0.25");
        // r = 1: pure diversity; r = 0: pure A + fit(vnorm).
        yield return new TestCaseData(ScoreMode.MixKV, 1.0, new[] { 0.4, 0.0, 0.2 }).SetArgDisplayNames("mixkv r=1");
        yield return new TestCaseData(ScoreMode.MixKV, 0.0, new[] { 0.1, 0.7, 0.4 }).SetArgDisplayNames("mixkv r=0");
        // 0.33 ((0.4, 0, 0.2) + (0.1, 0.3, 0.2) + (0, 0.4, 0.2)) = 0.33 (0.5, 0.7, 0.6); r is ignored.
        yield return new TestCaseData(ScoreMode.MixKVUniform, 0.9, new[] { 0.165, 0.231, 0.198 }).SetArgDisplayNames("mixkv-uniform");
    }

    [TestCaseSource(nameof(Modes))]
    public void ScoreMode_ByHand(ScoreMode mode, double redundancy, double[] expected)
    {
        double[] s = Mix.ComputeHead(mode, A, ValueNorms, KeyNorms, Similarity, redundancy);
        Assert.That(s, Is.EqualTo(expected).Within(Tol));
    }

    [Test]
    public void NormScore_MinMax()
    {
        Assert.That(Mix.NormScore([3, 5, 4, 7], negate: false), Is.EqualTo(new[] { 0.0, 0.5, 0.25, 1.0 }).Within(1e-15));
        // Negated: -3,-5,-4,-7 -> min -7, max -3, range 4: (4, 2, 3, 0)/4.
        Assert.That(Mix.NormScore([3, 5, 4, 7], negate: true), Is.EqualTo(new[] { 1.0, 0.5, 0.75, 0.0 }).Within(1e-15));
    }

    [Test]
    public void NormScore_AllEqualNorms_GiveZeroNotNaN([Values] bool negate)
    {
        // Deviation of section 3: max == min gives 0 everywhere instead of 0/0.
        Assert.That(Mix.NormScore([2.5, 2.5, 2.5], negate), Is.EqualTo(new[] { 0.0, 0.0, 0.0 }));
    }

    [Test]
    public void Diversity_RangeEpsilonIsInEveryRange()
    {
        // s = 0.5, 0.5 + 2e-4 (past the rounding spread of 1e-4): d = -0.5, -0.5 - 2e-4;
        // (d - min)/(2e-4 + 1e-8) = 1 - 5e-5 for token 0 (it would be 1 without the epsilon). Ranges
        // where the epsilon would decide more (~1e-8) are rounding: Diversity_SpreadWithinRounding_GivesZero.
        Assert.That(Mix.Diversity([0.5, 0.5 + 2e-4])[0], Is.EqualTo(2e-4 / (2e-4 + 1e-8)).Within(1e-9));
        Assert.That(Mix.Diversity([0.5, 0.5 + 2e-4])[0], Is.LessThan(1 - 4e-5));
        // All equal: (0)/(0 + 1e-8) = 0, no NaN.
        Assert.That(Mix.Diversity([0.3, 0.3]), Is.EqualTo(new[] { 0.0, 0.0 }));
        // Ordinary range 0.2: -0.4 - (-0.6) = 0.2 -> 0.2/(0.2 + 1e-8).
        Assert.That(Mix.Diversity([0.4, 0.6])[0], Is.EqualTo(0.2 / (0.2 + 1e-8)).Within(1e-15));
    }

    /// <summary>
    /// Our deviation (SpecConstants.RoundingSpread): a range within 1e-4 of the values' scale (1 for
    /// k̂·μ, a unit key's length; the magnitude for norms) is rounding, and normalises to 0 for every
    /// token; just past it the spec's formulas hold.
    /// </summary>
    [TestCase(0.7)]
    [TestCase(-0.3)]
    [TestCase(3e-9)]
    public void Diversity_SpreadWithinRounding_GivesZero(double s0)
    {
        Assert.That(Mix.Diversity([s0, s0 + 0.9e-4, s0 + 0.4e-4]), Is.EqualTo(new[] { 0.0, 0.0, 0.0 }), "spread 0.9e-4");
        const double range = 1.1e-4;
        // d = -s: the smallest s is the largest d.
        Assert.That(Mix.Diversity([s0, s0 + range]), Is.EqualTo(new[] { range / (range + 1e-8), 0.0 }).Within(1e-9), "spread 1.1e-4");
    }

    /// <summary>Unit keys that cancel (μ ≈ 0): k̂·μ = ±3e-9 is rounding of 0, not a spread twice its size.</summary>
    [Test]
    public void Diversity_OfKeysThatCancel_GivesZero()
    {
        Assert.That(Mix.Diversity([-3e-9, 3e-9, 3e-9, -3e-9]), Is.EqualTo(new[] { 0.0, 0.0, 0.0, 0.0 }));
        Assert.That(Mix.Diversity([0.0, 0.0, 0.0]), Is.EqualTo(new[] { 0.0, 0.0, 0.0 }), "all zero");
    }

    [Test]
    public void NormScore_SpreadWithinRounding_GivesZero([Values] bool negate)
    {
        Assert.That(Mix.NormScore([2.5, 2.5 * (1 + 0.9e-4), 2.5 * (1 + 0.2e-4)], negate), Is.EqualTo(new[] { 0.0, 0.0, 0.0 }), "spread 0.9e-4");
        double[] spread = Mix.NormScore([2.5, 2.5 * (1 + 1.1e-4)], negate);
        Assert.That(spread, Is.EqualTo(negate ? new[] { 1.0, 0.0 } : new[] { 0.0, 1.0 }).Within(1e-9), "spread 1.1e-4");
    }

    [Test]
    public void Fit_RescalesToTheMeanOfA()
    {
        // s = 1, 2, 3 (mean 2), mean(A) = 4: factor 4/(2 + 1e-8).
        double factor = 4 / (2 + 1e-8);
        Assert.That(Mix.Fit([1, 2, 3], 4), Is.EqualTo(new[] { factor, 2 * factor, 3 * factor }).Within(1e-15));
        // mean(s) = 0: the epsilon alone divides: factor 0.5/1e-8 = 5e7.
        Assert.That(Mix.Fit([-1, 1], 0.5), Is.EqualTo(new[] { -5e7, 5e7 }).Within(1e-3));
    }

    [Test]
    public void Compute_UsesEachHeadsOwnRedundancy()
    {
        // Two heads with the hand data, r = 0 and r = 1: head 0 = A + fit(vnorm), head 1 = fit(diversity).
        var stats = new HeadStatistics([ValueNorms, ValueNorms], [KeyNorms, KeyNorms], [Similarity, Similarity], [0.3, 0.6]);
        double[][] s = Mix.Compute(ScoreMode.MixKV, [A, A], stats, [0.0, 1.0]);
        Assert.That(s[0], Is.EqualTo(new[] { 0.1, 0.7, 0.4 }).Within(Tol));
        Assert.That(s[1], Is.EqualTo(new[] { 0.4, 0.0, 0.2 }).Within(Tol));
    }
}
