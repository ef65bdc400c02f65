using MixKV.Options;

namespace MixKV.Fast;

/// <summary>
/// S[h, n] of spec section 4 for one head in one loop over the prefix after three reductions
/// (mean of A; min/max of the norms and the similarity). Same formulas as
/// <see cref="Reference.Mix"/>, without its intermediate arrays.
/// </summary>
internal static class FastMix
{
    /// <param name="s">[P] receives S (fully overwritten).</param>
    public static double[] ComputeHead(ScoreMode mode, double[] a, HeadResult head, double redundancy, double[] s)
    {
        int p = a.Length;
        if (p == 0)
        {
            return s;
        }

        double meanA = Mean(a);
        if (mode == ScoreMode.Attention)
        {
            a.CopyTo(s, 0);
            return s;
        }

        // Each auxiliary term is x·scale + offset after normalisation and fit.
        (double divScale, double divOffset) = mode is ScoreMode.MixKV or ScoreMode.MixKVUniform or ScoreMode.KeyDiff ? DiversityTerm(head.Similarity, meanA) : (0, 0);
        (double normScale, double normOffset) = mode switch
        {
            ScoreMode.KNorm => NormTerm(head.KeyNorms, p, negate: true, meanA),
            ScoreMode.VNorm or ScoreMode.MixKV or ScoreMode.MixKVUniform => NormTerm(head.ValueNorms, p, negate: false, meanA),
            _ => (0, 0),
        };
        double[] norms = mode == ScoreMode.KNorm ? head.KeyNorms : head.ValueNorms;
        double[] similarity = head.Similarity;
        double r = redundancy;
        const double w = SpecConstants.UniformMixWeight;
        for (int n = 0; n < p; n++)
        {
            double diversity = (-similarity[n] * divScale) + divOffset;
            double norm = (norms[n] * normScale) + normOffset;
            s[n] = mode switch
            {
                ScoreMode.KeyDiff => diversity,
                ScoreMode.VNorm or ScoreMode.KNorm => a[n] + norm,
                ScoreMode.MixKV => (r * diversity) + ((1.0 - r) * (a[n] + norm)),
                _ => (w * diversity) + (w * a[n]) + (w * norm),
            };
        }

        return s;
    }

    /// <summary>fit((d - min) / (max - min + eps)) with d = -s, as scale·(-s) + offset.</summary>
    private static (double Scale, double Offset) DiversityTerm(double[] similarity, double meanA)
    {
        (double min, double max, double sum) = Reduce(similarity, similarity.Length, negate: true);
        double range = max - min + SpecConstants.DiversityRangeEpsilon;
        double meanNormalised = ((sum / similarity.Length) - min) / range;
        double fit = meanA / (meanNormalised + SpecConstants.FitEpsilon);
        return (fit / range, -min / range * fit);
    }

    /// <summary>fit((x - min) / (max - min)) with x = ±norm (all zero when max == min), as scale·norm + offset.</summary>
    private static (double Scale, double Offset) NormTerm(double[] norms, int p, bool negate, double meanA)
    {
        (double min, double max, double sum) = Reduce(norms, p, negate);
        double range = max - min;
        if (range == 0)
        {
            return (0, 0);
        }

        double meanNormalised = ((sum / p) - min) / range;
        double fit = meanA / (meanNormalised + SpecConstants.FitEpsilon);
        double sign = negate ? -1.0 : 1.0;
        return (sign * fit / range, -min / range * fit);
    }

    private static (double Min, double Max, double Sum) Reduce(double[] values, int count, bool negate)
    {
        double min = double.PositiveInfinity, max = double.NegativeInfinity, sum = 0;
        for (int i = 0; i < count; i++)
        {
            double x = negate ? -values[i] : values[i];
            min = Math.Min(min, x);
            max = Math.Max(max, x);
            sum += x;
        }

        return (min, max, sum);
    }

    private static double Mean(double[] values)
    {
        double sum = 0;
        foreach (double x in values)
        {
            sum += x;
        }

        return sum / values.Length;
    }
}
