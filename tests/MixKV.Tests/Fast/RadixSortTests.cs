using MixKV.Fast;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Fast;

/// <summary>
/// The AdaKV allocation's radix sort against a comparison sort: the same sequence bit for bit (the
/// budget sums depend on it), over mixed signs and magnitudes, repeated values, ±0, subnormals and
/// infinities, with digits that are the same for every value (the skipped passes) and reused scratch.
/// </summary>
[TestFixture]
public sealed class RadixSortTests
{
    /// <summary>Ascending by <see cref="double.CompareTo(double)"/>, -0.0 before +0.0 (which it calls equal).</summary>
    private static double[] Expected(double[] values)
    {
        double[] sorted = (double[])values.Clone();
        Array.Sort(sorted, (a, b) => a.CompareTo(b) is int c && c != 0 ? c : double.IsNegative(b).CompareTo(double.IsNegative(a)));
        return sorted;
    }

    private static long[] Bits(double[] values) => Array.ConvertAll(values, BitConverter.DoubleToInt64Bits);

    private static double Mixed(TestRandom rng) => rng.Int(0, 9) switch
    {
        0 => rng.Pick([0.0, -0.0, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon, -double.Epsilon, double.MaxValue, double.MinValue]),
        1 => rng.Gaussian() * 1e-310, // subnormal
        2 or 3 => rng.Gaussian() * Math.Pow(10, rng.Int(-300, 300)),
        _ => rng.Uniform(0, 1e-3), // attention-mass-like: positive, a narrow exponent range
    };

    [Test]
    public void SortsLikeAComparisonSort([Values(0, 1, 2, 3, 17, 1000, 5000)] int count)
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        double[] values = new double[count];
        for (int i = 0; i < count; i++)
        {
            // A value from earlier in the array now and then: runs of bit-identical values.
            values[i] = i > 0 && rng.Int(0, 7) == 0 ? values[rng.Int(0, i - 1)] : Mixed(rng);
        }

        double[] expected = Expected(values);
        RadixSort.Ascending(values);

        Assert.That(Bits(values), Is.EqualTo(Bits(expected)), rng.Say($"{count} values"));
    }

    /// <summary>Values in [0.5, 1): sign and exponent digits are the same for all, so those passes are skipped.</summary>
    [Test]
    public void ConstantDigitsAreSkippedWithoutChangingTheOrder()
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        double[] values = Enumerable.Range(0, rng.Int(500, 3000)).Select(_ => rng.Uniform(0.5, 1)).ToArray();
        double[] expected = Expected(values);

        RadixSort.Ascending(values);

        Assert.That(Bits(values), Is.EqualTo(Bits(expected)), rng.Say($"{values.Length} values in [0.5, 1)"));
    }

    /// <summary>All but one value share their high digits: that digit's pass must still run, or the odd one stays where it was.</summary>
    [Test]
    public void OneValueWithOtherHighDigitsStillMoves([Values(1e-9, 3.0, -0.75)] double odd)
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        double[] values = Enumerable.Range(0, rng.Int(50, 3000)).Select(_ => rng.Uniform(0.5, 1)).ToArray();
        values[rng.Int(1, values.Length - 1)] = odd;
        double[] expected = Expected(values);

        RadixSort.Ascending(values);

        Assert.That(Bits(values), Is.EqualTo(Bits(expected)), rng.Say($"{values.Length} values in [0.5, 1) and {odd}"));
    }

    /// <summary>The pipeline's form: caller-owned scratch, longer than the values and left dirty by the previous sort.</summary>
    [Test]
    public void ReusedScratchGivesTheSameSequence()
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        var keys = new ulong[4000];
        var other = new ulong[4000];
        var counts = new int[RadixSort.CountLength];
        for (int round = 0; round < 5; round++)
        {
            double[] values = Enumerable.Range(0, rng.Int(2, 4000)).Select(_ => Mixed(rng)).ToArray();
            double[] expected = Expected(values);

            RadixSort.Ascending(values, keys, other, counts);

            Assert.That(Bits(values), Is.EqualTo(Bits(expected)), rng.Say($"round {round}, {values.Length} values"));
        }
    }
}
