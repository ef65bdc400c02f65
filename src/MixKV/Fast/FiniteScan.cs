using System.Runtime.Intrinsics;
using MixKV.Tensors;

namespace MixKV.Fast;

/// <summary>
/// A vectorised "any NaN or Inf?" over the stored bits (exponent all ones) of a whole tensor. Used
/// where no pass reads the data anyway; the exact error (first offender, its message) always comes
/// from <see cref="Validation.InputValidator"/>, run only once something was found.
/// </summary>
internal static unsafe class FiniteScan
{
    public static bool HasNonFinite(PinnedRows rows, int heads, int tokens)
    {
        for (int h = 0; h < heads; h++)
        {
            for (int n = 0; n < tokens; n++)
            {
                if (RowHasNonFinite(rows.Row(h, n), rows.DType, rows.Dim))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool RowHasNonFinite(byte* row, DType dtype, int dim)
    {
        if (dtype == DType.F32)
        {
            uint* x = (uint*)row;
            int i = 0;
            if (Vector512.IsHardwareAccelerated)
            {
                var mask = Vector512.Create(0x7F800000u);
                for (; i + 16 <= dim; i += 16)
                {
                    if (Vector512.EqualsAny(Vector512.Load(x + i) & mask, mask))
                    {
                        return true;
                    }
                }
            }

            for (; i < dim; i++)
            {
                if ((x[i] & 0x7F800000u) == 0x7F800000u)
                {
                    return true;
                }
            }

            return false;
        }

        ushort exponent = dtype == DType.F16 ? (ushort)0x7C00 : (ushort)0x7F80;
        ushort* y = (ushort*)row;
        int j = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var mask = Vector512.Create(exponent);
            for (; j + 32 <= dim; j += 32)
            {
                if (Vector512.EqualsAny(Vector512.Load(y + j) & mask, mask))
                {
                    return true;
                }
            }
        }

        for (; j < dim; j++)
        {
            if ((y[j] & exponent) == exponent)
            {
                return true;
            }
        }

        return false;
    }
}
