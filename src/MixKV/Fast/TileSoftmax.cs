using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MixKV.Fast;

/// <summary>
/// The per-chunk half of the online softmax (spec section 2) on a key-major logit tile [keys, R]:
/// each row's max over the chunk's keys (or a max given by pass 1), exp ← 2^(tile - max) (in place,
/// or into the head's kept tile; logits in log2 units), and each row's Σ exp (fp32 partial sums merged in double). Rows whose every key is masked have max -inf and
/// exponentiate to 0 (shift 0 instead of -inf, so no NaN).
/// </summary>
internal static unsafe class TileSoftmax
{
    /// <param name="exp">Receives the exp tile: <paramref name="tile"/> itself, or another (64-byte aligned) tile written with streaming stores.</param>
    /// <param name="max">[R] written when <paramref name="computeMax"/>, else read.</param>
    /// <param name="sum">[R] written when not null.</param>
    public static void Exponentiate(float* tile, float* exp, int keys, int rows, float* max, double* sum, bool computeMax, bool wide)
    {
        if (wide)
        {
            Wide(tile, exp, keys, rows, max, sum, computeMax);
        }
        else
        {
            Portable(tile, exp, keys, rows, max, sum, computeMax);
        }
    }

    /// <summary>
    /// <see cref="Exponentiate"/> for a layer whose exp entries take the <see cref="PackedExp"/> format
    /// (R a multiple of 64, AVX-512 VBMI): into a kept tile of packed entries (key j's row at
    /// packed + j·R·3, streaming stores), or into <paramref name="exp"/> as fp32, rounded as packing
    /// would round them when <paramref name="rounded"/>. Every call sums in the same order, so a kept
    /// tile and a recomputed one give the same statistics and mass, bit for bit.
    /// </summary>
    public static void ExponentiateBy64(float* tile, float* exp, byte* packed, int keys, int rows, float* max, double* sum, bool computeMax, bool rounded)
    {
        if (computeMax)
        {
            RowMax(tile, keys, rows, max);
        }

        WideBy64(tile, exp, packed, keys, rows, max, sum, rounded);
    }

    /// <summary>max[r] = the largest logit of row r over the chunk's keys.</summary>
    private static void RowMax(float* tile, int keys, int rows, float* max)
    {
        for (int r = 0; r < rows; r += LogitKernel.Lanes)
        {
            RowVectorMax(tile, keys, rows, r).Store(max + r);
        }
    }

    /// <summary>The largest logit of rows r..r+15 over the chunk's keys (-inf where every key is masked).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> RowVectorMax(float* tile, int keys, int rows, int r)
    {
        Vector512<float> m = Vector512.Create(float.NegativeInfinity);
        for (int k = 0; k < keys; k++)
        {
            m = Vector512.MaxNative(m, Vector512.Load(tile + ((long)k * rows) + r));
        }

        return m;
    }

    private static void Wide(float* tile, float* exp, int keys, int rows, float* max, double* sum, bool computeMax)
    {
        if (!computeMax && rows % 64 == 0)
        {
            WideBy64(tile, exp, null, keys, rows, max, sum, rounded: false);
        }
        else
        {
            WideByRowVector(tile, exp, keys, rows, max, sum, computeMax);
        }
    }

