using System.Numerics;
using System.Runtime.InteropServices;
using MixKV.Fast;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Fast;

/// <summary>
/// The per-chunk softmax step (<see cref="TileSoftmax.Exponentiate"/>) in each of its forms, against
/// double precision on a random key-major logit tile with causal-mask holes and wholly masked rows:
/// the AVX-512 one (row by row, or 64 rows key by key when the max is given and R allows), the
/// Vector&lt;T&gt; ones machines without AVX-512 run (a row vector at a time, or 16 rows a line at a
/// time), and the scalar one for R not a multiple of Vector&lt;T&gt;. Each exp is 2^(logit - shift), the shift the row max or 0 where it is -inf,
/// within <see cref="FastExp"/>'s 3e-7; masked entries are exactly 0; the max found is the row's
/// max; each row sum is the sum of the exps written, within fp32 partial-sum rounding. The output
/// tile (when not the input) is poisoned; buffers are 64-byte aligned for the streaming stores.
/// </summary>
[TestFixture]
public sealed unsafe class TileSoftmaxTests
{
    /// <summary><see cref="FastExp"/>'s relative error bound (FastExpTests).</summary>
    private const double ExpTolerance = 3e-7;

    /// <summary>Partial sums of at most 64 terms in [0, 1], in fp32, then in double: well under this, relative.</summary>
    private const double SumTolerance = 5e-6;

    public enum Form
    {
        Wide,

        /// <summary>Vector&lt;T&gt;, R an odd number of vectors: a row vector at a time down the keys.</summary>
        Portable,

        /// <summary>Vector&lt;T&gt;, R a multiple of 16: with 8 lanes (AVX2), a 64-byte line of 16 rows at a time, key after key.</summary>
        PortableLines,

        Scalar,
    }

    [Test]
    public void ExpAndRowStatistics_AreTheExactOnes(
        [Values] Form form, [Values(1, 3, 64, 252)] int keys, [Values(false, true)] bool computeMax, [Values(false, true)] bool inPlace)
    {
        var rng = TestRandom.ForCurrentTest();
        int width = Vector<float>.Count;
        int rows = form switch
        {
            Form.Wide => rng.Pick([16, 64, 80, 128]),
            Form.Portable => width * ((2 * rng.Int(0, 5)) + 1),
            Form.PortableLines => 16 * rng.Int(1, 8),
            _ => (width * rng.Int(0, 3)) + rng.Int(1, width - 1),
        };
        string say(string what) => rng.Say($"{what} ({form}, R {rows}, keys {keys}, computeMax {computeMax}, in place {inPlace})");

        long count = (long)keys * rows;
        float* tile = Allocate(count), exp = inPlace ? tile : Allocate(count), max = Allocate(rows);
        double* sum = (double*)NativeMemory.AlignedAlloc((nuint)rows * sizeof(double), 64);
        try
        {
            bool[] maskedRow = Enumerable.Range(0, rows).Select(_ => rng.Int(0, 9) == 0).ToArray();
            var logits = new float[count];
            for (long i = 0; i < count; i++)
            {
                bool masked = maskedRow[i % rows] || rng.Int(0, 7) == 0;
                logits[i] = masked ? float.NegativeInfinity : (float)rng.Uniform(-30, 8);
            }

            logits.CopyTo(new Span<float>(tile, (int)count));
            if (!inPlace)
            {
                new Span<float>(exp, (int)count).Fill(float.NaN);
            }

            var rowMax = new double[rows];
            for (int r = 0; r < rows; r++)
            {
                rowMax[r] = Enumerable.Range(0, keys).Max(j => (double)logits[((long)j * rows) + r]);
                // Pass 2 gives the max over the whole row, at least this chunk's.
                max[r] = computeMax ? float.NaN : double.IsNegativeInfinity(rowMax[r]) ? float.NegativeInfinity : (float)(rowMax[r] + rng.Uniform(0, 3));
                sum[r] = double.NaN;
            }

            float[] maxGiven = new Span<float>(max, rows).ToArray();
            TileSoftmax.Exponentiate(tile, exp, keys, rows, max, sum, computeMax, wide: form == Form.Wide);

            for (int r = 0; r < rows; r++)
            {
                float m = computeMax ? max[r] : maxGiven[r];
                if (computeMax)
                {
                    Assert.That(m, Is.EqualTo((float)rowMax[r]), say($"max of row {r}"));
                }

                float shift = float.IsNegativeInfinity(m) ? 0 : m;
                double written = 0;
                for (int j = 0; j < keys; j++)
                {
                    long at = ((long)j * rows) + r;
                    float got = exp[at];
                    written += got;
                    if (float.IsNegativeInfinity(logits[at]))
                    {
                        Assert.That(got, Is.EqualTo(0f), say($"exp[{j}, {r}] of a masked logit"));
                        continue;
                    }

                    // The kernel's argument is the fp32 difference (its rounding is the input's, not the exp's).
                    float x = logits[at] - shift;
                    double want = Math.Pow(2, x);
                    Assert.That(got, Is.EqualTo(want).Within(ExpTolerance * want), say($"exp[{j}, {r}] = 2^{x:R} (logit {logits[at]:R}, shift {shift:R})"));
                }

                Assert.That(sum[r], Is.EqualTo(written).Within(SumTolerance * written), say($"sum of row {r}{(maskedRow[r] ? " (masked)" : "")}"));
            }
        }
        finally
        {
            NativeMemory.AlignedFree(tile);
            if (!inPlace)
            {
                NativeMemory.AlignedFree(exp);
            }

            NativeMemory.AlignedFree(max);
            NativeMemory.AlignedFree(sum);
        }
    }

    private static float* Allocate(long count) => (float*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);
}
