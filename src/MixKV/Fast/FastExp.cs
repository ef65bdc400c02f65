using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MixKV.Fast;

/// <summary>
/// 2^x in fp32 for the softmax: the logits come out of the GEMM in log2 units (log2 e is folded
/// into the query panel, see <see cref="WindowScoresPass.PackQueries"/>), so x = logit - row max
/// &lt;= 0 needs no Cody–Waite reduction: n = round(x), f = x - n (exact, |f| &lt;= 1/2), a degree-5
/// polynomial for 2^f fitted for minimax relative error on [-1/2, 1/2] (9e-8; 2e-7 relative in all
/// with the fp32 rounding of its evaluation, against the 1e-5 the scores are held to; a sixth
/// degree would cost one more FMA per value for 1e-7), and 2^n applied with AVX-512 vscalefps (or built in the
/// exponent bits). x below -126 (including the -inf of the causal mask) gives exactly 0, so no
/// denormal ever reaches the mass sums.
/// </summary>
internal static class FastExp
{
    private const float Lowest = -126f;
    private const float RoundMagic = 12582912f; // 1.5·2^23: adding it rounds to an integer
    private const float C1 = 0.6931469775973396f, C2 = 0.24022242082679574f, C3 = 0.055507337448134075f;
    private const float C4 = 0.009671512812380238f, C5 = 0.0013264727216757823f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp2(Vector512<float> x)
    {
        if (!Avx512F.IsSupported)
        {
            Vector512<float> tooSmall = Vector512.LessThan(x, Vector512.Create(Lowest));
            x = Vector512.Max(x, Vector512.Create(Lowest - 1));
            Vector512<float> r = (x + Vector512.Create(RoundMagic)) - Vector512.Create(RoundMagic);
            Vector512<float> q = Polynomial(x - r);
            return Vector512.AndNot(q * Vector512.ShiftLeft(Vector512.ConvertToInt32(r) + Vector512.Create(127), 23).AsSingle(), tooSmall);
        }

        // Round to nearest even, exceptions suppressed (-inf stays -inf; the select below zeroes it,
        // which the JIT folds into the scale as a zero-masked vscalefps).
        Vector512<float> n = Avx512F.RoundScale(x, 0x08);
        Vector512<float> p = Polynomial(x - n);
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512.Create(Lowest)), Avx512F.Scale(p, n), Vector512<float>.Zero);
    }

    /// <summary>
    /// The Vector&lt;T&gt; form (machines without AVX-512). The native max and conversion are single
    /// instructions; Vector.Max and Vector.ConvertToInt32 add NaN and saturation handling around them
    /// (~12 more instructions a vector on AVX2, and register spills in the softmax's loops) that the
    /// clamped, integral n here never needs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Exp2(Vector<float> x)
    {
        Vector<float> underflow = Vector.AsVectorSingle(Vector.LessThan(x, new Vector<float>(Lowest)));
        x = Vector.MaxNative(x, new Vector<float>(Lowest - 1));
        Vector<float> n = (x + new Vector<float>(RoundMagic)) - new Vector<float>(RoundMagic);
        Vector<float> f = x - n;
        Vector<float> p = Vector.FusedMultiplyAdd(new Vector<float>(C5), f, new Vector<float>(C4));
        p = Vector.FusedMultiplyAdd(p, f, new Vector<float>(C3));
        p = Vector.FusedMultiplyAdd(p, f, new Vector<float>(C2));
        p = Vector.FusedMultiplyAdd(p, f, new Vector<float>(C1));
        p = Vector.FusedMultiplyAdd(p, f, Vector<float>.One);
        Vector<int> bits = Vector.ShiftLeft(Vector.ConvertToInt32Native(n) + new Vector<int>(127), 23);
        return Vector.AndNot(p * Vector.AsVectorSingle(bits), underflow);
    }

    /// <summary>Scalar form with the same arithmetic, for tails.</summary>
    public static float Exp2(float x)
    {
        if (!(x >= Lowest))
        {
            return 0f;
        }

        float n = (x + RoundMagic) - RoundMagic;
        float f = x - n;
        float p = MathF.FusedMultiplyAdd(C5, f, C4);
        p = MathF.FusedMultiplyAdd(p, f, C3);
        p = MathF.FusedMultiplyAdd(p, f, C2);
        p = MathF.FusedMultiplyAdd(p, f, C1);
        p = MathF.FusedMultiplyAdd(p, f, 1f);
        return p * BitConverter.Int32BitsToSingle(((int)n + 127) << 23);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Polynomial(Vector512<float> f)
    {
        Vector512<float> p = Vector512.FusedMultiplyAdd(Vector512.Create(C5), f, Vector512.Create(C4));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C3));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C2));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C1));
        return Vector512.FusedMultiplyAdd(p, f, Vector512<float>.One);
    }
}
