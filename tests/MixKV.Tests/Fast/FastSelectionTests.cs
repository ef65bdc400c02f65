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
            double[] scores = Enumerable.Range(0, p).Select(_ => (double)rng.Int(0, distinct - 1) * rng.Pick([1.0, 0.37])).ToArray();
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
}
