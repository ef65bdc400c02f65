using MixKV.Options;
using MixKV.Tensors;

namespace MixKV.Reference;

/// <summary>
/// Importance A[h, n] for prefix keys (spec section 2): causal softmax of the window queries over all
/// N keys, mean over the window rows, GQA reduction to KV heads, then 1-D pooling over the prefix.
/// Every dot product, softmax sum and mean is accumulated in double.
/// </summary>
public static class WindowScores
{
    /// <summary>Pooled importance A [Hkv][P].</summary>
    public static double[][] Compute(HeadTensor keys, HeadTensor windowQueries, GqaReduction gqa, PoolingKind pooling, int poolingKernel)
    {
        double[][] perQueryHead = AttentionMass(keys, windowQueries);
        double[][] perKvHead = ReduceGqa(perQueryHead, keys.Heads, gqa);
        return Array.ConvertAll(perKvHead, row => Pool(row, pooling, poolingKernel));
    }

    /// <summary>
    /// a_q[n] = (1/W) Σ_w softmax_n(Qw[q,w]·K[q/G,n] / sqrt(D)) for n &lt; P, with keys n &gt; P + w masked.
    /// Returns [Hq][P].
    /// </summary>
    public static double[][] AttentionMass(HeadTensor keys, HeadTensor windowQueries)
    {
        int n = keys.Tokens, d = keys.Dim, window = windowQueries.Tokens;
        int prefix = n - window;
        int groups = windowQueries.Heads / keys.Heads;
        double scale = 1.0 / Math.Sqrt(d);
        var result = new double[windowQueries.Heads][];

        Parallel.For(0, keys.Heads, kvHead =>
        {
            double[] k = DecodeHead(keys, kvHead);
            var query = new double[d];
            var logits = new double[n];
            for (int g = 0; g < groups; g++)
            {
                int q = kvHead * groups + g;
                var mass = new double[prefix];
                for (int w = 0; w < window; w++)
                {
                    windowQueries.ReadRow(q, w, query);
                    int visible = prefix + w + 1; // causal: keys 0..P+w
                    double max = double.NegativeInfinity;
                    for (int key = 0; key < visible; key++)
                    {
                        logits[key] = VectorMath.Dot(query, k.AsSpan(key * d, d)) * scale;
                        max = Math.Max(max, logits[key]);
                    }

                    double sum = 0;
                    for (int key = 0; key < visible; key++)
                    {
                        logits[key] = Math.Exp(logits[key] - max);
                        sum += logits[key];
                    }

                    for (int key = 0; key < prefix; key++)
                    {
                        mass[key] += logits[key] / sum;
                    }
                }

                for (int key = 0; key < prefix; key++)
                {
                    mass[key] /= window;
                }

                result[q] = mass;
            }
        });

        return result;
    }

    /// <summary>Mean or max over the G query heads q = h·G .. h·G + G - 1 of each KV head h.</summary>
    public static double[][] ReduceGqa(double[][] perQueryHead, int kvHeads, GqaReduction gqa)
    {
        int groups = perQueryHead.Length / kvHeads;
        var result = new double[kvHeads][];
        for (int h = 0; h < kvHeads; h++)
        {
            double[] first = perQueryHead[h * groups];
            var row = (double[])first.Clone();
            for (int g = 1; g < groups; g++)
            {
                double[] other = perQueryHead[h * groups + g];
                for (int n = 0; n < row.Length; n++)
                {
                    row[n] = gqa == GqaReduction.Max ? Math.Max(row[n], other[n]) : row[n] + other[n];
                }
            }

            if (gqa == GqaReduction.Mean)
            {
                for (int n = 0; n < row.Length; n++)
                {
                    row[n] /= groups;
                }
            }

            result[h] = row;
        }

        return result;
    }

    /// <summary>
    /// Stride-1 pooling with kernel k and k/2 padding each side. Avg divides by k always (padding counts
    /// as zeros, like avg_pool1d with count_include_pad); max ignores the padding.
    /// </summary>
    public static double[] Pool(ReadOnlySpan<double> values, PoolingKind pooling, int kernel)
    {
        var result = new double[values.Length];
        Pool(values, pooling, kernel, result);
        return result;
    }

    /// <summary>The same pooling into a caller's array (the fast path reuses its buffers; same bits).</summary>
    public static void Pool(ReadOnlySpan<double> values, PoolingKind pooling, int kernel, Span<double> result)
    {
        int half = kernel / 2;
        for (int n = 0; n < values.Length; n++)
        {
            int from = Math.Max(0, n - half), to = Math.Min(values.Length - 1, n + half);
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

    internal static double[] DecodeHead(HeadTensor t, int head)
    {
        var data = new double[(long)t.Tokens * t.Dim];
        for (int n = 0; n < t.Tokens; n++)
        {
            t.ReadRow(head, n, data.AsSpan(n * t.Dim, t.Dim));
        }

        return data;
    }
}
