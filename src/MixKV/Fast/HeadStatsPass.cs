using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
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
    /// <summary>
    /// The row <see cref="StreamPrefetch.Distance"/> bytes ahead of row <paramref name="token"/>, for the
    /// row-at-a-time loops (the portable kernels, fp16/bf16 widening): on through the next chunk, as
    /// the D = 128 forms do (the portable key pass ~10 % faster, the value pass ~18 %).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PrefetchAhead(PinnedRows rows, int head, int token, int tokens)
    {
        int rowBytes = rows.Dim * rows.ElementSize;
        int ahead = token + StreamPrefetch.RowsAhead(rows.TokenStride * rows.ElementSize);
        if (ahead < tokens)
        {
            StreamPrefetch.Row(rows.Row(head, ahead), rowBytes);
        }
    }

    /// <summary>Starts a chunk of key statistics in the worker's fp32 partial sums.</summary>
    private static void BeginKeys(FastLayer layer, ChunkWorker worker)
    {
        new Span<float>(worker.UnitSum.Pointer, layer.Dim).Clear();
        new Span<float>(worker.RawSum.Pointer, layer.Dim).Clear();
    }

    /// <summary>
    /// Key norms of tokens [first, end), then their k̂ and k added to the worker's partial sums (in
    /// token order). D = 128 on the wide path: one sweep, each row's norm and both sums while the row
    /// is in the cache line buffers and the sums in registers (<see cref="KeyRows128"/>). Otherwise two
    /// sweeps: the norms stream the rows from memory (fp16/bf16 rows widened into the worker's key
    /// scratch on the way), then the sums re-read them from the cache with the partial sums in
    /// registers, not in memory (a store-to-load chain per key otherwise). Both give the same bits.
    /// </summary>
    private static void KeyRows(FastLayer layer, int head, HeadResult result, int first, int end, ChunkWorker worker)
    {
        int dim = layer.Dim;
        bool wide = layer.Wide, bad = false, inPlace = layer.Keys.DType == Tensors.DType.F32;
        double[] keyNorms = result.KeyNorms;
        float* rows = inPlace ? (float*)layer.Keys.Row(head, first) : worker.Keys.Pointer;
        long stride = inPlace ? layer.Keys.TokenStride : dim;
        if (!inPlace)
        {
            for (int n = first; n < end; n++)
            {
                PrefetchAhead(layer.Keys, head, n, layer.Tokens);
                layer.Keys.Floats(head, n, rows + ((n - first) * stride));
            }
        }

        // The one-sweep form stops at a row whose fp32 sum of squares is not finite; the two-sweep
        // form takes the rest of the chunk from there, continuing the same sums in token order.
        int from = wide && dim == 128 ? KeyRows128(keyNorms, first, end, inPlace ? layer.Tokens : end, rows, stride, worker) : first;
        if (from < end)
        {
            float* rest = rows + ((from - first) * stride);
            float* scales = worker.Scales.Pointer;
            for (int n = from; n < end; n++)
            {
                if (inPlace)
                {
                    PrefetchAhead(layer.Keys, head, n, layer.Tokens);
                }

                double norm = Norm(rest + ((n - from) * stride), dim, wide, ref bad);
                keyNorms[n] = norm;
                scales[n - from] = Scale(norm);
            }

            RowMath.AccumulateScaledAndRaw(rest, stride, scales, end - from, worker.UnitSum.Pointer, worker.RawSum.Pointer, dim, wide);
        }

        if (bad)
        {
            layer.SawNonFinite = true;
        }
    }

    /// <summary>
    /// The one-sweep form of <see cref="KeyRows"/> for D = 128 on fp32 rows: the sixteen partial sums
    /// (Σ k̂, Σ k) stay in zmm registers over the chunk (no calls in the loop: a call would spill them,
    /// they are caller-saved) and each row is read from memory once, with the same fused operations in
    /// the same order per lane as <see cref="RowMath.AccumulateScaledAndRaw"/>. Returns the first row not
    /// done: <paramref name="end"/>, or a row whose fp32 sum of squares overflowed or is NaN/Inf.
    /// </summary>
    /// <param name="readable">Rows from <paramref name="first"/>'s on that exist (the head's tokens): the
    /// prefetch runs on past the chunk's end into the next chunk, which the same thread usually takes next
    /// (two-thread layer ~1 % faster than stopping at each chunk's end, alternating A/B runs).</param>
    private static int KeyRows128(double[] keyNorms, int first, int end, int readable, float* rows, long stride, ChunkWorker worker)
    {
        // The first rows' prefetch before the sums are loaded: nothing may be called while they are live.
        int n = first, ahead = StreamPrefetch.RowsAhead(stride * sizeof(float));
        StreamPrefetch.FirstRows(rows, stride * sizeof(float), Math.Min(end - first, ahead), 128 * sizeof(float));

        float* unit = worker.UnitSum.Pointer, raw = worker.RawSum.Pointer;
        Load8(unit, out Vector512<float> u0, out Vector512<float> u1, out Vector512<float> u2, out Vector512<float> u3, out Vector512<float> u4, out Vector512<float> u5, out Vector512<float> u6, out Vector512<float> u7);
        Load8(raw, out Vector512<float> r0, out Vector512<float> r1, out Vector512<float> r2, out Vector512<float> r3, out Vector512<float> r4, out Vector512<float> r5, out Vector512<float> r6, out Vector512<float> r7);
        for (; n < end; n++)
        {
            float* k = rows + ((n - first) * stride);
            if (n + ahead < readable)
            {
                StreamPrefetch.Row512(k + (ahead * stride));
            }

            float squares = RowMath.Dot128(k, k);
            if (!float.IsFinite(squares))
            {
                break;
            }

            double norm = Math.Sqrt(squares);
            keyNorms[n] = norm;
            var s = Vector512.Create(Scale(norm));
            Load8(k, out Vector512<float> x0, out Vector512<float> x1, out Vector512<float> x2, out Vector512<float> x3, out Vector512<float> x4, out Vector512<float> x5, out Vector512<float> x6, out Vector512<float> x7);
            u0 = Vector512.FusedMultiplyAdd(x0, s, u0);
            u1 = Vector512.FusedMultiplyAdd(x1, s, u1);
            u2 = Vector512.FusedMultiplyAdd(x2, s, u2);
            u3 = Vector512.FusedMultiplyAdd(x3, s, u3);
            u4 = Vector512.FusedMultiplyAdd(x4, s, u4);
            u5 = Vector512.FusedMultiplyAdd(x5, s, u5);
            u6 = Vector512.FusedMultiplyAdd(x6, s, u6);
            u7 = Vector512.FusedMultiplyAdd(x7, s, u7);
            r0 += x0;
            r1 += x1;
            r2 += x2;
            r3 += x3;
            r4 += x4;
            r5 += x5;
            r6 += x6;
            r7 += x7;
        }

        Store8(unit, u0, u1, u2, u3, u4, u5, u6, u7);
        Store8(raw, r0, r1, r2, r3, r4, r5, r6, r7);
        return n;
    }

    /// <summary>The 128 floats at <paramref name="p"/> as eight vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Load8(float* p, out Vector512<float> a0, out Vector512<float> a1, out Vector512<float> a2, out Vector512<float> a3,
        out Vector512<float> a4, out Vector512<float> a5, out Vector512<float> a6, out Vector512<float> a7)
    {
        (a0, a1, a2, a3) = (Vector512.Load(p), Vector512.Load(p + 16), Vector512.Load(p + 32), Vector512.Load(p + 48));
        (a4, a5, a6, a7) = (Vector512.Load(p + 64), Vector512.Load(p + 80), Vector512.Load(p + 96), Vector512.Load(p + 112));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store8(float* p, Vector512<float> a0, Vector512<float> a1, Vector512<float> a2, Vector512<float> a3,
        Vector512<float> a4, Vector512<float> a5, Vector512<float> a6, Vector512<float> a7)
    {
        a0.Store(p); a1.Store(p + 16); a2.Store(p + 32); a3.Store(p + 48);
        a4.Store(p + 64); a5.Store(p + 80); a6.Store(p + 96); a7.Store(p + 112);
    }

    /// <summary>1 / max(‖k‖, floor), the factor that makes k̂.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Scale(double norm) => (float)(1.0 / Math.Max(norm, SpecConstants.KeyNormFloor));

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
        // Whole partial rows added in chunk order: each dimension's sum is the same sequence of adds
        // as a loop over the chunks, vectorised across dimensions (a column walk was ~20 µs a head).
        Span<double> sums = dim <= 512 ? stackalloc double[2 * dim] : new double[2 * dim];
        sums.Clear();
        Span<double> unitSums = sums[..dim], rawSums = sums[dim..];
        for (int c = 0; c < layer.Chunks; c++)
        {
            TensorPrimitives.Add(unitSums, unitPartial.AsSpan(c * dim, dim), unitSums);
            TensorPrimitives.Add(rawSums, rawPartial.AsSpan(c * dim, dim), rawSums);
        }

        double muSquared = 0;
        for (int i = 0; i < dim; i++)
        {
            double m = unitSums[i] / tokens;
            muSquared += m * m;
            mu[i] = (float)m;
            center[i] = (float)(rawSums[i] / tokens);
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
        int n = first;
        if (wide && dim == 128 && layer.Values.DType == Tensors.DType.F32)
        {
            // fp32 rows in place, the norm inlined: no call per row (~15 % of the pass's time).
            long stride = layer.Values.TokenStride;
            int ahead = StreamPrefetch.RowsAhead(stride * sizeof(float)), readable = layer.Tokens;
            float* v = (float*)layer.Values.Row(head, n);
            StreamPrefetch.FirstRows(v, stride * sizeof(float), Math.Min(end - n, ahead), 128 * sizeof(float));

            for (; n < end; n++, v += stride)
            {
                if (n + ahead < readable) // on into the next chunk, as KeyRows128 does
                {
                    StreamPrefetch.Row512(v + (ahead * stride));
                }

                float squares = RowMath.Dot128(v, v);
                if (!float.IsFinite(squares))
                {
                    break;
                }

                if (n < prefix)
                {
                    valueNorms[n] = Math.Sqrt(squares);
                }
            }
        }

        for (; n < end; n++)
        {
            PrefetchAhead(layer.Values, head, n, layer.Tokens);
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
