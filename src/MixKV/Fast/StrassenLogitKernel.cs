using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MixKV.Fast;

/// <summary>
/// The chunk GEMM of <see cref="LogitKernel"/> with one level of Strassen's algorithm, on blocks of
/// 12 keys: 7 products of depth D/2 where the classical kernel does 8, so 7/8 of the FMAs. With
/// A = the 12 centred keys [12, D] and B = Qt [D, R], split in halves (top/bottom 6 keys, first/second
/// D/2 dimensions, first/second R/2 rows):
/// <code>
/// M1 = (A11 + A22)(B11 + B22)   M2 = (A21 + A22) B11   M3 = A11 (B12 - B22)   M4 = A22 (B21 - B11)
/// M5 = (A11 + A12) B22          M6 = (A21 - A11)(B11 + B12)                   M7 = (A12 - A22)(B21 + B22)
/// C11 = M1 + M4 - M5 + M7       C12 = M3 + M5          C21 = M2 + M4          C22 = M1 - M2 + M3 + M6
/// </code>
/// The seven B sums are packed once per head (<see cref="PackPanels"/>), the seven A sums once per
/// block into the worker's scratch (6 keys × D/2 each, contiguous, so the product broadcasts them
/// like the classical kernel broadcasts key elements). Each product is a 64-row × 6-key block in 24
/// zmm accumulators, added into its one or two C blocks of the tile (the tile region of a block is
/// 6 KB, in L1). The sums are taken of centred keys, so they stay as small as the keys the classical
/// kernel multiplies; the error stays within a few ulps of the dot products' magnitude (the
/// agreement tests hold it to the same 1e-5 of A as the classical path).
/// Applies when R is a multiple of 128 and D of 32 (16-lane halves); keys past a chunk's last whole
/// block (only in a layer's last chunk: <see cref="FastLayer.ChunkTokens"/> is 21 blocks) go through
/// the classical kernel. Measured (bench/Fast/LogitKernelBenchmarks, one chunk of the layer):
/// 0.95 of the classical kernel's time, not 7/8 — packing the sums costs ~4 % and the C blocks' extra
/// writes ~1-2 %; in the layer ~1.5 ms less (in-process A/B, alternating).
/// </summary>
internal static unsafe class StrassenLogitKernel
{
    public const int KeysPerBlock = 12;

    public const int Products = 7;

    private const int HalfKeys = KeysPerBlock / 2;

    private const int SliceRows = 4 * LogitKernel.Lanes;

    public static bool Applies(int rows, int dim, bool wide) => wide && rows % (2 * SliceRows) == 0 && dim % (2 * LogitKernel.Lanes) == 0;

    /// <summary>Floats of the seven B sums of one head: 7 × D/2 × R/2.</summary>
    public static long PanelFloats(int rows, int dim) => (long)Products * (dim / 2) * (rows / 2);

    /// <summary>Floats of one block's seven A sums: 7 × 6 × D/2.</summary>
    public static int CombinationFloats(int dim) => Products * HalfKeys * (dim / 2);

    /// <summary>panel t [D/2, R/2] for t = 1..7 in the order of the products, from Qt [D, R].</summary>
    public static void PackPanels(float* qt, int rows, int dim, float* panels)
    {
        int h = dim / 2, half = rows / 2;
        long size = (long)h * half;
        for (int d = 0; d < h; d++)
        {
            float* top = qt + ((long)d * rows), bottom = qt + ((long)(d + h) * rows);
            // Sixteen rows at a time (R/2 is a multiple of 64 where this runs): the scalar loop took ~15 µs a head.
            for (int r = 0; r < half; r += LogitKernel.Lanes)
            {
                Vector512<float> b11 = Vector512.Load(top + r), b12 = Vector512.Load(top + half + r);
                Vector512<float> b21 = Vector512.Load(bottom + r), b22 = Vector512.Load(bottom + half + r);
                float* at = panels + ((long)d * half) + r;
                (b11 + b22).Store(at);
                b11.Store(at + size);
                (b12 - b22).Store(at + (2 * size));
                (b21 - b11).Store(at + (3 * size));
                b22.Store(at + (4 * size));
                (b11 + b12).Store(at + (5 * size));
                (b21 + b22).Store(at + (6 * size));
            }
        }
    }

