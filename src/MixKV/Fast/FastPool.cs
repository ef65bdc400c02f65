using System.Runtime.Intrinsics;
using MixKV.Options;
using RefWindowScores = MixKV.Reference.WindowScores;

namespace MixKV.Fast;

/// <summary>
/// The pooling of spec section 2 with the same bits as <see cref="RefWindowScores.Pool(ReadOnlySpan{double}, PoolingKind, int, Span{double})"/>:
/// every interior output is its window summed (or maxed) in the same left-to-right order, eight
/// outputs a vector, so each lane repeats the reference's chain of operations; the clipped windows
/// at either end go one by one. ~10x faster than the scalar loop on a 32K-token head.
/// </summary>
internal static class FastPool
{
    public static void Pool(ReadOnlySpan<double> values, PoolingKind pooling, int kernel, Span<double> result)
    {
        int length = values.Length, half = kernel / 2;
        // Written so that a kernel near int.MaxValue (valid: any odd k >= 1) cannot overflow the test.
        if (!WideKernels.Available || length - Vector512<double>.Count < kernel)
        {
            RefWindowScores.Pool(values, pooling, kernel, result);
            return;
        }

        for (int n = 0; n < half; n++)
        {
            result[n] = Clipped(values, pooling, kernel, n);
        }

        // Outputs n in [half, length - half) see their whole window [n - half, n + half].
        int n0 = half, end = length - half;
        for (; n0 + Vector512<double>.Count <= end; n0 += Vector512<double>.Count)
        {
            ReadOnlySpan<double> window = values[(n0 - half)..];
            Vector512<double> acc = pooling == PoolingKind.Avg ? Vector512<double>.Zero : Vector512.Create(double.NegativeInfinity);
            for (int i = 0; i < kernel; i++)
            {
                Vector512<double> x = Vector512.Create(window[i..(i + Vector512<double>.Count)]);
                acc = pooling == PoolingKind.Avg ? acc + x : Vector512.Max(acc, x);
            }

            if (pooling == PoolingKind.Avg)
            {
                acc /= Vector512.Create((double)kernel);
            }

            acc.CopyTo(result[n0..]);
        }

        for (int n = n0; n < length; n++)
        {
            result[n] = Clipped(values, pooling, kernel, n);
        }
    }

    /// <summary>One output exactly as the reference computes it (its window clipped to the row).</summary>
    private static double Clipped(ReadOnlySpan<double> values, PoolingKind pooling, int kernel, int n)
    {
        int half = kernel / 2, from = Math.Max(0, n - half), to = Math.Min(values.Length - 1, n + half);
        double acc = pooling == PoolingKind.Avg ? 0 : double.NegativeInfinity;
        for (int i = from; i <= to; i++)
        {
            acc = pooling == PoolingKind.Avg ? acc + values[i] : Math.Max(acc, values[i]);
        }

        return pooling == PoolingKind.Avg ? acc / kernel : acc;
    }
}
