using System.Numerics;
using System.Runtime.Intrinsics;

namespace MixKV.Fast;

/// <summary>
/// The per-chunk half of the online softmax (spec section 2) on a key-major logit tile [keys, R]:
/// each row's max over the chunk's keys (or a max given by pass 1), tile ← exp(tile - max) in
/// place, and each row's Σ exp in double. Rows whose every key is masked have max -inf and
/// exponentiate to 0 (shift 0 instead of -inf, so no NaN).
/// </summary>
internal static unsafe class TileSoftmax
{
    /// <param name="max">[R] written when <paramref name="computeMax"/>, else read.</param>
    /// <param name="sum">[R] written when not null.</param>
    public static void Exponentiate(float* tile, int keys, int rows, float* max, double* sum, bool computeMax, bool wide)
    {
        if (wide)
        {
            Wide(tile, keys, rows, max, sum, computeMax);
        }
        else
        {
            Portable(tile, keys, rows, max, sum, computeMax);
        }
    }

    private static void Wide(float* tile, int keys, int rows, float* max, double* sum, bool computeMax)
    {
        var negativeInfinity = Vector512.Create(float.NegativeInfinity);
        for (int r = 0; r < rows; r += 16)
        {
            Vector512<float> m;
            if (computeMax)
            {
                m = negativeInfinity;
                for (int j = 0; j < keys; j++)
                {
                    m = Vector512.Max(m, Vector512.Load(tile + ((long)j * rows) + r));
                }

                m.Store(max + r);
            }
            else
            {
                m = Vector512.Load(max + r);
            }

            Vector512<float> shift = Vector512.ConditionalSelect(Vector512.Equals(m, negativeInfinity), Vector512<float>.Zero, m);
            Vector512<double> lower = Vector512<double>.Zero, upper = Vector512<double>.Zero;
            for (int j = 0; j < keys; j++)
            {
                float* p = tile + ((long)j * rows) + r;
                Vector512<float> e = FastExp.Exp(Vector512.Load(p) - shift);
                e.Store(p);
                (Vector512<double> lo, Vector512<double> hi) = Vector512.Widen(e);
                lower += lo;
                upper += hi;
            }

            if (sum != null)
            {
                lower.Store(sum + r);
                upper.Store(sum + r + 8);
            }
        }
    }

    private static void Portable(float* tile, int keys, int rows, float* max, double* sum, bool computeMax)
    {
        int width = Vector.IsHardwareAccelerated && rows % Vector<float>.Count == 0 ? Vector<float>.Count : 1;
        if (width == 1)
        {
            Scalar(tile, keys, rows, max, sum, computeMax);
            return;
        }

        var negativeInfinity = new Vector<float>(float.NegativeInfinity);
        for (int r = 0; r < rows; r += width)
        {
            Vector<float> m;
            if (computeMax)
            {
                m = negativeInfinity;
                for (int j = 0; j < keys; j++)
                {
                    m = Vector.Max(m, RowMath.Load(tile + ((long)j * rows) + r));
                }

                RowMath.Store(m, max + r);
            }
            else
            {
                m = RowMath.Load(max + r);
            }

            Vector<float> shift = Vector.ConditionalSelect(Vector.Equals(m, negativeInfinity), Vector<float>.Zero, m);
            for (int j = 0; j < keys; j++)
            {
                float* p = tile + ((long)j * rows) + r;
                Vector<float> e = FastExp.Exp(RowMath.Load(p) - shift);
                RowMath.Store(e, p);
            }
        }

        if (sum != null)
        {
            for (int r = 0; r < rows; r++)
            {
                double s = 0;
                for (int j = 0; j < keys; j++)
                {
                    s += tile[((long)j * rows) + r];
                }

                sum[r] = s;
            }
        }
    }

    private static void Scalar(float* tile, int keys, int rows, float* max, double* sum, bool computeMax)
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
                float* p = tile + ((long)j * rows) + r;
                *p = FastExp.Exp(*p - shift);
                s += *p;
            }

            if (sum != null)
            {
                sum[r] = s;
            }
        }
    }
}
