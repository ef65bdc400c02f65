using MixKV.Fast;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Fast;

/// <summary>The fast path's row primitives against double-precision sums.</summary>
[TestFixture]
public sealed unsafe class RowMathTests
{
    /// <summary>Sixteen dots at once land in row order, each within fp32 rounding of the exact dot.</summary>
    [Test]
    public void Dots128x16_AreEachRowsDot_InRowOrder([Values(128, 131, 256)] int stride)
    {
        var rng = TestRandom.ForCurrentTest();
        for (int round = 0; round < 20; round++)
        {
            float[] rows = Enumerable.Range(0, 16 * stride).Select(_ => (float)rng.Uniform(-2, 2)).ToArray();
            float[] v = Enumerable.Range(0, 128).Select(_ => (float)rng.Uniform(-1, 1)).ToArray();
            var dots = new float[16];
            Array.Fill(dots, float.NaN); // poisoned: all 16 must be written
            fixed (float* r = rows, pv = v, d = dots)
            {
                RowMath.Dots128x16(r, stride, pv, d);
            }

            for (int j = 0; j < 16; j++)
            {
                double exact = 0, scale = 0;
                for (int i = 0; i < 128; i++)
                {
                    exact += (double)rows[(j * stride) + i] * v[i];
                    scale += Math.Abs((double)rows[(j * stride) + i] * v[i]);
                }

                // fp32 sums of 128 products: within a few ulps of the sum of magnitudes.
                Assert.That(dots[j], Is.EqualTo(exact).Within(1e-6 * scale), rng.Say($"round {round}, row {j}, stride {stride}"));
            }
        }
    }

    /// <summary>The reduction of sixteen rows' lane sums lands in row order, each the row's sum to fp32 rounding.</summary>
    [Test]
    public void SumsOf16_AreEachRowsSum_InRowOrder()
    {
        var rng = TestRandom.ForCurrentTest();
        for (int round = 0; round < 20; round++)
        {
            float[] partials = Enumerable.Range(0, 16 * 16).Select(_ => (float)rng.Uniform(-3, 3)).ToArray();
            var sums = new float[16];
            Array.Fill(sums, float.NaN); // poisoned: all 16 must be written
            fixed (float* p = partials, s = sums)
            {
                RowMath.SumsOf16(p, s);
            }

            for (int j = 0; j < 16; j++)
            {
                double exact = 0, scale = 0;
                for (int lane = 0; lane < 16; lane++)
                {
                    exact += partials[(16 * j) + lane];
                    scale += Math.Abs(partials[(16 * j) + lane]);
                }

                Assert.That(sums[j], Is.EqualTo(exact).Within(1e-6 * scale), rng.Say($"round {round}, row {j}"));
            }
        }
    }
}
