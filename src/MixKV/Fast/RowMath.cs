using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MixKV.Fast;

/// <summary>
/// fp32 row primitives of the fast path (length D, L1-resident rows). <c>wide</c> selects the
/// Vector512 path; otherwise the portable <see cref="Vector{T}"/> path runs. Several accumulators
/// keep the rounding of a length-D sum near log(D) ulps.
/// </summary>
internal static unsafe class RowMath
{
    public static float SumOfSquares(float* x, int n, bool wide) => Dot(x, x, n, wide);

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

    /// <summary>unit += x·scale; raw += x.</summary>
    public static void AccumulateScaledAndRaw(float* x, float scale, float* unit, float* raw, int n, bool wide)
    {
        int i = 0;
        if (wide)
        {
            var s = Vector512.Create(scale);
            for (; i + 16 <= n; i += 16)
            {
                var v = Vector512.Load(x + i);
                Vector512.FusedMultiplyAdd(v, s, Vector512.Load(unit + i)).Store(unit + i);
                (v + Vector512.Load(raw + i)).Store(raw + i);
            }
        }
        else if (Vector.IsHardwareAccelerated)
        {
            var s = new Vector<float>(scale);
            for (; i + Vector<float>.Count <= n; i += Vector<float>.Count)
            {
                var v = Load(x + i);
                Store(Vector.FusedMultiplyAdd(v, s, Load(unit + i)), unit + i);
                Store(v + Load(raw + i), raw + i);
            }
        }

        for (; i < n; i++)
        {
            unit[i] = MathF.FusedMultiplyAdd(x[i], scale, unit[i]);
            raw[i] += x[i];
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
