namespace MixKV.Fast;

/// <summary>
/// LSD radix sort of doubles, ascending, in O(n) (11-bit digits, six scatter passes at most; a
/// pass whose digit is the same for every value is skipped). The sorted sequence equals any
/// comparison sort's up to the order of bit-identical values, so sums taken over it in a fixed
/// direction are bit-identical to the reference's (which sorts with <see cref="double.CompareTo(double)"/>).
/// -0.0 sorts just below +0.0 (they compare equal there; a sum cannot tell them apart unless every
/// term is zero). NaN is not expected (the attention mass has none).
/// </summary>
internal static class RadixSort
{
    private const int DigitBits = 11;
    private const int Buckets = 1 << DigitBits;
    private const int Digits = (64 + DigitBits - 1) / DigitBits;

    /// <summary>Length of the counts scratch.</summary>
    public const int CountLength = Digits * Buckets;

    /// <summary>Sorts <paramref name="values"/> ascending in place.</summary>
    public static void Ascending(double[] values) =>
        Ascending(values, new ulong[values.Length], new ulong[values.Length], new int[CountLength]);

    /// <summary>Same, with caller-owned scratch (keys and other at least as long as values, counts <see cref="CountLength"/>).</summary>
    public static void Ascending(Span<double> values, Span<ulong> keys, Span<ulong> other, int[] counts)
    {
        int n = values.Length;
        if (n < 2)
        {
            return;
        }

        // Order-preserving map of the bits to unsigned keys: flip every bit of negatives, the sign bit of the rest.
        Array.Clear(counts);
        for (int i = 0; i < n; i++)
        {
            ulong bits = (ulong)BitConverter.DoubleToInt64Bits(values[i]);
            ulong key = (bits & 0x8000_0000_0000_0000UL) != 0 ? ~bits : bits | 0x8000_0000_0000_0000UL;
            keys[i] = key;
            for (int d = 0; d < Digits; d++)
            {
                counts[(d * Buckets) + (int)((key >> (d * DigitBits)) & (Buckets - 1))]++;
            }
        }

        for (int d = 0; d < Digits; d++)
        {
            Span<int> count = counts.AsSpan(d * Buckets, Buckets);
            int shift = d * DigitBits;
            if (count[(int)((keys[0] >> shift) & (Buckets - 1))] == n)
            {
                continue; // every key has this digit
            }

            int offset = 0;
            for (int b = 0; b < Buckets; b++)
            {
                int c = count[b];
                count[b] = offset;
                offset += c;
            }

            for (int i = 0; i < n; i++)
            {
                ulong key = keys[i];
                other[count[(int)((key >> shift) & (Buckets - 1))]++] = key;
            }

            Span<ulong> swap = keys;
            keys = other;
            other = swap;
        }

        for (int i = 0; i < n; i++)
        {
            ulong key = keys[i];
            ulong bits = (key & 0x8000_0000_0000_0000UL) != 0 ? key & 0x7FFF_FFFF_FFFF_FFFFUL : ~key;
            values[i] = BitConverter.Int64BitsToDouble((long)bits);
        }
    }
}
