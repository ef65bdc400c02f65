namespace MixKV.Tests.Fast;

/// <summary>What the chunk GEMMs must compute, in double: tile[j, r] = Σ_d Qt[d, r] · (K[j, d] - c[d]).</summary>
internal static class ExactCentredDot
{
    /// <returns>The dot, and Σ_d of its terms' magnitudes (the scale fp32 rounding is relative to).</returns>
    public static (double Exact, double Magnitude) Of(float[] qt, int rows, float[] keys, int stride, float[] center, int dim, int key, int row)
    {
        double exact = 0, magnitude = 0;
        for (int d = 0; d < dim; d++)
        {
            double term = (double)qt[(d * rows) + row] * ((double)keys[(key * stride) + d] - center[d]);
            exact += term;
            magnitude += Math.Abs(term);
        }

        return (exact, magnitude);
    }
}