    /// <summary>
    /// Any R (a multiple of 16) and the row max found here when asked: one row vector at a time over
    /// all keys (its max first). Also the baseline of bench/Fast/FastKernelBenchmarks.
    /// </summary>
    internal static void WideByRowVector(float* tile, float* exp, int keys, int rows, float* max, double* sum, bool computeMax)
    {
        bool streaming = exp != tile;
        long offset = exp - tile;
        var negativeInfinity = Vector512.Create(float.NegativeInfinity);
        for (int r = 0; r < rows; r += 16)
        {
            Vector512<float> m;
            if (computeMax)
            {
                m = RowVectorMax(tile, keys, rows, r);
                m.Store(max + r);
            }
            else
            {
                m = Vector512.Load(max + r);
            }

            Vector512<float> shift = Vector512.ConditionalSelect(Vector512.Equals(m, negativeInfinity), Vector512<float>.Zero, m);
            // Four fp32 partial sums of at most 64 terms in [0, 1] each (rounding well under 1e-5
            // relative), independent so the exps overlap; merged in double.
            Vector512<float> s0 = Vector512<float>.Zero, s1 = Vector512<float>.Zero, s2 = Vector512<float>.Zero, s3 = Vector512<float>.Zero;
            int j = 0;
            for (; j + 4 <= keys; j += 4)
            {
                float* p = tile + ((long)j * rows) + r;
                Vector512<float> e0 = FastExp.Exp2(Vector512.Load(p) - shift);
                Vector512<float> e1 = FastExp.Exp2(Vector512.Load(p + rows) - shift);
                Vector512<float> e2 = FastExp.Exp2(Vector512.Load(p + (2 * rows)) - shift);
                Vector512<float> e3 = FastExp.Exp2(Vector512.Load(p + (3 * rows)) - shift);
                LineStore.Put(e0, p + offset, streaming);
                LineStore.Put(e1, p + offset + rows, streaming);
                LineStore.Put(e2, p + offset + (2 * rows), streaming);
                LineStore.Put(e3, p + offset + (3 * rows), streaming);
                s0 += e0;
                s1 += e1;
                s2 += e2;
                s3 += e3;
            }

            for (; j < keys; j++)
            {
                float* p = tile + ((long)j * rows) + r;
                Vector512<float> e = FastExp.Exp2(Vector512.Load(p) - shift);
                LineStore.Put(e, p + offset, streaming);
                s0 += e;
            }

            if (sum != null)
            {
                Vector512<double> lower = Vector512<double>.Zero, upper = Vector512<double>.Zero;
                foreach (Vector512<float> partial in (ReadOnlySpan<Vector512<float>>)[s0, s1, s2, s3])
                {
                    (Vector512<double> lo, Vector512<double> hi) = Vector512.Widen(partial);
                    lower += lo;
                    upper += hi;
                }

                lower.Store(sum + r);
                upper.Store(sum + r + 8);
            }
        }

        if (streaming && Sse.IsSupported)
        {
            Sse.StoreFence(); // the streamed tile is read by another thread after the step's barrier
        }
    }

    /// <summary>
    /// <see cref="Wide"/> with the row max given and R a multiple of 64: 64 rows at a time, key by key,
    /// so each key's exp row goes out as 256 contiguous bytes (four lines) instead of one line every
    /// 512 bytes: the streamed stores leave the core ~1.5x faster (bench: 8.5 to 5.5 us a chunk). Each
    /// row's fp32 partial sum holds at most 64 terms in [0, 1] before it is added to the double sum.
    /// </summary>
    /// <param name="packed">When not null, the exp tile goes there as <see cref="PackedExp"/> entries (<paramref name="exp"/> unused).</param>
    /// <param name="rounded">Each entry stored as <see cref="PackedExp.Round"/> leaves it (the sums take it unrounded, as when packed).</param>
    private static void WideBy64(float* tile, float* exp, byte* packed, int keys, int rows, float* max, double* sum, bool rounded)
    {
        bool streaming = packed != null || exp != tile;
        long offset = exp - tile;
        PackedExp.Encoder encoder = packed != null ? PackedExp.CreateEncoder() : default;
        var negativeInfinity = Vector512.Create(float.NegativeInfinity);
        if (sum != null)
        {
            new Span<double>(sum, rows).Clear();
        }

        for (int r = 0; r < rows; r += 64)
        {
            Vector512<float> m0 = Vector512.Load(max + r), m1 = Vector512.Load(max + r + 16), m2 = Vector512.Load(max + r + 32), m3 = Vector512.Load(max + r + 48);
            Vector512<float> h0 = Vector512.ConditionalSelect(Vector512.Equals(m0, negativeInfinity), Vector512<float>.Zero, m0);
            Vector512<float> h1 = Vector512.ConditionalSelect(Vector512.Equals(m1, negativeInfinity), Vector512<float>.Zero, m1);
            Vector512<float> h2 = Vector512.ConditionalSelect(Vector512.Equals(m2, negativeInfinity), Vector512<float>.Zero, m2);
            Vector512<float> h3 = Vector512.ConditionalSelect(Vector512.Equals(m3, negativeInfinity), Vector512<float>.Zero, m3);
            for (int first = 0; first < keys; first += 64)
            {
                Vector512<float> s0 = Vector512<float>.Zero, s1 = Vector512<float>.Zero, s2 = Vector512<float>.Zero, s3 = Vector512<float>.Zero;
                for (int j = first; j < Math.Min(first + 64, keys); j++)
                {
                    float* p = tile + ((long)j * rows) + r;
                    Vector512<float> e0 = FastExp.Exp2(Vector512.Load(p) - h0);
                    Vector512<float> e1 = FastExp.Exp2(Vector512.Load(p + 16) - h1);
                    Vector512<float> e2 = FastExp.Exp2(Vector512.Load(p + 32) - h2);
                    Vector512<float> e3 = FastExp.Exp2(Vector512.Load(p + 48) - h3);
                    if (packed != null)
                    {
                        PackedExp.Store64(encoder, e0, e1, e2, e3, packed + ((((long)j * rows) + r) * PackedExp.EntryBytes), streaming: true);
                    }
                    else if (rounded)
                    {
                        LineStore.Put(PackedExp.Round(e0), p + offset, streaming);
                        LineStore.Put(PackedExp.Round(e1), p + offset + 16, streaming);
                        LineStore.Put(PackedExp.Round(e2), p + offset + 32, streaming);
                        LineStore.Put(PackedExp.Round(e3), p + offset + 48, streaming);
                    }
                    else
                    {
                        LineStore.Put(e0, p + offset, streaming);
                        LineStore.Put(e1, p + offset + 16, streaming);
                        LineStore.Put(e2, p + offset + 32, streaming);
                        LineStore.Put(e3, p + offset + 48, streaming);
                    }

                    s0 += e0;
                    s1 += e1;
                    s2 += e2;
                    s3 += e3;
                }

                if (sum != null)
                {
                    AddWidened(sum + r, s0);
                    AddWidened(sum + r + 16, s1);
                    AddWidened(sum + r + 32, s2);
                    AddWidened(sum + r + 48, s3);
                }
            }
        }

        if (streaming && Sse.IsSupported)
        {
            Sse.StoreFence(); // the streamed tile is read by another thread after the step's barrier
        }
    }

