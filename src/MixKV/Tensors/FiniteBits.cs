using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MixKV.Tensors;

/// <summary>
/// "Any NaN or Inf in this row?" on the stored bits, vectorised: an element is non-finite exactly when
/// its exponent bits are all ones, in every dtype. No decoding, so it runs at memory speed; callers
/// decode a row only once this found something, to name the offender.
/// </summary>
public static class FiniteBits
{
    public static bool AnyNonFinite(ReadOnlySpan<byte> row, DType dtype) => dtype switch
    {
        DType.F32 => Any(MemoryMarshal.Cast<byte, uint>(row), 0x7F800000u),
        DType.F16 => Any(MemoryMarshal.Cast<byte, ushort>(row), (ushort)0x7C00),
        DType.BF16 => Any(MemoryMarshal.Cast<byte, ushort>(row), (ushort)0x7F80),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a storage dtype"),
    };

    private static bool Any<T>(ReadOnlySpan<T> values, T exponent)
        where T : unmanaged, IBinaryInteger<T>
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var mask = Vector512.Create(exponent);
            for (; i + Vector512<T>.Count <= values.Length; i += Vector512<T>.Count)
            {
                if (Vector512.EqualsAny(Vector512.Create(values.Slice(i, Vector512<T>.Count)) & mask, mask))
                {
                    return true;
                }
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            var mask = Vector256.Create(exponent);
            for (; i + Vector256<T>.Count <= values.Length; i += Vector256<T>.Count)
            {
                if (Vector256.EqualsAny(Vector256.Create(values.Slice(i, Vector256<T>.Count)) & mask, mask))
                {
                    return true;
                }
            }
        }

        for (; i < values.Length; i++)
        {
            if ((values[i] & exponent) == exponent)
            {
                return true;
            }
        }

        return false;
    }
}