    /// <summary>
    /// The products in the order they run, each with the sum it multiplies (B panel and A combination
    /// share the index) and the C blocks it goes to. Each C block's first write stores, its last
    /// folds the row max; M5, M4, M6 and M7 finish C12, C21, C22 and C11.
    /// </summary>
    private static readonly Step[] Steps =
    [
        new(0, Quadrant.C11, Write.Store, Quadrant.C22, Write.Store),     // M1
        new(1, Quadrant.C21, Write.Store, Quadrant.C22, Write.Subtract),  // M2
        new(2, Quadrant.C12, Write.Store, Quadrant.C22, Write.Add),       // M3
        new(4, Quadrant.C11, Write.Subtract, Quadrant.C12, Write.Add, FinalQuadrant: Quadrant.C12), // M5
        new(3, Quadrant.C11, Write.Add, Quadrant.C21, Write.Add, FinalQuadrant: Quadrant.C21),      // M4
        new(5, Quadrant.C22, Write.Add, FinalQuadrant: Quadrant.C22),     // M6
        new(6, Quadrant.C11, Write.Add, FinalQuadrant: Quadrant.C11),     // M7
    ];

    /// <summary>
    /// The logit rows of the chunk's whole 12-key blocks (tile and row max as in
    /// <see cref="LogitKernel.Compute"/>); returns how many keys it did (a multiple of 12).
    /// </summary>
    /// <param name="combinations">The worker's scratch of <see cref="CombinationFloats"/> floats.</param>
    /// <param name="mu">When given, each key's dot with it is started while the packing holds the key's
    /// row: <paramref name="keyPartials"/>[j, 16] receives the 16 lane sums of key j's products (the
    /// similarity k·μ is their sum). The rows are in L1 there; re-read for the dots after the GEMM they
    /// come from L2 (bench/Fast/LogitKernelBenchmarks: ~1-3 µs a 252-key chunk that way, under 1 here).</param>
    public static int Compute(float* panels, int rows, float* keys, long keyStride, float* center, int keyCount, int readableKeys, int dim, float* tile, float* rowMax, float* combinations,
        float* mu = null, float* keyPartials = null)
    {
        int h = dim / 2, half = rows / 2;
        long panelSize = (long)h * half;
        int blocks = keyCount / KeysPerBlock;
        for (int block = 0; block < blocks; block++)
        {
            int j = block * KeysPerBlock;
            float* blockKeys = keys + ((long)j * keyStride);
            if (mu == null)
            {
                PackCombinations(blockKeys, keyStride, center, h, combinations);
            }
            else
            {
                PackCombinationsAndDots(blockKeys, keyStride, center, h, combinations, mu, keyPartials + ((long)j * LogitKernel.Lanes));
            }
            float* top = tile + ((long)j * rows), bottom = top + ((long)HalfKeys * rows);
            for (int s = 0; s < half; s += SliceRows)
            {
                for (int step = 0; step < Steps.Length; step++)
                {
                    Step t = Steps[step];
                    float* finishedMax = t.FinalQuadrant is { } q && rowMax != null ? rowMax + s + (q is Quadrant.C12 or Quadrant.C22 ? half : 0) : null;
                    Product(panels + (t.Product * panelSize) + s, half, combinations + (t.Product * HalfKeys * h), h, rows,
                        At(t.First, top, bottom, half, s), t.FirstWrite, t.SecondWrite == Write.None ? null : At(t.Second, top, bottom, half, s), t.SecondWrite, finishedMax);
                    if (s == 0 && step < HalfKeys)
                    {
                        // The keys two blocks ahead, two rows after each product: all twelve at once
                        // queue more misses than the core tracks, and the panel's refills from L2 wait
                        // behind them (bench/Fast/LogitKernelBenchmarks, keys from memory: ~6 % slower).
                        int ahead = j + (2 * KeysPerBlock) + (2 * step);
                        LogitKernel.Prefetch(keys, keyStride, ahead, Math.Min(readableKeys, ahead + 2), dim);
                    }
                }
            }
        }

        return blocks * KeysPerBlock;
    }

    private static float* At(Quadrant quadrant, float* top, float* bottom, int half, int slice) => quadrant switch
    {
        Quadrant.C11 => top + slice,
        Quadrant.C12 => top + half + slice,
        Quadrant.C21 => bottom + slice,
        _ => bottom + half + slice,
    };

    private enum Quadrant
    {
        C11,
        C12,
        C21,
        C22,
    }

    private enum Write
    {
        None,
        Store,
        Add,
        Subtract,
    }

    private readonly record struct Step(int Product, Quadrant First, Write FirstWrite, Quadrant Second = Quadrant.C11, Write SecondWrite = Write.None, Quadrant? FinalQuadrant = null);

