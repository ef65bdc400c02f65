using MixKV.Options;

namespace MixKV.Fast;

/// <summary>
/// The pooling of spec section 2 into a caller's array: the same arithmetic, in the same order, as
/// <see cref="Reference.WindowScores.Pool"/> (so the same bits), without allocating the result.
/// </summary>
internal static class FastPool
{
    public static void Pool(ReadOnlySpan<double> values, PoolingKind pooling, int kernel, Span<double> result)
    {
        int half = kernel / 2, last = values.Length - 1;
        for (int n = 0; n < values.Length; n++)
        {
            int from = Math.Max(0, n - half), to = Math.Min(last, n + half);
            if (pooling == PoolingKind.Avg)
            {
                double sum = 0;
                for (int i = from; i <= to; i++)
                {
                    sum += values[i];
                }

                result[n] = sum / kernel;
            }
            else
            {
                double max = double.NegativeInfinity;
                for (int i = from; i <= to; i++)
                {
                    max = Math.Max(max, values[i]);
                }

                result[n] = max;
            }
        }
    }
}
