using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MixKV.Fast;

/// <summary>
/// fp32 row primitives of the fast path (length D, L1-resident rows). <c>wide</c> selects the
/// Vector512 path; otherwise the portable <see cref="Vector{T}"/> path runs. Several accumulators
/// keep the rounding of a length-D sum near log(D) ulps.
/// </summary>
internal static unsafe class RowMath
{
    /// <summary>Σ x² (<see cref="Dot128"/> for n = 128 on the wide path: the same bits, less loop control).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float SumOfSquares(float* x, int n, bool wide) => wide && n == 128 ? Dot128(x, x) : Dot(x, x, n, wide);

    public static float Dot(float* a, float* b, int n, bool wide)
    {
        int i = 0;
        float sum = 0;
        if (wide && n >= 16)
        {
            Vector512<float> acc0 = Vector512<float>.Zero, acc1 = Vector512<float>.Zero;
            for (; i + 32 <= n; i += 32)
            {
                acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc0);
                acc1 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i + 16), Vector512.Load(b + i + 16), acc1);
            }

            for (; i + 16 <= n; i += 16)
            {
                acc0 = Vector512.FusedMultiplyAdd(Vector512.Load(a + i), Vector512.Load(b + i), acc0);
            }

            sum = Vector512.Sum(acc0 + acc1);
        }
        else if (Vector.IsHardwareAccelerated && n >= Vector<float>.Count)
        {
            var acc0 = Vector<float>.Zero;
            var acc1 = Vector<float>.Zero;
            int c = Vector<float>.Count;
            for (; i + 2 * c <= n; i += 2 * c)
            {
                acc0 = Vector.FusedMultiplyAdd(Load(a + i), Load(b + i), acc0);
                acc1 = Vector.FusedMultiplyAdd(Load(a + i + c), Load(b + i + c), acc1);
            }

            for (; i + c <= n; i += c)
            {
                acc0 = Vector.FusedMultiplyAdd(Load(a + i), Load(b + i), acc0);
            }

            sum = Vector.Sum(acc0 + acc1);
        }

        for (; i < n; i++)
        {
            sum = MathF.FusedMultiplyAdd(a[i], b[i], sum);
        }

        return sum;
    }

    /// <summary>
    /// <see cref="Dot"/> for n = 128 on the wide path, inlined and unrolled: the same fused operations
    /// in the same order (so the same bits), without the general loop's control around eight FMAs
    /// (the per-key similarity and mass dots run 256 times per chunk; ~2x faster this way).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Dot128(float* a, float* b)
    {
        Vector512<float> even = Vector512.FusedMultiplyAdd(Vector512.Load(a + 32), Vector512.Load(b + 32), Vector512.Load(a) * Vector512.Load(b));
        Vector512<float> odd = Vector512.FusedMultiplyAdd(Vector512.Load(a + 48), Vector512.Load(b + 48), Vector512.Load(a + 16) * Vector512.Load(b + 16));
        even = Vector512.FusedMultiplyAdd(Vector512.Load(a + 96), Vector512.Load(b + 96), Vector512.FusedMultiplyAdd(Vector512.Load(a + 64), Vector512.Load(b + 64), even));
        odd = Vector512.FusedMultiplyAdd(Vector512.Load(a + 112), Vector512.Load(b + 112), Vector512.FusedMultiplyAdd(Vector512.Load(a + 80), Vector512.Load(b + 80), odd));
        return Vector512.Sum(even + odd);
    }

    /// <summary>
    /// The dot products of sixteen rows of 128 floats (row j at rows + j·stride) with one vector
    /// <paramref name="v"/>, into <paramref name="dots"/>[0..16). Each row's products are summed down
    /// its own vector (eight FMAs, one per 16 columns), then the sixteen vectors are reduced together
    /// by a shuffle tree (4 levels, ~3 shuffles and adds a row) instead of one horizontal sum per row
    /// (~15 dependent steps each): a chunk's 256 key dots in 0.76x the time of <see cref="Dot128"/>
    /// per row (bench/Fast/KeyDotBenchmarks). Without AVX-512, sixteen portable dots.
    /// </summary>
    public static void Dots128x16(float* rows, long stride, float* v, float* dots)
    {
        if (!Avx512F.IsSupported)
        {
            for (int j = 0; j < 16; j++)
            {
                dots[j] = Dot(rows + (j * stride), v, 128, wide: false);
            }

            return;
        }

        Vector512<float> v0 = Vector512.Load(v), v1 = Vector512.Load(v + 16), v2 = Vector512.Load(v + 32), v3 = Vector512.Load(v + 48);
        Vector512<float> v4 = Vector512.Load(v + 64), v5 = Vector512.Load(v + 80), v6 = Vector512.Load(v + 96), v7 = Vector512.Load(v + 112);
        // All in registers: with the sixteen accumulators in a stack array, every reduction level
        // stored 64-byte vectors and read them back.
        // Level 1: rows 2i and 2i+1 share a vector, 8 partial sums each (quarters 0-1 and 2-3).
        Vector512<float> b0 = PairSums(rows, stride, 0, v0, v1, v2, v3, v4, v5, v6, v7), b1 = PairSums(rows, stride, 2, v0, v1, v2, v3, v4, v5, v6, v7);
        Vector512<float> b2 = PairSums(rows, stride, 4, v0, v1, v2, v3, v4, v5, v6, v7), b3 = PairSums(rows, stride, 6, v0, v1, v2, v3, v4, v5, v6, v7);
        Vector512<float> b4 = PairSums(rows, stride, 8, v0, v1, v2, v3, v4, v5, v6, v7), b5 = PairSums(rows, stride, 10, v0, v1, v2, v3, v4, v5, v6, v7);
        Vector512<float> b6 = PairSums(rows, stride, 12, v0, v1, v2, v3, v4, v5, v6, v7), b7 = PairSums(rows, stride, 14, v0, v1, v2, v3, v4, v5, v6, v7);

        // Level 2: rows 4i..4i+3, one quarter (4 partial sums) each.
        Vector512<float> c0 = QuarterSums(b0, b1), c1 = QuarterSums(b2, b3), c2 = QuarterSums(b4, b5), c3 = QuarterSums(b6, b7);

        // Levels 3 and 4 inside each quarter k: two partial sums of rows k, 4+k, 8+k, 12+k, then one.
        Vector512<float> sums = LaneSums(LaneSums(c0, c1), LaneSums(c2, c3));
        // Lane 4k + m holds row k + 4m: back to row order.
        Avx512F.PermuteVar16x32(sums, Vector512.Create(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15)).Store(dots);
    }

    /// <summary>Rows j and j + 1 dotted with v (one vector of 16 partial sums each), folded into one vector: 8 partial sums of each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> PairSums(float* rows, long stride, int j, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7) =>
        Pair(RowSums(rows + (j * stride), v0, v1, v2, v3, v4, v5, v6, v7), RowSums(rows + ((j + 1) * stride), v0, v1, v2, v3, v4, v5, v6, v7));

    /// <summary>Two rows' 16 partial sums folded into one vector: 8 partial sums of each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Pair(Vector512<float> first, Vector512<float> second) =>
        Avx512F.Shuffle4x128(first, second, 0b01_00_01_00) + Avx512F.Shuffle4x128(first, second, 0b11_10_11_10);

    /// <summary>
    /// The sums of sixteen rows of 16 partial sums each (row j at partials + 16j, as
    /// <see cref="StrassenLogitKernel"/> leaves a key's k·μ): the reduction tree of <see cref="Dots128x16"/>.
    /// </summary>
    public static void SumsOf16(float* partials, float* sums)
    {
        if (!Avx512F.IsSupported)
        {
            for (int j = 0; j < 16; j++)
            {
                sums[j] = Vector512.Sum(Vector512.Load(partials + (16 * j)));
            }

            return;
        }

        Vector512<float> b0 = Pair(Vector512.Load(partials), Vector512.Load(partials + 16)), b1 = Pair(Vector512.Load(partials + 32), Vector512.Load(partials + 48));
        Vector512<float> b2 = Pair(Vector512.Load(partials + 64), Vector512.Load(partials + 80)), b3 = Pair(Vector512.Load(partials + 96), Vector512.Load(partials + 112));
        Vector512<float> b4 = Pair(Vector512.Load(partials + 128), Vector512.Load(partials + 144)), b5 = Pair(Vector512.Load(partials + 160), Vector512.Load(partials + 176));
        Vector512<float> b6 = Pair(Vector512.Load(partials + 192), Vector512.Load(partials + 208)), b7 = Pair(Vector512.Load(partials + 224), Vector512.Load(partials + 240));
        Vector512<float> c0 = QuarterSums(b0, b1), c1 = QuarterSums(b2, b3), c2 = QuarterSums(b4, b5), c3 = QuarterSums(b6, b7);
        Vector512<float> lanes = LaneSums(LaneSums(c0, c1), LaneSums(c2, c3));
        Avx512F.PermuteVar16x32(lanes, Vector512.Create(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15)).Store(sums);
    }

    /// <summary>Σ over the 8 column blocks of row r · v, lane by lane (the 16 partial sums of one row's dot).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> RowSums(float* r, Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3,
        Vector512<float> v4, Vector512<float> v5, Vector512<float> v6, Vector512<float> v7)
    {
        Vector512<float> a = Vector512.Load(r) * v0;
        a = Vector512.FusedMultiplyAdd(Vector512.Load(r + 16), v1, a);
        a = Vector512.FusedMultiplyAdd(Vector512.Load(r + 32), v2, a);
        a = Vector512.FusedMultiplyAdd(Vector512.Load(r + 48), v3, a);
        a = Vector512.FusedMultiplyAdd(Vector512.Load(r + 64), v4, a);
        a = Vector512.FusedMultiplyAdd(Vector512.Load(r + 80), v5, a);
        a = Vector512.FusedMultiplyAdd(Vector512.Load(r + 96), v6, a);
        return Vector512.FusedMultiplyAdd(Vector512.Load(r + 112), v7, a);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> QuarterSums(Vector512<float> a, Vector512<float> b) =>
        Avx512F.Shuffle4x128(a, b, 0b10_00_10_00) + Avx512F.Shuffle4x128(a, b, 0b11_01_11_01);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> LaneSums(Vector512<float> a, Vector512<float> b) =>
        Avx512F.Shuffle(a, b, 0b10_00_10_00) + Avx512F.Shuffle(a, b, 0b11_01_11_01);

    /// <summary>Σ x² in double, for rows whose fp32 sum overflowed (or that hold NaN/Inf).</summary>
    public static double SumOfSquaresDouble(float* x, int n)
    {
        double sum = 0;
        for (int i = 0; i < n; i++)
        {
            sum += (double)x[i] * x[i];
        }

        return sum;
    }

    /// <summary>
    /// unit += x_j·scale_j and raw += x_j over the rows x_j = rows + j·stride, j in token order (each
    /// lane's sum is the same chain of fused operations whatever the vector width of the sweep).
    /// </summary>
    public static void AccumulateScaledAndRaw(float* rows, long stride, float* scales, int count, float* unit, float* raw, int n, bool wide)
    {
        int i = 0;
        if (wide)
        {
            // 64 columns at a time: eight accumulators in registers across all the rows.
            for (; i + 64 <= n; i += 64)
            {
                Vector512<float> u0 = Vector512.Load(unit + i), u1 = Vector512.Load(unit + i + 16), u2 = Vector512.Load(unit + i + 32), u3 = Vector512.Load(unit + i + 48);
                Vector512<float> r0 = Vector512.Load(raw + i), r1 = Vector512.Load(raw + i + 16), r2 = Vector512.Load(raw + i + 32), r3 = Vector512.Load(raw + i + 48);
                float* x = rows + i;
                for (int j = 0; j < count; j++, x += stride)
                {
                    var s = Vector512.Create(scales[j]);
                    Vector512<float> x0 = Vector512.Load(x), x1 = Vector512.Load(x + 16), x2 = Vector512.Load(x + 32), x3 = Vector512.Load(x + 48);
                    u0 = Vector512.FusedMultiplyAdd(x0, s, u0);
                    u1 = Vector512.FusedMultiplyAdd(x1, s, u1);
                    u2 = Vector512.FusedMultiplyAdd(x2, s, u2);
                    u3 = Vector512.FusedMultiplyAdd(x3, s, u3);
                    r0 += x0;
                    r1 += x1;
                    r2 += x2;
                    r3 += x3;
                }

                u0.Store(unit + i);
                u1.Store(unit + i + 16);
                u2.Store(unit + i + 32);
                u3.Store(unit + i + 48);
                r0.Store(raw + i);
                r1.Store(raw + i + 16);
                r2.Store(raw + i + 32);
                r3.Store(raw + i + 48);
            }

            for (; i + 16 <= n; i += 16)
            {
                Vector512<float> u = Vector512.Load(unit + i), r = Vector512.Load(raw + i);
                float* x = rows + i;
                for (int j = 0; j < count; j++, x += stride)
                {
                    Vector512<float> v = Vector512.Load(x);
                    u = Vector512.FusedMultiplyAdd(v, Vector512.Create(scales[j]), u);
                    r += v;
                }

                u.Store(unit + i);
                r.Store(raw + i);
            }
        }
        else if (Vector.IsHardwareAccelerated)
        {
            // Four column vectors at a time, as the wide form takes four: one column's FMA and add
            // chains wait on their own latency every row (the key pass ran at ~14 GB/s that way).
            int c = Vector<float>.Count;
            for (; i + (4 * c) <= n; i += 4 * c)
            {
                Vector<float> u0 = Load(unit + i), u1 = Load(unit + i + c), u2 = Load(unit + i + (2 * c)), u3 = Load(unit + i + (3 * c));
                Vector<float> r0 = Load(raw + i), r1 = Load(raw + i + c), r2 = Load(raw + i + (2 * c)), r3 = Load(raw + i + (3 * c));
                float* x = rows + i;
                for (int j = 0; j < count; j++, x += stride)
                {
                    var s = new Vector<float>(scales[j]);
                    Vector<float> x0 = Load(x), x1 = Load(x + c), x2 = Load(x + (2 * c)), x3 = Load(x + (3 * c));
                    u0 = Vector.FusedMultiplyAdd(x0, s, u0);
                    u1 = Vector.FusedMultiplyAdd(x1, s, u1);
                    u2 = Vector.FusedMultiplyAdd(x2, s, u2);
                    u3 = Vector.FusedMultiplyAdd(x3, s, u3);
                    r0 += x0;
                    r1 += x1;
                    r2 += x2;
                    r3 += x3;
                }

                Store(u0, unit + i);
                Store(u1, unit + i + c);
                Store(u2, unit + i + (2 * c));
                Store(u3, unit + i + (3 * c));
                Store(r0, raw + i);
                Store(r1, raw + i + c);
                Store(r2, raw + i + (2 * c));
                Store(r3, raw + i + (3 * c));
            }

            for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
            {
                Vector<float> u = Load(unit + i), r = Load(raw + i);
                float* x = rows + i;
                for (int j = 0; j < count; j++, x += stride)
                {
                    Vector<float> v = Load(x);
                    u = Vector.FusedMultiplyAdd(v, new Vector<float>(scales[j]), u);
                    r += v;
                }

                Store(u, unit + i);
                Store(r, raw + i);
            }
        }

        for (; i < n; i++)
        {
            float u = unit[i], r = raw[i];
            float* x = rows + i;
            for (int j = 0; j < count; j++, x += stride)
            {
                u = MathF.FusedMultiplyAdd(*x, scales[j], u);
                r += *x;
            }

            unit[i] = u;
            raw[i] = r;
        }
    }

    /// <summary>destination = x - center (destination may be x).</summary>
    public static void Subtract(float* x, float* center, float* destination, int n, bool wide)
    {
        int i = 0;
        if (wide)
        {
            for (; i + 16 <= n; i += 16)
            {
                (Vector512.Load(x + i) - Vector512.Load(center + i)).Store(destination + i);
            }
        }
        else if (Vector.IsHardwareAccelerated)
        {
            for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
            {
                Store(Load(x + i) - Load(center + i), destination + i);
            }
        }

        for (; i < n; i++)
        {
            destination[i] = x[i] - center[i];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Load(float* p) => Unsafe.ReadUnaligned<Vector<float>>(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector<float> v, float* p) => Unsafe.WriteUnaligned(p, v);
}
