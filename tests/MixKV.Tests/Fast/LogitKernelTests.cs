using System.Numerics;
using MixKV.Fast;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Fast;

/// <summary>
/// The classical chunk GEMM in each of its forms against double-precision dots of the centred keys:
/// the AVX-512 64×6 and 16×6 blocks (wide), the register-blocked Vector&lt;T&gt; kernel that machines
/// without AVX-512 run (<see cref="PortableLogitKernel"/>), and the scalar loop left for R that is
/// not a multiple of two vectors. Every tile element written (the tile is poisoned), each within
/// fp32 rounding of the exact dot, short six-key blocks stored only for their real keys, and the
/// row max folded into what the caller passed. Vector512 falls back to software where the CPU lacks
/// AVX-512, so the wide form is checked on any machine.
/// </summary>
[TestFixture]
public sealed unsafe class LogitKernelTests
{
    /// <summary>Each element within 1e-6 of Σ_d |q_d (k_d - c_d)|: D fused fp32 steps, a few ulps of that scale.</summary>
    private const double RelativeToMagnitude = 1e-6;

    public enum Form
    {
        Wide,
        Portable,
        Scalar,
    }

    [Test]
    public void Tile_IsTheCentredDots(
        [Values] Form form, [Values(32, 128)] int dim, [Values(1, 5, 6, 37, 252)] int keyCount, [Values(false, true)] bool largeMean)
    {
        var rng = TestRandom.ForCurrentTest();
        int rows = form switch
        {
            Form.Wide => rng.Pick([16, 80, 128]), // 64-row blocks, the 16-row remainder, or both
            Form.Portable => 2 * Vector<float>.Count * rng.Int(1, 8),
            _ => (2 * Vector<float>.Count * rng.Int(0, 4)) + rng.Int(1, (2 * Vector<float>.Count) - 1),
        };
        bool wide = form == Form.Wide;
        Assert.That(wide || PortableLogitKernel.Applies(rows) == (form == Form.Portable), $"R {rows} reaches the {form} form");
        int stride = dim + rng.Int(0, 5); // in-place fp32 rows may be padded
        float[] offset = Enumerable.Range(0, dim).Select(_ => largeMean ? (float)rng.Uniform(-20, 20) : 0f).ToArray();
        // One key row past the chunk, poisoned: a short block must not read its results from it.
        float[] keys = Enumerable.Range(0, (keyCount + 1) * stride).Select(i => i >= keyCount * stride ? float.NaN : offset[i % stride % dim] + (float)rng.Gaussian()).ToArray();
        float[] center = Enumerable.Range(0, dim).Select(d => offset[d] + (float)rng.Uniform(-0.1, 0.1)).ToArray();
        float[] qt = Enumerable.Range(0, dim * rows).Select(_ => (float)(rng.Gaussian() * 0.13)).ToArray();
        // Tile sized to a whole number of six-key blocks: the keys past keyCount must stay poisoned.
        var tile = new float[((keyCount + 5) / 6 * 6) * rows];
        Array.Fill(tile, float.NaN);
        float[] rowMax = Enumerable.Range(0, rows).Select(_ => rng.Coin() ? float.NegativeInfinity : (float)rng.Uniform(-3, 3)).ToArray();
        float[] before = (float[])rowMax.Clone();

        fixed (float* k = keys, c = center, q = qt, t = tile, m = rowMax)
        {
            LogitKernel.Compute(q, rows, k, stride, c, keyCount, keyCount, dim, t, m, wide);
        }

        string say(string what) => rng.Say($"{what} ({form}, R {rows}, D {dim}, keys {keyCount}, large mean {largeMean})");
        for (int j = 0; j < keyCount; j++)
        {
            for (int r = 0; r < rows; r++)
            {
                (double exact, double magnitude) = ExactCentredDot.Of(qt, rows, keys, stride, center, dim, j, r);

                float got = tile[(j * rows) + r];
                Assert.That(float.IsFinite(got), say($"tile[{j}, {r}] not written"));
                Assert.That(got, Is.EqualTo(exact).Within(RelativeToMagnitude * magnitude), say($"tile[{j}, {r}]"));
            }
        }

        Assert.That(tile.Skip(keyCount * rows).All(float.IsNaN), say("a short block stored rows past the chunk's keys"));
        for (int r = 0; r < rows; r++)
        {
            float max = before[r];
            for (int j = 0; j < keyCount; j++)
            {
                max = Math.Max(max, tile[(j * rows) + r]);
            }

            Assert.That(rowMax[r], Is.EqualTo(max), say($"row max {r} (passed in {before[r]})"));
        }
    }
}