    /// <summary>sum[0..16) += the sixteen lanes of <paramref name="partial"/>, in double.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddWidened(double* sum, Vector512<float> partial)
    {
        (Vector512<double> lower, Vector512<double> upper) = Vector512.Widen(partial);
        (Vector512.Load(sum) + lower).Store(sum);
        (Vector512.Load(sum + 8) + upper).Store(sum + 8);
    }

    private static void Portable(float* tile, float* exp, int keys, int rows, float* max, double* sum, bool computeMax)
    {
        int width = Vector.IsHardwareAccelerated && rows % Vector<float>.Count == 0 ? Vector<float>.Count : 1;
        if (width == 1)
        {
            Scalar(tile, exp, keys, rows, max, sum, computeMax);
            return;
        }

        if (width == 8 && rows % 16 == 0)
        {
            PortableByLine(tile, exp, keys, rows, max, sum, computeMax);
            return;
        }

        long offset = exp - tile;
        var negativeInfinity = new Vector<float>(float.NegativeInfinity);
        for (int r = 0; r < rows; r += width)
        {
            Vector<float> m;
            if (computeMax)
            {
                m = negativeInfinity;
                for (int k = 0; k < keys; k++)
                {
                    m = Vector.MaxNative(m, RowMath.Load(tile + ((long)k * rows) + r));
                }

                RowMath.Store(m, max + r);
            }
            else
            {
                m = RowMath.Load(max + r);
            }

            Vector<float> shift = Vector.ConditionalSelect(Vector.Equals(m, negativeInfinity), Vector<float>.Zero, m);
            // The wide kernel's sums: four independent fp32 partials, merged in double.
            Vector<float> s0 = Vector<float>.Zero, s1 = Vector<float>.Zero, s2 = Vector<float>.Zero, s3 = Vector<float>.Zero;
            int j = 0;
            for (; j + 4 <= keys; j += 4)
            {
                float* p = tile + ((long)j * rows) + r;
                Vector<float> e0 = FastExp.Exp2(RowMath.Load(p) - shift);
                Vector<float> e1 = FastExp.Exp2(RowMath.Load(p + rows) - shift);
                Vector<float> e2 = FastExp.Exp2(RowMath.Load(p + (2 * rows)) - shift);
                Vector<float> e3 = FastExp.Exp2(RowMath.Load(p + (3 * rows)) - shift);
                RowMath.Store(e0, p + offset);
                RowMath.Store(e1, p + offset + rows);
                RowMath.Store(e2, p + offset + (2 * rows));
                RowMath.Store(e3, p + offset + (3 * rows));
                s0 += e0;
                s1 += e1;
                s2 += e2;
                s3 += e3;
            }

            for (; j < keys; j++)
            {
                float* p = tile + ((long)j * rows) + r;
                Vector<float> e = FastExp.Exp2(RowMath.Load(p) - shift);
                RowMath.Store(e, p + offset);
                s0 += e;
            }

            if (sum != null)
            {
                Vector<double> lower = Vector<double>.Zero, upper = Vector<double>.Zero;
                foreach (Vector<float> partial in (ReadOnlySpan<Vector<float>>)[s0, s1, s2, s3])
                {
                    Vector.Widen(partial, out Vector<double> lo, out Vector<double> hi);
                    lower += lo;
                    upper += hi;
                }

                Unsafe.WriteUnaligned(sum + r, lower);
                Unsafe.WriteUnaligned(sum + r + Vector<double>.Count, upper);
            }
        }
    }

