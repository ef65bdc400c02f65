using System.Numerics;
using System.Runtime.Intrinsics;
using MixKV.Fast;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Fast;

/// <summary>
/// The softmax's 2^x (<see cref="FastExp"/>), in all three forms, against double precision: within
/// 3e-7 relative over the exponents the tiles produce, exactly 0 below -126 and for the -inf of the
/// causal mask (no denormal, no NaN), exactly 1 at 0.
/// </summary>
[TestFixture]
public sealed class FastExpTests
{
    /// <summary>Degree-5 fit: 2e-7 measured with the fp32 evaluation; the scores are held to 1e-5.</summary>
    private const double Tolerance = 3e-7;

    [Test]
    public void AllFormsAgreeWithDoublePrecision()
    {
        var rng = TestRandom.ForCurrentTest();
        float[] x = new float[4096];
        for (int i = 0; i < x.Length; i++)
        {
            // Mostly the range a softmax tile covers, some near the underflow edge, exact integers and halves.
            x[i] = (i % 8) switch
            {
                0 => -rng.Int(0, 126),
                1 => -rng.Int(0, 252) / 2f,
                2 => (float)rng.Uniform(-126, -120),
                _ => (float)rng.Uniform(-40, 0),
            };
        }

        Check(x, rng);
    }

    [Test]
    public void UnderflowIsExactlyZero()
    {
        var rng = TestRandom.ForCurrentTest();
        float[] x = new float[64];
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = rng.Pick([float.NegativeInfinity, -126.001f, -127f, -149.5f, -1e30f, (float)rng.Uniform(-1000, -126.01)]);
        }

        foreach ((float input, float output) in x.Zip(Evaluate(x, Form.Wide)).Concat(x.Zip(Evaluate(x, Form.Portable))).Concat(x.Zip(Evaluate(x, Form.Scalar))))
        {
            Assert.That(output, Is.EqualTo(0f), rng.Say($"2^{input}"));
            Assert.That(float.IsNegative(output), Is.False, rng.Say($"2^{input} is -0"));
        }
    }

    private static void Check(float[] x, TestRandom rng)
    {
        foreach (Form form in Enum.GetValues<Form>())
        {
            float[] got = Evaluate(x, form);
            for (int i = 0; i < x.Length; i++)
            {
                double want = Math.Pow(2, x[i]);
                if (x[i] == 0)
                {
                    Assert.That(got[i], Is.EqualTo(1f), rng.Say($"{form} 2^0"));
                }

                Assert.That(Math.Abs(got[i] - want) / want, Is.LessThanOrEqualTo(Tolerance), rng.Say($"{form} 2^{x[i]:R} = {got[i]:R}, want {want:R}"));
            }
        }
    }

    private enum Form
    {
        Wide,
        Portable,
        Scalar,
    }

    private static float[] Evaluate(float[] x, Form form)
    {
        float[] result = new float[x.Length];
        Array.Fill(result, float.NaN);
        switch (form)
        {
            case Form.Wide:
                for (int i = 0; i + 16 <= x.Length; i += 16)
                {
                    FastExp.Exp2(Vector512.Create(x.AsSpan(i, 16))).CopyTo(result.AsSpan(i, 16));
                }

                break;
            case Form.Portable:
                int width = Vector<float>.Count;
                for (int i = 0; i + width <= x.Length; i += width)
                {
                    FastExp.Exp2(new Vector<float>(x.AsSpan(i, width))).CopyTo(result.AsSpan(i, width));
                }

                break;
            default:
                for (int i = 0; i < x.Length; i++)
                {
                    result[i] = FastExp.Exp2(x[i]);
                }

                break;
        }

        return result;
    }
}
