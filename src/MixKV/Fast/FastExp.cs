using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MixKV.Fast;

/// <summary>
/// 2^x in fp32 for the softmax: the logits come out of the GEMM in log2 units (log2 e is folded
/// into the query panel, see <see cref="WindowScoresPass.PackQueries"/>), so x = logit - row max
/// &lt;= 0 needs no Cody–Waite reduction: n = round(x), f = x - n (exact, |f| &lt;= 1/2), a degree-6
/// minimax polynomial for 2^f (Cephes exp2f; its error is below the fp32 rounding of the
/// evaluation, about 1e-7 relative in all), and 2^n applied with AVX-512 vscalefps (or built in the
/// exponent bits). x below -126 (including the -inf of the causal mask) gives exactly 0, so no
/// denormal ever reaches the mass sums.
/// </summary>
internal static class FastExp
{
    private const float Lowest = -126f;
    private const float RoundMagic = 12582912f; // 1.5·2^23: adding it rounds to an integer
    private const float C1 = 6.931472028550421E-001f, C2 = 2.402264791363012E-001f, C3 = 5.550332471162809E-002f;
    private const float C4 = 9.618437357674640E-003f, C5 = 1.339887440266574E-003f, C6 = 1.535336188319500E-004f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp2(Vector512<float> x)
    {
        Vector512<float> underflow = Vector512.LessThan(x, Vector512.Create(Lowest));
        if (!Avx512F.IsSupported)
        {
            x = Vector512.Max(x, Vector512.Create(Lowest - 1));
        }

        // Round to nearest even, exceptions suppressed (-inf stays -inf; the underflow mask zeroes it).
        Vector512<float> n = Avx512F.IsSupported
            ? Avx512F.RoundScale(x, 0x08)
            : (x + Vector512.Create(RoundMagic)) - Vector512.Create(RoundMagic);
        Vector512<float> p = Polynomial(x - n);
        Vector512<float> scaled = Avx512F.IsSupported
            ? Avx512F.Scale(p, n)
            : p * Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23).AsSingle();
        return Vector512.AndNot(scaled, underflow);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Exp2(Vector<float> x)
    {
        Vector<float> underflow = Vector.AsVectorSingle(Vector.LessThan(x, new Vector<float>(Lowest)));
        x = Vector.Max(x, new Vector<float>(Lowest - 1));
        Vector<float> n = (x + new Vector<float>(RoundMagic)) - new Vector<float>(RoundMagic);
        Vector<float> f = x - n;
        Vector<float> p = Vector.FusedMultiplyAdd(new Vector<float>(C6), f, new Vector<float>(C5));
        p = Vector.FusedMultiplyAdd(p, f, new Vector<float>(C4));
        p = Vector.FusedMultiplyAdd(p, f, new Vector<float>(C3));
        p = Vector.FusedMultiplyAdd(p, f, new Vector<float>(C2));
        p = Vector.FusedMultiplyAdd(p, f, new Vector<float>(C1));
        p = Vector.FusedMultiplyAdd(p, f, Vector<float>.One);
        Vector<int> bits = Vector.ShiftLeft(Vector.ConvertToInt32(n) + new Vector<int>(127), 23);
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
        float p = MathF.FusedMultiplyAdd(C6, f, C5);
        p = MathF.FusedMultiplyAdd(p, f, C4);
        p = MathF.FusedMultiplyAdd(p, f, C3);
        p = MathF.FusedMultiplyAdd(p, f, C2);
        p = MathF.FusedMultiplyAdd(p, f, C1);
        p = MathF.FusedMultiplyAdd(p, f, 1f);
        return p * BitConverter.Int32BitsToSingle(((int)n + 127) << 23);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Polynomial(Vector512<float> f)
    {
        Vector512<float> p = Vector512.FusedMultiplyAdd(Vector512.Create(C6), f, Vector512.Create(C5));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C4));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C3));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C2));
        p = Vector512.FusedMultiplyAdd(p, f, Vector512.Create(C1));
        return Vector512.FusedMultiplyAdd(p, f, Vector512<float>.One);
    }
}
