using MixKV.Tensors;

namespace MixKV.Fast;

/// <summary>
/// "Any NaN or Inf?" over the stored bits of a whole tensor, row by row through <see cref="FiniteBits"/>. Used
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

    private static bool RowHasNonFinite(byte* row, DType dtype, int dim) =>
        FiniteBits.AnyNonFinite(new ReadOnlySpan<byte>(row, dim * dtype.Size()), dtype);
}
