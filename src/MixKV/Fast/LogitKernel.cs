using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MixKV.Fast;

/// <summary>
/// The GEMM of spec section 2 for one chunk of keys: tile[j, r] = Σ_d Qt[d, r] · (K[j, d] - c[d]), with
/// the window queries of one KV head's group packed transposed (Qt [D, R], R a multiple of
/// <see cref="Lanes"/>, scale folded in) and the keys read in place (row j at keys + j·stride, so
/// fp32 caches need no packing copy). c is the head's centre (see <see cref="WindowScoresPass"/>).
/// One vector holds 16 query rows at one dimension; key elements are broadcast and the centre is
/// subtracted from the broadcast (a vsubps on the FP add pipes, idle during the FMAs). The wide
/// micro-kernel keeps a 64-row × 6-key block in 24 zmm accumulators (24 FMAs per 4 vector loads
/// and 6 broadcasts); the tile comes out key-major [keys, R], so a row's softmax max and sum are
/// vertical (lane-wise) reductions. When <c>rowMax</c> is given the kernel also folds each row's
/// max over the chunk into it (the tile is then read once less by the softmax).
/// </summary>
internal static unsafe class LogitKernel
{
    /// <summary>Query rows per vector; R is padded to a multiple of it.</summary>
    public const int Lanes = 16;

    /// <summary>Keys of one register block, here and in <see cref="PortableLogitKernel"/>.</summary>
    public const int KeysPerBlock = 6;

    /// <summary>Keys ahead of the block being multiplied whose rows are prefetched (into L2: L1 holds the query panel).</summary>
    public const int PrefetchDistance = 4 * KeysPerBlock;

    /// <param name="keyStride">floats between consecutive key rows.</param>
    /// <param name="rowMax">[R], -inf on entry, or null: receives each row's max over the chunk.</param>
    /// <param name="readableKeys">Rows from <paramref name="keys"/> on that may be prefetched (at least <paramref name="keyCount"/>).</param>
    public static void Compute(float* qt, int rows, float* keys, long keyStride, float* center, int keyCount, int readableKeys, int dim, float* tile, float* rowMax, bool wide)
    {
        if (wide)
        {
            Wide(qt, rows, keys, keyStride, center, keyCount, readableKeys, dim, tile, rowMax);
        }
        else
        {
            if (PortableLogitKernel.Applies(rows))
            {
                PortableLogitKernel.Compute(qt, rows, keys, keyStride, center, keyCount, readableKeys, dim, tile, rowMax);
            }
            else
            {
                Scalar(qt, rows, keys, keyStride, center, keyCount, dim, tile, rowMax);
            }
        }
    }

    private static void Wide(float* qt, int rows, float* keys, long keyStride, float* center, int keyCount, int readableKeys, int dim, float* tile, float* rowMax)
    {
        for (int j = 0; j < keyCount; j += KeysPerBlock)
        {
            int valid = Math.Min(KeysPerBlock, keyCount - j);
            BlockRows(keys, keyStride, j, valid, out float* k0, out float* k1, out float* k2, out float* k3, out float* k4, out float* k5);
            float* output = tile + ((long)j * rows);
            Prefetch(keys, keyStride, j + PrefetchDistance, Math.Min(readableKeys, j + PrefetchDistance + KeysPerBlock), dim);
            int r = 0;
            for (; r + 4 * Lanes <= rows; r += 4 * Lanes)
            {
                Block64x6(qt + r, rows, k0, k1, k2, k3, k4, k5, center, dim, output + r, valid, rowMax == null ? null : rowMax + r);
            }

            for (; r < rows; r += Lanes)
            {
                Block16x6(qt + r, rows, k0, k1, k2, k3, k4, k5, center, dim, output + r, valid, rowMax == null ? null : rowMax + r);
            }
        }
    }

