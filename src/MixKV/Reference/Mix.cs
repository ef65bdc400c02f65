using MixKV.Options;

namespace MixKV.Reference;

/// <summary>
/// The final per-token score S[h, n] of each mode (spec sections 3 and 4): min-max normalisation of
/// the auxiliary scores, fit() onto the scale of A, and the mode's mix.
/// </summary>
public static class Mix
{
    /// <summary>S [Hkv][P] for <paramref name="mode"/>; <paramref name="redundancy"/> is r_h per head (online or offline).</summary>
    public static double[][] Compute(ScoreMode mode, double[][] attention, HeadStatistics stats, ReadOnlySpan<double> redundancy)
    {
        var result = new double[attention.Length][];
        for (int h = 0; h < attention.Length; h++)
        {
            result[h] = ComputeHead(mode, attention[h], stats.ValueNorms[h], stats.KeyNorms[h], stats.MeanKeySimilarity[h], redundancy[h]);
        }

        return result;
    }

    public static double[] ComputeHead(ScoreMode mode, double[] a, double[] valueNorms, double[] keyNorms, double[] similarity, double r)
    {
        double meanA = VectorMath.Mean(a);
        switch (mode)
        {
            case ScoreMode.Attention:
                return (double[])a.Clone();
            case ScoreMode.KeyDiff:
                return Fit(Diversity(similarity), meanA);
            case ScoreMode.VNorm:
                return Add(a, Fit(NormScore(valueNorms, negate: false), meanA));
            case ScoreMode.KNorm:
                return Add(a, Fit(NormScore(keyNorms, negate: true), meanA));
            case ScoreMode.MixKV:
            {
                double[] diversity = Fit(Diversity(similarity), meanA);
                double[] importance = Add(a, Fit(NormScore(valueNorms, negate: false), meanA));
                var s = new double[a.Length];
                for (int n = 0; n < s.Length; n++)
                {
                    s[n] = r * diversity[n] + (1.0 - r) * importance[n];
                }

                return s;
            }

            case ScoreMode.MixKVUniform:
            {
                double[] diversity = Fit(Diversity(similarity), meanA);
                double[] vnorm = Fit(NormScore(valueNorms, negate: false), meanA);
                const double w = SpecConstants.UniformMixWeight;
                var s = new double[a.Length];
                for (int n = 0; n < s.Length; n++)
                {
                    s[n] = w * diversity[n] + w * a[n] + w * vnorm[n];
                }

                return s;
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(mode), mode, "unknown score mode");
        }
    }

    /// <summary>fit(s) = s · mean(A) / (mean(s) + 1e-8): puts an auxiliary score on the scale of A.</summary>
    public static double[] Fit(double[] s, double meanA)
    {
        double factor = meanA / (VectorMath.Mean(s) + SpecConstants.FitEpsilon);
        return Array.ConvertAll(s, x => x * factor);
    }

    /// <summary>
    /// Norm score: (x - min) / (max - min) over the prefix, x = ||row|| (or -||row|| for keys). Spec
    /// deviation: all-equal norms give 0 for every token instead of dividing by zero, and so do norms
    /// equal within rounding (<see cref="SpecConstants.RoundingSpread"/>).
    /// </summary>
    public static double[] NormScore(double[] norms, bool negate)
    {
        double[] x = negate ? Array.ConvertAll(norms, v => -v) : norms;
        (double min, double max) = MinMax(x);
        double range = max - min;
        return SpecConstants.IsRoundingSpread(min, max) ? new double[x.Length] : Array.ConvertAll(x, v => (v - min) / range);
    }

    /// <summary>
    /// d = -s normalised as (d - min) / (max - min + 1e-8): far from the mean key scores high. A head
    /// whose k̂·μ are equal within rounding has no diversity: 0 for every token
    /// (<see cref="SpecConstants.RoundingSpread"/>, our deviation).
    /// </summary>
    public static double[] Diversity(double[] similarity)
    {
        double[] d = Array.ConvertAll(similarity, v => -v);
        (double min, double max) = MinMax(d);
        if (SpecConstants.IsRoundingSpread(min, max, SpecConstants.SimilarityScale))
        {
            return new double[d.Length];
        }

        double range = max - min + SpecConstants.DiversityRangeEpsilon;
        return Array.ConvertAll(d, v => (v - min) / range);
    }

    private static (double Min, double Max) MinMax(double[] x)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity;
        foreach (double v in x)
        {
            min = Math.Min(min, v);
            max = Math.Max(max, v);
        }

        return (min, max);
    }

    private static double[] Add(double[] a, double[] b)
    {
        var sum = new double[a.Length];
        for (int n = 0; n < sum.Length; n++)
        {
            sum[n] = a[n] + b[n];
        }

        return sum;
    }
}
