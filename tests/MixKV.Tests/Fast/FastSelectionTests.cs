using MixKV.Fast;
using MixKV.Tests.Support;
using NUnit.Framework;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Fast;

/// <summary>The O(P) selection and the merged AdaKV allocation give exactly the reference's answers, ties included.</summary>
[TestFixture]
public sealed class FastSelectionTests
{
    [Test]
    public void TopKSelect_EqualsTheReferenceSort_WithManyTies([Values(1, 2, 7, 1000)] int distinct)
    {
        var rng = TestRandom.ForCurrentTest();
        for (int round = 0; round < 50; round++)
        {
            int p = rng.Int(1, 3000);
            // The factor -1 also makes -0.0, which ties with +0.0 (spec section 6 ranks values, not bits).
            double[] scores = Enumerable.Range(0, p).Select(_ => (double)rng.Int(0, distinct - 1) * rng.Pick([1.0, 0.37, -1.0])).ToArray();
            int cap = rng.Pick([0, 1, p, rng.Int(0, p)]);
            var got = new int[cap];
            TopKSelect.Select(scores, cap, got);
            Assert.That(got, Is.EqualTo(Ref.Select.TopPrefix(scores, cap)), rng.Say($"P {p}, cap {cap}, distinct {distinct}"));
        }
    }

    [Test]
    public void TopKSelect_EqualsTheReferenceSort_WithNaNAndInfinities()
    {
        // NaN (CheckFinite off) ranks below everything, -inf shares its place in position order.
        var rng = TestRandom.ForCurrentTest();
        double[] specials = [double.NaN, double.NegativeInfinity, double.PositiveInfinity];
        for (int round = 0; round < 100; round++)
        {
            int p = rng.Int(1, 5000);
            double share = rng.Pick([0.01, 0.3, 0.95]);
            double[] scores = Enumerable.Range(0, p).Select(_ => rng.Uniform(0, 1) < share ? rng.Pick(specials) : rng.Int(0, 20) / 8.0).ToArray();
            int cap = rng.Pick([1, p, rng.Int(0, p), Math.Min(p, 224)]);
            var got = new int[cap];
            TopKSelect.Select(scores, cap, got);
            Assert.That(got, Is.EqualTo(Ref.Select.TopPrefix(scores, cap)), rng.Say($"P {p}, cap {cap}, special share {share}"));
        }
    }

    [Test]
    public void AdaKVCaps_EqualTheReferenceAllocation([Values] bool normalize, [Values(true, false)] bool ties)
    {
        var rng = TestRandom.ForCurrentTest();
        for (int round = 0; round < 30; round++)
        {
            int heads = rng.Int(1, 8), p = rng.Int(1, 400), baseCap = rng.Int(1, p);
            double[][] attention = Enumerable.Range(0, heads)
                .Select(_ => Enumerable.Range(0, p).Select(_ => ties ? rng.Int(0, 5) / 64.0 : rng.Uniform(0, 1) * rng.Uniform(0, 1)).ToArray())
                .ToArray();
            double alpha = rng.Pick([0.0, 0.2, 0.5, rng.Uniform(0, 0.95)]);
            Assert.That(FastBudget.AdaKVCaps(attention, baseCap, alpha, normalize, workers: 2), Is.EqualTo(Ref.Budget.AdaKVCaps(attention, baseCap, alpha, normalize)),
                rng.Say($"Hkv {heads}, P {p}, base {baseCap}, alpha {alpha}"));
        }
    }

    public enum Spread
    {
        Random,
        FewValues,
        SpikesOffSample,
        SpikesOnSample,
    }

    /// <summary>
    /// Heads longer than the allocation can take from one (P > Hkv·base): only their largest values
    /// are sorted, from a sampled bound. Values that hide from the sample (spikes off the sampled
    /// positions), a sample that sees only the spikes (too few kept: every value is taken), and heavy
    /// ties at the bound must all give the reference's caps; two heads are equal, so cross-head ties exist.
    /// </summary>
    [Test]
    public void AdaKVCaps_OfLongHeads_EqualTheReferenceAllocation([Values] Spread spread, [Values] bool normalize)
    {
        var rng = TestRandom.ForCurrentTest();
        for (int round = 0; round < 6; round++)
        {
            int heads = rng.Int(2, 6), p = rng.Int(2000, 6000), baseCap = rng.Int(8, Math.Max(9, p / (heads * 2)));
            double[][] attention = Enumerable.Range(0, heads).Select(_ => Enumerable.Range(0, p).Select(n => spread switch
            {
                Spread.FewValues => rng.Int(0, 3) / 16.0,
                Spread.SpikesOffSample => n % FastBudget.SampleStride == 7 ? 0.5 + rng.Uniform(0, 0.5) : rng.Uniform(0, 1e-3),
                Spread.SpikesOnSample => n % FastBudget.SampleStride == 0 ? 1.0 : rng.Uniform(0, 1e-3),
                _ => rng.Uniform(0, 1) * rng.Uniform(0, 1),
            }).ToArray()).ToArray();
            attention[heads - 1] = (double[])attention[0].Clone();
            double alpha = rng.Pick([0.0, 0.2, rng.Uniform(0, 0.95)]);
            Assert.That(FastBudget.AdaKVCaps(attention, baseCap, alpha, normalize, workers: 2), Is.EqualTo(Ref.Budget.AdaKVCaps(attention, baseCap, alpha, normalize)),
                rng.Say($"{spread}: Hkv {heads}, P {p}, base {baseCap}, alpha {alpha}"));
        }
    }
}
