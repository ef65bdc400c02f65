using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace MixKV.Fast;

/// <summary>
/// exp(x) in fp32 for the softmax (x = logit - row max, so x &lt;= 0): Cody–Waite reduction
/// x = n·ln2 + r with |r| &lt;= ln2/2, a degree-7 Taylor polynomial for e^r (truncation 5e-9
/// relative), and 2^n built in the exponent bits. About 2 ulp; x below -87.3 (including the
/// -inf of the causal mask) gives exactly 0.
/// </summary>
internal static class FastExp
{
    private const float Log2E = 1.44269504088896341f;
    private const float Ln2Hi = 0.693359375f;
    private const float Ln2Lo = -2.12194440e-4f;
    private const float RoundMagic = 12582912f; // 1.5·2^23: adding it rounds to an integer
    private const float Lowest = -87.3f;
    private const float Highest = 88.0f;
    private const float C2 = 1f / 2, C3 = 1f / 6, C4 = 1f / 24, C5 = 1f / 120, C6 = 1f / 720, C7 = 1f / 5040;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        Vector512<float> underflow = Vector512.LessThan(x, Vector512.Create(Lowest));
        x = Vector512.Min(Vector512.Max(x, Vector512.Create(Lowest)), Vector512.Create(Highest));
        Vector512<float> n = Vector512.FusedMultiplyAdd(x, Vector512.Create(Log2E), Vector512.Create(RoundMagic)) - Vector512.Create(RoundMagic);
        Vector512<float> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), r);
        Vector512<float> p = Vector512.FusedMultiplyAdd(Vector512.Create(C7), r, Vector512.Create(C6));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C5));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(C2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512<float>.One);
        Vector512<int> bits = Vector512.ShiftLeft(Vector512.ConvertToInt32(n) + Vector512.Create(127), 23);
        return Vector512.AndNot(p * bits.AsSingle(), underflow);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<float> Exp(Vector<float> x)
    {
        Vector<float> underflow = Vector.AsVectorSingle(Vector.LessThan(x, new Vector<float>(Lowest)));
        x = Vector.Min(Vector.Max(x, new Vector<float>(Lowest)), new Vector<float>(Highest));
        Vector<float> n = Vector.FusedMultiplyAdd(x, new Vector<float>(Log2E), new Vector<float>(RoundMagic)) - new Vector<float>(RoundMagic);
        Vector<float> r = Vector.FusedMultiplyAdd(n, new Vector<float>(-Ln2Hi), x);
        r = Vector.FusedMultiplyAdd(n, new Vector<float>(-Ln2Lo), r);
        Vector<float> p = Vector.FusedMultiplyAdd(new Vector<float>(C7), r, new Vector<float>(C6));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(C5));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(C4));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(C3));
        p = Vector.FusedMultiplyAdd(p, r, new Vector<float>(C2));
        p = Vector.FusedMultiplyAdd(p, r, Vector<float>.One);
        p = Vector.FusedMultiplyAdd(p, r, Vector<float>.One);
        Vector<int> bits = Vector.ShiftLeft(Vector.ConvertToInt32(n) + new Vector<int>(127), 23);
        return Vector.AndNot(p * Vector.AsVectorSingle(bits), underflow);
    }

    /// <summary>Scalar form with the same arithmetic, for tails.</summary>
    public static float Exp(float x)
    {
        if (x < Lowest)
        {
            return 0f;
        }

        x = MathF.Min(x, Highest);
        float n = MathF.FusedMultiplyAdd(x, Log2E, RoundMagic) - RoundMagic;
        float r = MathF.FusedMultiplyAdd(n, -Ln2Hi, x);
        r = MathF.FusedMultiplyAdd(n, -Ln2Lo, r);
        float p = MathF.FusedMultiplyAdd(C7, r, C6);
        p = MathF.FusedMultiplyAdd(p, r, C5);
        p = MathF.FusedMultiplyAdd(p, r, C4);
        p = MathF.FusedMultiplyAdd(p, r, C3);
        p = MathF.FusedMultiplyAdd(p, r, C2);
        p = MathF.FusedMultiplyAdd(p, r, 1f);
        p = MathF.FusedMultiplyAdd(p, r, 1f);
        return p * BitConverter.Int32BitsToSingle(((int)n + 127) << 23);
    }
}
