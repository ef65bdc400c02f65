using MixKV.Options;

namespace MixKV.Fast;

/// <summary>
/// The passes over K and V of one KV head for spec section 3. <see cref="RunKeys"/> (before the
/// window scores): key norms, Σ k̂ (hence μ and the online redundancy) and Σ k (the centre
/// subtracted before the GEMM). <see cref="RunValues"/> (after them, so that K is still in the
/// last-level cache when the GEMM re-reads it): value norms. Both notice NaN/Inf for the fused
/// finite check (spec section 8). Memory traffic: K and V of the head, once each.
/// </summary>
internal static unsafe class HeadStatsPass
{
    public static void RunKeys(FastLayer layer, int head, HeadResult result)
    {
        int dim = layer.Dim, tokens = layer.Tokens, prefix = layer.Prefix;
        bool wide = layer.Wide;
        FastWorkspace ws = layer.Workspace;
        double[] unitPartial = ws.UnitPartial, rawPartial = ws.RawPartial;
        double[] keyNorms = result.KeyNorms;
        bool nonFinite = false;

        layer.Scheduler.Run(layer.Chunks, (chunk, workerIndex) =>
        {
            ChunkWorker worker = ws.Worker(workerIndex);
            float* row = worker.Row.Pointer, unit = worker.UnitSum.Pointer, raw = worker.RawSum.Pointer;
            new Span<float>(unit, dim).Clear();
            new Span<float>(raw, dim).Clear();
            int first = chunk * FastLayer.ChunkTokens, end = first + layer.ChunkLength(chunk);
            bool bad = false;
            for (int n = first; n < end; n++)
            {
                float* k = layer.Keys.Floats(head, n, row);
                double norm = Norm(k, dim, wide, ref bad);
                keyNorms[n] = norm;
                RowMath.AccumulateScaledAndRaw(k, (float)(1.0 / Math.Max(norm, SpecConstants.KeyNormFloor)), unit, raw, dim, wide);
            }

            for (int i = 0; i < dim; i++)
            {
                unitPartial[(chunk * dim) + i] = unit[i];
                rawPartial[(chunk * dim) + i] = raw[i];
            }

            if (bad)
            {
                Volatile.Write(ref nonFinite, true);
            }
        });

        layer.SawNonFinite |= nonFinite;
        float* mu = ws.MeanUnitKey.Pointer, center = ws.Center.Pointer;
        double muSquared = 0;
        for (int i = 0; i < dim; i++)
        {
            double unitSum = 0, rawSum = 0;
            for (int c = 0; c < layer.Chunks; c++)
            {
                unitSum += unitPartial[(c * dim) + i];
                rawSum += rawPartial[(c * dim) + i];
            }

            double m = unitSum / tokens;
            muSquared += m * m;
            mu[i] = (float)m;
            center[i] = (float)(rawSum / tokens);
        }

        result.Redundancy = Reference.HeadStats.OnlineRedundancy(muSquared, tokens);
    }

    public static void RunValues(FastLayer layer, int head, HeadResult result)
    {
        int dim = layer.Dim, prefix = layer.Prefix;
        bool wide = layer.Wide, nonFinite = false;
        double[] valueNorms = result.ValueNorms;
        layer.Scheduler.Run(layer.Chunks, (chunk, workerIndex) =>
        {
            float* row = layer.Workspace.Worker(workerIndex).Row.Pointer;
            int first = chunk * FastLayer.ChunkTokens, end = first + layer.ChunkLength(chunk);
            bool bad = false;
            for (int n = first; n < end; n++)
            {
                double norm = Norm(layer.Values.Floats(head, n, row), dim, wide, ref bad);
                if (n < prefix)
                {
                    valueNorms[n] = norm;
                }
            }

            if (bad)
            {
                Volatile.Write(ref nonFinite, true);
            }
        });

        layer.SawNonFinite |= nonFinite;
    }

    /// <summary>fp32 norm; a non-finite fp32 sum is redone in double (large finite rows) and flagged if still non-finite.</summary>
    private static double Norm(float* x, int dim, bool wide, ref bool bad)
    {
        float squares = RowMath.SumOfSquares(x, dim, wide);
        if (float.IsFinite(squares))
        {
            return Math.Sqrt(squares);
        }

        double exact = RowMath.SumOfSquaresDouble(x, dim);
        bad |= !double.IsFinite(exact);
        return Math.Sqrt(exact);
    }
}
