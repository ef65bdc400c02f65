using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Validation;

/// <summary>
/// <see cref="FiniteBits"/>, the bit scan behind the finite check: one NaN or Inf anywhere in a row,
/// in the vectorised body or the scalar tail, is found; the finite extremes (largest magnitude,
/// subnormals, both zeros) are not mistaken for one. Rows longer than a 512-bit vector, of lengths
/// that leave tails.
/// </summary>
[TestFixture]
public sealed class FiniteBitsTests
{
    private static readonly float[] FiniteExtremes = [float.MaxValue, -float.MaxValue, float.Epsilon, -float.Epsilon, 0.0f, -0.0f, 65504f, -65504f, 1e-7f];

    [Test]
    public void OneNonFiniteAnywhereIsFound([Values] DType dtype, [Values] bool nan, [Values(1, 31, 33, 100, 257)] int dim)
    {
        var rng = TestRandom.ForCurrentTest();
        int size = Elements.Size(dtype);
        byte[] row = FiniteRow(rng, dtype, dim);
        Assert.That(FiniteBits.AnyNonFinite(row, dtype), Is.False, rng.Say($"{dtype} D {dim}: all finite"));

        int at = rng.Int(0, dim - 1);
        Elements.WriteNonFinite(row.AsSpan(at * size, size), dtype, nan);
        Assert.That(FiniteBits.AnyNonFinite(row, dtype), Is.True, rng.Say($"{dtype} D {dim}: {(nan ? "NaN" : "Inf")} at {at}"));
    }

    [Test]
    public void FiniteExtremesAreFinite([Values] DType dtype)
    {
        var rng = TestRandom.ForCurrentTest();
        int dim = 64 + rng.Int(0, 63);
        byte[] row = new byte[dim * Elements.Size(dtype)];
        for (int i = 0; i < dim; i++)
        {
            float value = rng.Pick(FiniteExtremes);
            Elements.Write(row.AsSpan(i * Elements.Size(dtype), Elements.Size(dtype)), dtype, dtype == DType.F32 ? value : Math.Clamp(value, -60000f, 60000f));
        }

        Assert.That(FiniteBits.AnyNonFinite(row, dtype), Is.False, rng.Say($"{dtype} D {dim}"));
    }

    private static byte[] FiniteRow(TestRandom rng, DType dtype, int dim)
    {
        int size = Elements.Size(dtype);
        byte[] row = new byte[dim * size];
        for (int i = 0; i < dim; i++)
        {
            Elements.Write(row.AsSpan(i * size, size), dtype, (float)(rng.Gaussian() * 100));
        }

        return row;
    }
}