    /// <summary>
    /// combination t, key i at [t, i, D/2]: A11 + A22, A21 + A22, A11, A22, A11 + A12, A21 - A11,
    /// A12 - A22 of the block's centred keys (top = keys 0-5, bottom = keys 6-11).
    /// </summary>
    private static void PackCombinations(float* keys, long keyStride, float* center, int h, float* combinations)
    {
        int stride = HalfKeys * h;
        for (int i = 0; i < HalfKeys; i++)
        {
            float* top = keys + ((long)i * keyStride), bottom = keys + ((long)(i + HalfKeys) * keyStride);
            float* output = combinations + (i * h);
            for (int d = 0; d < h; d += LogitKernel.Lanes)
            {
                Vector512<float> low = Vector512.Load(center + d), high = Vector512.Load(center + h + d);
                Vector512<float> a11 = Vector512.Load(top + d) - low, a12 = Vector512.Load(top + h + d) - high;
                Vector512<float> a21 = Vector512.Load(bottom + d) - low, a22 = Vector512.Load(bottom + h + d) - high;
                StoreCombinations(output + d, stride, a11, a12, a21, a22);
            }
        }
    }

    /// <summary>The seven sums of one 16-lane slice of the block's centred quarters, combination t at output + t·stride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreCombinations(float* output, int stride, Vector512<float> a11, Vector512<float> a12, Vector512<float> a21, Vector512<float> a22)
    {
        (a11 + a22).Store(output);
        (a21 + a22).Store(output + stride);
        a11.Store(output + (2 * stride));
        a22.Store(output + (3 * stride));
        (a11 + a12).Store(output + (4 * stride));
        (a21 - a11).Store(output + (5 * stride));
        (a12 - a22).Store(output + (6 * stride));
    }

    /// <summary><see cref="PackCombinations"/>, and each key's lane sums of k·μ from the rows it loads (<see cref="Compute"/>).</summary>
    private static void PackCombinationsAndDots(float* keys, long keyStride, float* center, int h, float* combinations, float* mu, float* partials)
    {
        int stride = HalfKeys * h;
        for (int i = 0; i < HalfKeys; i++)
        {
            float* top = keys + ((long)i * keyStride), bottom = keys + ((long)(i + HalfKeys) * keyStride);
            float* output = combinations + (i * h);
            Vector512<float> topDot = Vector512<float>.Zero, bottomDot = Vector512<float>.Zero;
            for (int d = 0; d < h; d += LogitKernel.Lanes)
            {
                Vector512<float> low = Vector512.Load(center + d), high = Vector512.Load(center + h + d);
                Vector512<float> muLow = Vector512.Load(mu + d), muHigh = Vector512.Load(mu + h + d);
                Vector512<float> k11 = Vector512.Load(top + d), k12 = Vector512.Load(top + h + d);
                Vector512<float> k21 = Vector512.Load(bottom + d), k22 = Vector512.Load(bottom + h + d);
                topDot = Vector512.FusedMultiplyAdd(k12, muHigh, Vector512.FusedMultiplyAdd(k11, muLow, topDot));
                bottomDot = Vector512.FusedMultiplyAdd(k22, muHigh, Vector512.FusedMultiplyAdd(k21, muLow, bottomDot));
                StoreCombinations(output + d, stride, k11 - low, k12 - high, k21 - low, k22 - high);
            }

            topDot.Store(partials + (i * LogitKernel.Lanes));
            bottomDot.Store(partials + ((i + HalfKeys) * LogitKernel.Lanes));
        }
    }

