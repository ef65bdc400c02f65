namespace MixKV.Kernels;

/// <summary>
/// The widest word (16, 4 or 2 bytes) a row copy can move: it must divide the row size, every
/// stride and every base address, or the wide loads would be misaligned.
/// </summary>
internal static class RowCopyWord
{
    public static int Pick(int rowBytes, params long[] addressesAndStrides)
    {
        foreach (int word in (int[])[16, 4, 2])
        {
            if (rowBytes % word == 0 && addressesAndStrides.All(x => x % word == 0))
            {
                return word;
            }
        }

        throw new ArgumentException($"rows of {rowBytes} bytes at these addresses and strides are not 2-byte aligned");
    }

    public static int Pick(int rowBytes, ulong address, long strideA, long strideB, ulong address2, long strideC, long strideD, ulong address3 = 0) =>
        Pick(rowBytes, (long)(address % 16), strideA, strideB, (long)(address2 % 16), strideC, strideD, (long)(address3 % 16));

    public static string TypeName(int word) => word switch
    {
        16 => "uint4",
        4 => "unsigned int",
        2 => "unsigned short",
        _ => throw new ArgumentOutOfRangeException(nameof(word), word, "word must be 16, 4 or 2 bytes"),
    };
}
