using System.Numerics;
using System.Numerics.Tensors;
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
        var terms = new Terms(divScale, divOffset, normScale, normOffset, redundancy);
        switch (mode)
        {
            case ScoreMode.KeyDiff:
                Combine<KeyDiffScore>(a, head.Similarity, norms, terms, s);
                break;
            case ScoreMode.VNorm or ScoreMode.KNorm:
                Combine<NormScore>(a, head.Similarity, norms, terms, s);
                break;
            case ScoreMode.MixKV:
                Combine<MixKVScore>(a, head.Similarity, norms, terms, s);
                break;
            default:
                Combine<UniformScore>(a, head.Similarity, norms, terms, s);
                break;
        }

        return s;
    }

    /// <summary>
    /// s[n] = TScore(a[n], diversity, norm) over the prefix, a vector of positions at a time; the
    /// vector and scalar forms do the same operations in the same order, so every element comes out
    /// the same whichever form computed it.
    /// </summary>
    private static void Combine<TScore>(double[] a, double[] similarity, double[] norms, Terms t, double[] s)
        where TScore : struct, IScore
    {
        int p = a.Length, n = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var divScale = new Vector<double>(t.DivScale);
            var divOffset = new Vector<double>(t.DivOffset);
            var normScale = new Vector<double>(t.NormScale);
            var normOffset = new Vector<double>(t.NormOffset);
            var r = new Vector<double>(t.Redundancy);
            for (; n + Vector<double>.Count <= p; n += Vector<double>.Count)
            {
                Vector<double> diversity = (-new Vector<double>(similarity.AsSpan(n)) * divScale) + divOffset;
                Vector<double> norm = (new Vector<double>(norms.AsSpan(n)) * normScale) + normOffset;
                TScore.Of(new Vector<double>(a.AsSpan(n)), diversity, norm, r).CopyTo(s.AsSpan(n));
            }
        }

        for (; n < p; n++)
        {
            double diversity = (-similarity[n] * t.DivScale) + t.DivOffset;
            double norm = (norms[n] * t.NormScale) + t.NormOffset;
            s[n] = TScore.Of(a[n], diversity, norm, t.Redundancy);
        }
    }

    /// <summary>The auxiliary terms as x·scale + offset after normalisation and fit, and r_h.</summary>
    private readonly record struct Terms(double DivScale, double DivOffset, double NormScale, double NormOffset, double Redundancy);

    /// <summary>One score mode of spec section 4 from A, the diversity term and the norm term.</summary>
    private interface IScore
    {
        static abstract double Of(double a, double diversity, double norm, double r);

        static abstract Vector<double> Of(Vector<double> a, Vector<double> diversity, Vector<double> norm, Vector<double> r);
    }

    private struct KeyDiffScore : IScore
    {
        public static double Of(double a, double diversity, double norm, double r) => diversity;

        public static Vector<double> Of(Vector<double> a, Vector<double> diversity, Vector<double> norm, Vector<double> r) => diversity;
    }

    private struct NormScore : IScore
    {
        public static double Of(double a, double diversity, double norm, double r) => a + norm;

        public static Vector<double> Of(Vector<double> a, Vector<double> diversity, Vector<double> norm, Vector<double> r) => a + norm;
    }

    private struct MixKVScore : IScore
    {
        public static double Of(double a, double diversity, double norm, double r) => (r * diversity) + ((1.0 - r) * (a + norm));

        public static Vector<double> Of(Vector<double> a, Vector<double> diversity, Vector<double> norm, Vector<double> r) => (r * diversity) + ((Vector<double>.One - r) * (a + norm));
    }

    private struct UniformScore : IScore
    {
        private const double W = SpecConstants.UniformMixWeight;

        public static double Of(double a, double diversity, double norm, double r) => (W * diversity) + (W * a) + (W * norm);

        public static Vector<double> Of(Vector<double> a, Vector<double> diversity, Vector<double> norm, Vector<double> r)
        {
            var w = new Vector<double>(W);
            return (w * diversity) + (w * a) + (w * norm);
        }
    }

    /// <summary>
    /// fit((d - min) / (max - min + eps)) with d = -s, as scale·(-s) + offset; all zero when d is flat
    /// within rounding (<see cref="SpecConstants.RoundingSpread"/>). That test also keeps this affine
    /// form exact: with a range of ~eps, scale and offset would be ~mean(A)/eps² and cancel to noise.
    /// </summary>
    private static (double Scale, double Offset) DiversityTerm(double[] similarity, double meanA)
    {
        (double min, double max, double sum) = Reduce(similarity, similarity.Length, negate: true);
        if (SpecConstants.IsRoundingSpread(min, max, SpecConstants.SimilarityScale))
        {
            return (0, 0);
        }

        double range = max - min + SpecConstants.DiversityRangeEpsilon;
        double meanNormalised = ((sum / similarity.Length) - min) / range;
        double fit = meanA / (meanNormalised + SpecConstants.FitEpsilon);
        return (fit / range, -min / range * fit);
    }

    /// <summary>fit((x - min) / (max - min)) with x = ±norm (all zero when flat within rounding), as scale·norm + offset.</summary>
    private static (double Scale, double Offset) NormTerm(double[] norms, int p, bool negate, double meanA)
    {
        (double min, double max, double sum) = Reduce(norms, p, negate);
        double range = max - min;
        if (SpecConstants.IsRoundingSpread(min, max))
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
        ReadOnlySpan<double> x = values.AsSpan(0, count);
        (double min, double max, double sum) = (TensorPrimitives.Min(x), TensorPrimitives.Max(x), TensorPrimitives.Sum(x));
        return negate ? (-max, -min, -sum) : (min, max, sum);
    }

    private static double Mean(double[] values) => TensorPrimitives.Sum<double>(values) / values.Length;
}
