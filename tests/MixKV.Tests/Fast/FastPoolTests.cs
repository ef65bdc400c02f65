using MixKV.Fast;
using MixKV.Options;
using MixKV.Tests.Support;
using NUnit.Framework;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Fast;

/// <summary>The fast path's vectorised pooling gives the reference's bits, at the clipped ends too.</summary>
[TestFixture]
public sealed class FastPoolTests
{
    /// <remarks>Kernels past the row (any odd k is valid, up to int.MaxValue) clip on both sides of every output.</remarks>
    [Test]
    public void Pool_HasTheReferencesBits([Values] PoolingKind pooling, [Values(1, 3, 5, 7, 9, 401, int.MaxValue - 8, int.MaxValue)] int kernel)
    {
        var rng = TestRandom.ForCurrentTest();
        for (int round = 0; round < 40; round++)
        {
            int length = rng.Int(1, 400);
            double[] values = Enumerable.Range(0, length).Select(_ => rng.Int(0, 9) switch
            {
                0 => 0.0,
                1 => -0.0,
                2 => rng.Uniform(0, 1) * 1e-30,
                _ => rng.Uniform(0, 1) * rng.Uniform(0, 1),
            }).ToArray();
            var expected = new double[length];
            var actual = new double[length];
            Array.Fill(actual, double.NaN); // poisoned: every output must be written
            Ref.WindowScores.Pool(values, pooling, kernel, expected);
            FastPool.Pool(values, pooling, kernel, actual);
            string say = rng.Say($"{pooling} kernel {kernel}, length {length}");
            for (int n = 0; n < length; n++)
            {
                Assert.That(BitConverter.DoubleToInt64Bits(actual[n]), Is.EqualTo(BitConverter.DoubleToInt64Bits(expected[n])),
                    $"{say}: [{n}] = {actual[n]:R}, expected {expected[n]:R}");
            }
        }
    }
}