    /// <summary>One product: 64 rows (panel columns) × 6 keys (combination rows) over depth h, written into up to two C blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Product(float* q, int panelStride, float* a, int h, int rows, float* first, Write firstWrite, float* second, Write secondWrite, float* max)
    {
        Vector512<float> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector512<float> c10 = default, c11 = default, c12 = default, c13 = default;
        Vector512<float> c20 = default, c21 = default, c22 = default, c23 = default;
        Vector512<float> c30 = default, c31 = default, c32 = default, c33 = default;
        Vector512<float> c40 = default, c41 = default, c42 = default, c43 = default;
        Vector512<float> c50 = default, c51 = default, c52 = default, c53 = default;
        float* a0 = a, a1 = a + h, a2 = a + (2 * h), a3 = a + (3 * h), a4 = a + (4 * h), a5 = a + (5 * h);
        for (int d = 0; d < h; d++)
        {
            float* qd = q + ((long)d * panelStride);
            Vector512<float> q0 = Vector512.Load(qd), q1 = Vector512.Load(qd + 16), q2 = Vector512.Load(qd + 32), q3 = Vector512.Load(qd + 48);
            Vector512<float> b = Vector512.Create(a0[d]);
            c00 = Vector512.FusedMultiplyAdd(q0, b, c00); c01 = Vector512.FusedMultiplyAdd(q1, b, c01);
            c02 = Vector512.FusedMultiplyAdd(q2, b, c02); c03 = Vector512.FusedMultiplyAdd(q3, b, c03);
            b = Vector512.Create(a1[d]);
            c10 = Vector512.FusedMultiplyAdd(q0, b, c10); c11 = Vector512.FusedMultiplyAdd(q1, b, c11);
            c12 = Vector512.FusedMultiplyAdd(q2, b, c12); c13 = Vector512.FusedMultiplyAdd(q3, b, c13);
            b = Vector512.Create(a2[d]);
            c20 = Vector512.FusedMultiplyAdd(q0, b, c20); c21 = Vector512.FusedMultiplyAdd(q1, b, c21);
            c22 = Vector512.FusedMultiplyAdd(q2, b, c22); c23 = Vector512.FusedMultiplyAdd(q3, b, c23);
            b = Vector512.Create(a3[d]);
            c30 = Vector512.FusedMultiplyAdd(q0, b, c30); c31 = Vector512.FusedMultiplyAdd(q1, b, c31);
            c32 = Vector512.FusedMultiplyAdd(q2, b, c32); c33 = Vector512.FusedMultiplyAdd(q3, b, c33);
            b = Vector512.Create(a4[d]);
            c40 = Vector512.FusedMultiplyAdd(q0, b, c40); c41 = Vector512.FusedMultiplyAdd(q1, b, c41);
            c42 = Vector512.FusedMultiplyAdd(q2, b, c42); c43 = Vector512.FusedMultiplyAdd(q3, b, c43);
            b = Vector512.Create(a5[d]);
            c50 = Vector512.FusedMultiplyAdd(q0, b, c50); c51 = Vector512.FusedMultiplyAdd(q1, b, c51);
            c52 = Vector512.FusedMultiplyAdd(q2, b, c52); c53 = Vector512.FusedMultiplyAdd(q3, b, c53);
        }

        Apply(first, firstWrite, rows, c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53, second == null ? max : null);
        if (second != null)
        {
            Apply(second, secondWrite, rows, c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33, c40, c41, c42, c43, c50, c51, c52, c53, max);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Apply(
        float* o, Write write, int rows,
        Vector512<float> c00, Vector512<float> c01, Vector512<float> c02, Vector512<float> c03,
        Vector512<float> c10, Vector512<float> c11, Vector512<float> c12, Vector512<float> c13,
        Vector512<float> c20, Vector512<float> c21, Vector512<float> c22, Vector512<float> c23,
        Vector512<float> c30, Vector512<float> c31, Vector512<float> c32, Vector512<float> c33,
        Vector512<float> c40, Vector512<float> c41, Vector512<float> c42, Vector512<float> c43,
        Vector512<float> c50, Vector512<float> c51, Vector512<float> c52, Vector512<float> c53,
        float* max)
    {
        Row(o, write, c00, c01, c02, c03);
        Row(o + rows, write, c10, c11, c12, c13);
        Row(o + (2 * rows), write, c20, c21, c22, c23);
        Row(o + (3 * rows), write, c30, c31, c32, c33);
        Row(o + (4 * rows), write, c40, c41, c42, c43);
        Row(o + (5 * rows), write, c50, c51, c52, c53);
        if (max != null)
        {
            // The block's final values, read back from L1 (cheaper than keeping 24 more registers).
            for (int v = 0; v < SliceRows; v += LogitKernel.Lanes)
            {
                Vector512<float> m = Vector512.Load(max + v);
                for (int i = 0; i < HalfKeys; i++)
                {
                    m = Vector512.MaxNative(m, Vector512.Load(o + ((long)i * rows) + v));
                }

                m.Store(max + v);
            }
        }
    }

    /// <summary>One key's 64 rows of a C block: stored, or added to / subtracted from what is there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row(float* o, Write write, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3)
    {
        if (write == Write.Add)
        {
            v0 = Vector512.Load(o) + v0; v1 = Vector512.Load(o + 16) + v1; v2 = Vector512.Load(o + 32) + v2; v3 = Vector512.Load(o + 48) + v3;
        }
        else if (write == Write.Subtract)
        {
            v0 = Vector512.Load(o) - v0; v1 = Vector512.Load(o + 16) - v1; v2 = Vector512.Load(o + 32) - v2; v3 = Vector512.Load(o + 48) - v3;
        }

        v0.Store(o); v1.Store(o + 16); v2.Store(o + 32); v3.Store(o + 48);
    }
}