    /// <summary>
    /// The rows of the six-key block at key <paramref name="j"/> with <paramref name="valid"/> of them
    /// real: missing keys of a short block re-read the last valid key; their results are not stored,
    /// and, duplicates, they leave the row max unchanged.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void BlockRows(float* keys, long keyStride, int j, int valid, out float* k0, out float* k1, out float* k2, out float* k3, out float* k4, out float* k5)
    {
        k0 = keys + ((long)j * keyStride);
        k1 = keys + ((long)(j + Math.Min(1, valid - 1)) * keyStride);
        k2 = keys + ((long)(j + Math.Min(2, valid - 1)) * keyStride);
        k3 = keys + ((long)(j + Math.Min(3, valid - 1)) * keyStride);
        k4 = keys + ((long)(j + Math.Min(4, valid - 1)) * keyStride);
        k5 = keys + ((long)(j + Math.Min(5, valid - 1)) * keyStride);
    }

    /// <summary>
    /// Keys read in place come from memory: ask for the rows of a block a few blocks ahead so the
    /// kernel's broadcasts hit the cache (the hardware prefetcher follows one stream, not six).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(float* keys, long keyStride, int from, int to, int dim)
    {
        if (!Sse.IsSupported)
        {
            return;
        }

        for (int j = from; j < to; j++)
        {
            byte* row = (byte*)(keys + (j * keyStride));
            for (int offset = 0; offset < dim * sizeof(float); offset += 64)
            {
                Sse.Prefetch1(row + offset);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block64x6(float* q, int rows, float* k0, float* k1, float* k2, float* k3, float* k4, float* k5, float* center, int dim, float* o, int valid, float* max)
    {
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        Vector512<float> c40 = default, c41 = default, c42 = default, c43 = default;
        Vector512<float> c50 = default, c51 = default, c52 = default, c53 = default;
        for (int d = 0; d < dim; d++)
        {
            float* qd = q + ((long)d * rows);
            Vector512<float> q0 = Vector512.Load(qd), q1 = Vector512.Load(qd + 16), q2 = Vector512.Load(qd + 32), q3 = Vector512.Load(qd + 48);
            Vector512<float> c = Vector512.Create(center[d]);
            Vector512<float> b = Vector512.Create(k0[d]) - c;
            c00 = Vector512.FusedMultiplyAdd(q0, b, c00); c01 = Vector512.FusedMultiplyAdd(q1, b, c01);
            c02 = Vector512.FusedMultiplyAdd(q2, b, c02); c03 = Vector512.FusedMultiplyAdd(q3, b, c03);
            b = Vector512.Create(k1[d]) - c;
            c10 = Vector512.FusedMultiplyAdd(q0, b, c10); c11 = Vector512.FusedMultiplyAdd(q1, b, c11);
            c12 = Vector512.FusedMultiplyAdd(q2, b, c12); c13 = Vector512.FusedMultiplyAdd(q3, b, c13);
            b = Vector512.Create(k2[d]) - c;
            c20 = Vector512.FusedMultiplyAdd(q0, b, c20); c21 = Vector512.FusedMultiplyAdd(q1, b, c21);
            c22 = Vector512.FusedMultiplyAdd(q2, b, c22); c23 = Vector512.FusedMultiplyAdd(q3, b, c23);
            b = Vector512.Create(k3[d]) - c;
            c30 = Vector512.FusedMultiplyAdd(q0, b, c30); c31 = Vector512.FusedMultiplyAdd(q1, b, c31);
            c32 = Vector512.FusedMultiplyAdd(q2, b, c32); c33 = Vector512.FusedMultiplyAdd(q3, b, c33);
            b = Vector512.Create(k4[d]) - c;
            c40 = Vector512.FusedMultiplyAdd(q0, b, c40); c41 = Vector512.FusedMultiplyAdd(q1, b, c41);
            c42 = Vector512.FusedMultiplyAdd(q2, b, c42); c43 = Vector512.FusedMultiplyAdd(q3, b, c43);
            b = Vector512.Create(k5[d]) - c;
            c50 = Vector512.FusedMultiplyAdd(q0, b, c50); c51 = Vector512.FusedMultiplyAdd(q1, b, c51);
            c52 = Vector512.FusedMultiplyAdd(q2, b, c52); c53 = Vector512.FusedMultiplyAdd(q3, b, c53);
        }

        Store4(o, c00, c01, c02, c03);
        if (valid > 1) Store4(o + rows, c10, c11, c12, c13);
        if (valid > 2) Store4(o + (2 * rows), c20, c21, c22, c23);
        if (valid > 3) Store4(o + (3 * rows), c30, c31, c32, c33);
        if (valid > 4) Store4(o + (4 * rows), c40, c41, c42, c43);
        if (valid > 5) Store4(o + (5 * rows), c50, c51, c52, c53);
        if (max != null)
        {
            Max4(max, Vector512.MaxNative(Vector512.MaxNative(Vector512.MaxNative(c00, c10), Vector512.MaxNative(c20, c30)), Vector512.MaxNative(c40, c50)), 0);
            Max4(max, Vector512.MaxNative(Vector512.MaxNative(Vector512.MaxNative(c01, c11), Vector512.MaxNative(c21, c31)), Vector512.MaxNative(c41, c51)), 16);
            Max4(max, Vector512.MaxNative(Vector512.MaxNative(Vector512.MaxNative(c02, c12), Vector512.MaxNative(c22, c32)), Vector512.MaxNative(c42, c52)), 32);
            Max4(max, Vector512.MaxNative(Vector512.MaxNative(Vector512.MaxNative(c03, c13), Vector512.MaxNative(c23, c33)), Vector512.MaxNative(c43, c53)), 48);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block16x6(float* q, int rows, float* k0, float* k1, float* k2, float* k3, float* k4, float* k5, float* center, int dim, float* o, int valid, float* max)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default;
        for (int d = 0; d < dim; d++)
        {
            Vector512<float> q0 = Vector512.Load(q + ((long)d * rows));
            Vector512<float> c = Vector512.Create(center[d]);
            c0 = Vector512.FusedMultiplyAdd(q0, Vector512.Create(k0[d]) - c, c0);
            c1 = Vector512.FusedMultiplyAdd(q0, Vector512.Create(k1[d]) - c, c1);
            c2 = Vector512.FusedMultiplyAdd(q0, Vector512.Create(k2[d]) - c, c2);
            c3 = Vector512.FusedMultiplyAdd(q0, Vector512.Create(k3[d]) - c, c3);
            c4 = Vector512.FusedMultiplyAdd(q0, Vector512.Create(k4[d]) - c, c4);
            c5 = Vector512.FusedMultiplyAdd(q0, Vector512.Create(k5[d]) - c, c5);
        }

        c0.Store(o);
        if (valid > 1) c1.Store(o + rows);
        if (valid > 2) c2.Store(o + (2 * rows));
        if (valid > 3) c3.Store(o + (3 * rows));
        if (valid > 4) c4.Store(o + (4 * rows));
        if (valid > 5) c5.Store(o + (5 * rows));
        if (max != null)
        {
            Max4(max, Vector512.MaxNative(Vector512.MaxNative(Vector512.MaxNative(c0, c1), Vector512.MaxNative(c2, c3)), Vector512.MaxNative(c4, c5)), 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Max4(float* max, Vector512<float> m, int at) => Vector512.MaxNative(Vector512.Load(max + at), m).Store(max + at);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4(float* o, Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d)
    {
        a.Store(o);
        b.Store(o + 16);
        c.Store(o + 32);
        d.Store(o + 48);
    }

    /// <summary>Without vectors (or R not a multiple of their width): one row and one key at a time, FMA over D.</summary>
    private static void Scalar(float* qt, int rows, float* keys, long keyStride, float* center, int keyCount, int dim, float* tile, float* rowMax)
    {
        for (int j = 0; j < keyCount; j++)
        {
            float* k = keys + ((long)j * keyStride);
            float* output = tile + ((long)j * rows);
            for (int r = 0; r < rows; r++)
            {
                float acc = 0;
                for (int d = 0; d < dim; d++)
                {
                    acc = MathF.FusedMultiplyAdd(qt[((long)d * rows) + r], k[d] - center[d], acc);
                }

                output[r] = acc;
                if (rowMax != null)
                {
                    rowMax[r] = MathF.Max(rowMax[r], acc);
                }
            }
        }
    }
}
