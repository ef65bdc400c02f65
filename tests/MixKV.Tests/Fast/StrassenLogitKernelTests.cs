using MixKV.Fast;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Fast;

/// <summary>
/// The Strassen chunk GEMM (whole 12-key blocks, the classical kernel for the rest, as the layer runs
/// them) against double-precision dots of the centred keys: every tile element written, each within
/// fp32 rounding of the exact dot, no worse than a small multiple of the classical kernel's error,
/// and the row max that of the tile. Vector512 falls back to software where the CPU lacks AVX-512,
/// so the kernel's arithmetic is checked on any machine (the layer itself only runs it when wide).
/// </summary>
[TestFixture]
public sealed unsafe class StrassenLogitKernelTests
{
    /// <summary>
    /// Each element within 2e-6 of Σ_d |q_d (k_d - c_d)|: the classical kernel is held to ~1e-6 of the
    /// same scale (RowMathTests); one Strassen level adds the rounding of the operand sums, a few
    /// ulps of the same magnitudes.
    /// </summary>
    private const double RelativeToMagnitude = 2e-6;

    [Test]
    public void Tile_IsTheCentredDots_WithTheClassicalRemainder(
        [Values(128, 256)] int rows, [Values(32, 64, 128)] int dim, [Values(12, 37, 256)] int keyCount, [Values(false, true)] bool largeMean)
    {
        Assert.That(StrassenLogitKernel.Applies(rows, dim, wide: true), "shape chosen for the Strassen path");
        var rng = TestRandom.ForCurrentTest();
        int stride = dim + rng.Int(0, 5); // in-place fp32 rows may be padded
        // Keys of real models have channels with a large common offset; the kernel must centre first.
        float[] offset = Enumerable.Range(0, dim).Select(_ => largeMean ? (float)rng.Uniform(-20, 20) : 0f).ToArray();
        float[] keys = Enumerable.Range(0, keyCount * stride).Select(i => offset[i % stride % dim] + (float)rng.Gaussian()).ToArray();
        float[] center = Enumerable.Range(0, dim).Select(d => offset[d] + (float)rng.Uniform(-0.1, 0.1)).ToArray();
        float[] qt = Enumerable.Range(0, dim * rows).Select(_ => (float)(rng.Gaussian() * 0.13)).ToArray();
        var panels = new float[StrassenLogitKernel.PanelFloats(rows, dim)];
        var combinations = new float[StrassenLogitKernel.CombinationFloats(dim)];
        var tile = new float[keyCount * rows];
        var rowMax = new float[rows];
        Array.Fill(tile, float.NaN); // poisoned: every element must be written
        Array.Fill(rowMax, float.NegativeInfinity);
        var classical = new float[keyCount * rows];
        float[] mu = Enumerable.Range(0, dim).Select(_ => (float)rng.Uniform(-0.3, 0.3)).ToArray();
        var partials = new float[keyCount * 16];
        Array.Fill(partials, float.NaN); // poisoned: every whole block's keys must be written

        int done;
        fixed (float* k = keys, c = center, q = qt, p = panels, a = combinations, t = tile, m = rowMax, t0 = classical, u = mu, lanes = partials)
        {
            StrassenLogitKernel.PackPanels(q, rows, dim, p);
            done = StrassenLogitKernel.Compute(p, rows, k, stride, c, keyCount, keyCount, dim, t, m, a, u, lanes);
            LogitKernel.Compute(q, rows, k + ((long)done * stride), stride, c, keyCount - done, keyCount - done, dim, t + ((long)done * rows), m, wide: true);
            LogitKernel.Compute(q, rows, k, stride, c, keyCount, keyCount, dim, t0, null, wide: true);
        }

        Assert.That(done, Is.EqualTo(keyCount / 12 * 12), "whole blocks only");
        for (int j = 0; j < done; j++)
        {
            // The lane sums of the raw (uncentred) key's dot with μ, for the similarity k̂·μ.
            double exact = 0, magnitude = 0, sum = 0;
            for (int d = 0; d < dim; d++)
            {
                double term = (double)keys[(j * stride) + d] * mu[d];
                exact += term;
                magnitude += Math.Abs(term);
            }

            for (int lane = 0; lane < 16; lane++)
            {
                Assert.That(float.IsFinite(partials[(j * 16) + lane]), rng.Say($"partials[{j}, {lane}] not written"));
                sum += partials[(j * 16) + lane];
            }

            Assert.That(sum, Is.EqualTo(exact).Within(1e-6 * magnitude), rng.Say($"k·mu lane sums of key {j} (D {dim}, large mean {largeMean})"));
        }

        double worstStrassen = 0, worstClassical = 0;
        for (int j = 0; j < keyCount; j++)
        {
            for (int r = 0; r < rows; r++)
            {
                (double exact, double magnitude) = ExactCentredDot.Of(qt, rows, keys, stride, center, dim, j, r);

                float got = tile[(j * rows) + r];
                Assert.That(float.IsFinite(got), rng.Say($"tile[{j}, {r}] not written (rows {rows}, D {dim}, keys {keyCount})"));
                double error = Math.Abs(got - exact) / magnitude;
                Assert.That(error, Is.LessThanOrEqualTo(RelativeToMagnitude), rng.Say($"tile[{j}, {r}] = {got}, exact {exact} (rows {rows}, D {dim}, keys {keyCount}, large mean {largeMean})"));
                worstStrassen = Math.Max(worstStrassen, error);
                worstClassical = Math.Max(worstClassical, Math.Abs(classical[(j * rows) + r] - exact) / magnitude);
            }
        }

        for (int r = 0; r < rows; r++)
        {
            float max = float.NegativeInfinity;
            for (int j = 0; j < keyCount; j++)
            {
                max = Math.Max(max, tile[(j * rows) + r]);
            }

            Assert.That(rowMax[r], Is.EqualTo(max), rng.Say($"row max {r}"));
        }

        TestContext.Progress.WriteLine($"worst error / magnitude: Strassen {worstStrassen:E2}, classical {worstClassical:E2} (rows {rows}, D {dim}, keys {keyCount}, large mean {largeMean})");
    }
}