    /// <summary>
    /// <see cref="Portable"/> for 8-lane vectors (AVX2) and R a multiple of 16, shaped like
    /// <see cref="WideBy64"/>: sixteen rows, one 64-byte line of each key's row, at a time, key after
    /// key, so a kept tile is written in whole lines with streaming stores (a row vector at a time down
    /// all keys wrote half lines, each read from memory first: the pass took ~18 core-ms a layer where
    /// the AVX-512 one takes ~4), and each row's exps summed in fp32 over at most 64 keys, then in double.
    /// </summary>
    private static void PortableByLine(float* tile, float* exp, int keys, int rows, float* max, double* sum, bool computeMax)
    {
        bool streaming = exp != tile;
        long offset = exp - tile;
        var negativeInfinity = new Vector<float>(float.NegativeInfinity);
        for (int r = 0; r < rows; r += 16)
        {
            Vector<float> m0, m1;
            if (computeMax)
            {
                m0 = m1 = negativeInfinity;
                for (int k = 0; k < keys; k++)
                {
                    float* p = tile + ((long)k * rows) + r;
                    m0 = Vector.MaxNative(m0, RowMath.Load(p));
                    m1 = Vector.MaxNative(m1, RowMath.Load(p + 8));
                }

                RowMath.Store(m0, max + r);
                RowMath.Store(m1, max + r + 8);
            }
            else
            {
                m0 = RowMath.Load(max + r);
                m1 = RowMath.Load(max + r + 8);
            }

            Vector<float> h0 = Vector.ConditionalSelect(Vector.Equals(m0, negativeInfinity), Vector<float>.Zero, m0);
            Vector<float> h1 = Vector.ConditionalSelect(Vector.Equals(m1, negativeInfinity), Vector<float>.Zero, m1);
            Vector<double> lower0 = Vector<double>.Zero, upper0 = Vector<double>.Zero, lower1 = Vector<double>.Zero, upper1 = Vector<double>.Zero;
            for (int first = 0; first < keys; first += 64)
            {
                Vector<float> s0 = Vector<float>.Zero, s1 = Vector<float>.Zero;
                for (int j = first; j < Math.Min(first + 64, keys); j++)
                {
                    float* p = tile + ((long)j * rows) + r;
                    Vector<float> e0 = FastExp.Exp2(RowMath.Load(p) - h0);
                    Vector<float> e1 = FastExp.Exp2(RowMath.Load(p + 8) - h1);
                    LineStore.Put(e0, p + offset, streaming);
                    LineStore.Put(e1, p + offset + 8, streaming);
                    s0 += e0;
                    s1 += e1;
                }

                Vector.Widen(s0, out Vector<double> lo0, out Vector<double> hi0);
                Vector.Widen(s1, out Vector<double> lo1, out Vector<double> hi1);
                lower0 += lo0;
                upper0 += hi0;
                lower1 += lo1;
                upper1 += hi1;
            }

            if (sum != null)
            {
                Unsafe.WriteUnaligned(sum + r, lower0);
                Unsafe.WriteUnaligned(sum + r + 4, upper0);
                Unsafe.WriteUnaligned(sum + r + 8, lower1);
                Unsafe.WriteUnaligned(sum + r + 12, upper1);
            }
        }
    }

    private static void Scalar(float* tile, float* exp, int keys, int rows, float* max, double* sum, bool computeMax)
    {
        for (int r = 0; r < rows; r++)
        {
            float m = float.NegativeInfinity;
            if (computeMax)
            {
                for (int j = 0; j < keys; j++)
                {
                    m = MathF.Max(m, tile[((long)j * rows) + r]);
                }

                max[r] = m;
            }
            else
            {
                m = max[r];
            }

            float shift = float.IsNegativeInfinity(m) ? 0f : m;
            double s = 0;
            for (int j = 0; j < keys; j++)
            {
                long at = ((long)j * rows) + r;
                exp[at] = FastExp.Exp2(tile[at] - shift);
                s += exp[at];
            }

            if (sum != null)
            {
                sum[r] = s;
            }
        }
    }
}
