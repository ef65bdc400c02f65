using MixKV.Options;
using MixKV.Tensors;

namespace MixKV.Reference;

/// <summary>
/// Key normalisation, mean unit key, online redundancy and value/key norms per KV head (spec section 3).
/// </summary>
public static class HeadStats
{
    public static HeadStatistics Compute(HeadTensor keys, HeadTensor values, int prefix)
    {
        int heads = keys.Heads, n = keys.Tokens, d = keys.Dim;
        var valueNorms = new double[heads][];
        var keyNorms = new double[heads][];
        var similarity = new double[heads][];
        var redundancy = new double[heads];

        Parallel.For(0, heads, h =>
        {
            double[] k = WindowScores.DecodeHead(keys, h);
            var unit = new double[k.Length];
            var mean = new double[d];
            var norms = new double[n];
            for (int token = 0; token < n; token++)
            {
                ReadOnlySpan<double> row = k.AsSpan(token * d, d);
                norms[token] = VectorMath.Norm(row);
                double inverse = 1.0 / Math.Max(norms[token], SpecConstants.KeyNormFloor);
                for (int i = 0; i < d; i++)
                {
                    unit[token * d + i] = row[i] * inverse;
                    mean[i] += unit[token * d + i];
                }
            }

            for (int i = 0; i < d; i++)
            {
                mean[i] /= n;
            }

            var s = new double[prefix];
            for (int token = 0; token < prefix; token++)
            {
                s[token] = VectorMath.Dot(unit.AsSpan(token * d, d), mean);
            }

            var v = new double[d];
            var vn = new double[prefix];
            for (int token = 0; token < prefix; token++)
            {
                values.ReadRow(h, token, v);
                vn[token] = VectorMath.Norm(v);
            }

            valueNorms[h] = vn;
            keyNorms[h] = norms[..prefix];
            similarity[h] = s;
            redundancy[h] = OnlineRedundancy(VectorMath.Dot(mean, mean), n);
        });

        return new HeadStatistics(valueNorms, keyNorms, similarity, redundancy);
    }

    /// <summary>
    /// Mean pairwise cosine similarity of N unit keys from their mean μ: Σ_{i≠j} k̂ᵢ·k̂ⱼ = N²||μ||² - N,
    /// over N(N-1) pairs. Clamped to [0, 1] (spec deviation: rounding and zero keys can leave the range),
    /// and 1 within <see cref="SpecConstants.RoundingSpread"/> of 1 (our deviation: keys that all point
    /// one way give 1 exactly, not 1 - 1e-16 here and 1 - 6e-8 in fp32, which MixKV's (1 - r) weight
    /// would tell apart). A single key has no pairs; it is taken as not redundant (0).
    /// </summary>
    public static double OnlineRedundancy(double meanSquaredNorm, int tokens)
    {
        if (tokens <= 1)
        {
            return 0.0;
        }

        double r = Math.Clamp((tokens * meanSquaredNorm - 1.0) / (tokens - 1), 0.0, 1.0);
        return r >= 1.0 - SpecConstants.RoundingSpread ? 1.0 : r;
    }
}
