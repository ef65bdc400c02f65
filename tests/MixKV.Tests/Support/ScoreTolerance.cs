using MixKV.Options;

namespace MixKV.Tests.Support;

/// <summary>
/// How far a backend's S may be from the reference's, per head. S min-max normalises k̂·μ and the
/// norms over their span and fit() divides by the normalised mean, so a backend's own error in those
/// inputs (each checked at the contract's tolerance first) reaches S multiplied by the condition
/// number of that normalisation: a head whose k̂·μ span a twentieth of their size, or whose tokens
/// nearly all sit at the minimum, turns fp32's 2.4e-7 in k̂·μ into 1e-5 in S. The allowance is the
/// contract's tolerance plus exactly that amplification of the error the backend's inputs to S
/// measurably have, so a well-conditioned head is held to the tolerance alone.
/// </summary>
internal static class ScoreTolerance
{
    /// <summary>The allowance of each head's S (relative to the head's largest |S|, like the tolerance).</summary>
    public static double[] PerHead(ScoreMode mode, double tolerance, (double[][] Actual, double[][] Expected) similarity, (double[][] Actual, double[][] Expected) valueNorms, (double[][] Actual, double[][] Expected) keyNorms)
    {
        bool diversity = mode is ScoreMode.KeyDiff or ScoreMode.MixKV or ScoreMode.MixKVUniform;
        bool vnorm = mode is ScoreMode.VNorm or ScoreMode.MixKV or ScoreMode.MixKVUniform;
        var allowance = new double[similarity.Expected.Length];
        for (int h = 0; h < allowance.Length; h++)
        {
            double amplified = 0;
            if (diversity)
            {
                amplified = Math.Max(amplified, Amplified(similarity.Actual[h], similarity.Expected[h], SpecConstants.SimilarityScale, fromMax: true));
            }

            if (vnorm)
            {
                amplified = Math.Max(amplified, Amplified(valueNorms.Actual[h], valueNorms.Expected[h], scale: null, fromMax: false));
            }

            if (mode == ScoreMode.KNorm)
            {
                amplified = Math.Max(amplified, Amplified(keyNorms.Actual[h], keyNorms.Expected[h], scale: null, fromMax: true));
            }

            allowance[h] = tolerance + amplified;
        }

        return allowance;
    }

    /// <summary>
    /// 2·δ/span·(1 + 1/mean(x)) for x normalised over the reference's span (from its minimum, or from
    /// its maximum for -s and -||k||): each x moves by up to 2δ/span when the values and their extreme
    /// move by δ, the largest S by that over x's largest (1), and fit()'s factor by that over mean(x).
    /// Zero for a span the backends take as flat (every backend's term is then exactly 0).
    /// </summary>
    private static double Amplified(double[] actual, double[] expected, double? scale, bool fromMax)
    {
        if (expected.Length == 0)
        {
            return 0;
        }

        double min = expected.Min(), max = expected.Max(), span = max - min;
        bool flat = scale is { } s ? SpecConstants.IsRoundingSpread(min, max, s) : SpecConstants.IsRoundingSpread(min, max);
        if (flat)
        {
            return 0;
        }

        double delta = 0;
        for (int n = 0; n < expected.Length; n++)
        {
            delta = Math.Max(delta, Math.Abs(actual[n] - expected[n]));
        }

        double meanX = expected.Average(v => (fromMax ? max - v : v - min) / span);
        return 2 * delta / span * (1 + (1 / meanX));
    }
}
