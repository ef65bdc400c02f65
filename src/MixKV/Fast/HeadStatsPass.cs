using MixKV.Options;

namespace MixKV.Fast;

/// <summary>
/// The work over K and V for spec section 3, one chunk per call, run by <see cref="LayerPipeline"/>'s
/// key and value passes. <see cref="KeyChunk"/>: key norms, Σ k̂ (hence μ and the online redundancy)
/// and Σ k (the centre subtracted before the GEMM), summed per chunk; <see cref="FinishKeys"/> sums
/// the chunk partials in chunk order. <see cref="ValueRows"/>: value norms. Both notice NaN/Inf for
/// the fused finite check (spec section 8).
/// </summary>
internal static unsafe class HeadStatsPass
{
    /// <summary>Starts a chunk of key statistics in the worker's fp32 partial sums.</summary>
    private static void BeginKeys(FastLayer layer, ChunkWorker worker)
    {
        new Span<float>(worker.UnitSum.Pointer, layer.Dim).Clear();
        new Span<float>(worker.RawSum.Pointer, layer.Dim).Clear();
    }

    /// <summary>
    /// Key norms of tokens [first, end), then their k̂ and k added to the worker's partial sums (in
    /// token order). Two sweeps: the norms stream the rows from memory (fp16/bf16 rows widened into
    /// the worker's key scratch on the way), then the sums re-read them from the cache with the
    /// partial sums in registers, not in memory (a store-to-load chain per key otherwise).
    /// </summary>
    private static void KeyRows(FastLayer layer, int head, HeadResult result, int first, int end, ChunkWorker worker)
    {
        int dim = layer.Dim, count = end - first;
        bool wide = layer.Wide, bad = false, inPlace = layer.Keys.DType == Tensors.DType.F32;
        double[] keyNorms = result.KeyNorms;
        float* scales = worker.Scales.Pointer;
        float* rows = inPlace ? (float*)layer.Keys.Row(head, first) : worker.Keys.Pointer;
        long stride = inPlace ? layer.Keys.TokenStride : dim;
        for (int j = 0; j < count; j++)
        {
            float* k = rows + (j * stride);
            if (!inPlace)
            {
                layer.Keys.Floats(head, first + j, k);
            }

            double norm = Norm(k, dim, wide, ref bad);
            keyNorms[first + j] = norm;
            scales[j] = (float)(1.0 / Math.Max(norm, SpecConstants.KeyNormFloor));
        }

        RowMath.AccumulateScaledAndRaw(rows, stride, scales, count, worker.UnitSum.Pointer, worker.RawSum.Pointer, dim, wide);
        if (bad)
        {
            layer.SawNonFinite = true;
        }
    }

    /// <summary>Stores the chunk's partial sums (summed over chunks, in chunk order, by <see cref="FinishKeys"/>).</summary>
    private static void EndKeys(FastLayer layer, int chunk, ChunkWorker worker)
    {
        int dim = layer.Dim;
        float* unit = worker.UnitSum.Pointer, raw = worker.RawSum.Pointer;
        double[] unitPartial = layer.Workspace.UnitPartial, rawPartial = layer.Workspace.RawPartial;
        for (int i = 0; i < dim; i++)
        {
            unitPartial[(chunk * dim) + i] = unit[i];
            rawPartial[(chunk * dim) + i] = raw[i];
        }
    }

    /// <summary>A whole chunk of key statistics.</summary>
    public static void KeyChunk(FastLayer layer, int head, HeadResult result, int chunk, ChunkWorker worker)
    {
        int first = chunk * FastLayer.ChunkTokens;
        BeginKeys(layer, worker);
        KeyRows(layer, head, result, first, first + layer.ChunkLength(chunk), worker);
        EndKeys(layer, chunk, worker);
    }

    /// <summary>μ, the centre and r_h of the head from the chunk partials of <see cref="KeyChunk"/>.</summary>
    public static void FinishKeys(FastLayer layer, int head, HeadResult result)
    {
        int dim = layer.Dim, tokens = layer.Tokens;
        FastWorkspace ws = layer.Workspace;
        double[] unitPartial = ws.UnitPartial, rawPartial = ws.RawPartial;
        float* mu = layer.MeanUnitKey(head), center = layer.Center(head);
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

    /// <summary>Value norms of tokens [first, end) (prefix ones kept; all scanned for NaN/Inf).</summary>
    public static void ValueRows(FastLayer layer, int head, HeadResult result, int first, int end, ChunkWorker worker)
    {
        int dim = layer.Dim, prefix = layer.Prefix;
        bool wide = layer.Wide, bad = false;
        double[] valueNorms = result.ValueNorms;
        float* row = worker.Row.Pointer;
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
            layer.SawNonFinite = true;
        }
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
