namespace MixKV.Fast;

/// <summary>
/// The per-head arrays of one call (results, attention, scores and the selection and sort scratch),
/// kept in the <see cref="FastWorkspace"/> between calls of the same shape: fresh 16 MB of arrays
/// per call cost 3–5% in page faults (the kernel zeroes every new page). Every array is fully
/// overwritten by the call before it is read. Calls that hand arrays out (the test intermediates)
/// take a fresh instance instead.
/// </summary>
internal sealed class CallArrays
{
    public CallArrays(int heads, int tokens, int prefix)
    {
        (Heads, Tokens, Prefix) = (heads, tokens, prefix);
        Results = new HeadResult[heads];
        for (int h = 0; h < heads; h++)
        {
            Results[h] = new HeadResult(tokens, prefix);
        }

        Attention = PerHead<double>(heads, prefix);
        Scores = PerHead<double>(heads, prefix);
        SelectKeys = PerHead<double>(heads, TopKSelect.ScratchLength(prefix));
        Sort = new SortScratch(heads, prefix);
    }

    public int Heads { get; }

    public int Tokens { get; }

    public int Prefix { get; }

    public HeadResult[] Results { get; }

    /// <summary>[Hkv][P] pooled mass A.</summary>
    public double[][] Attention { get; }

    /// <summary>[Hkv][P] mixed scores S.</summary>
    public double[][] Scores { get; }

    /// <summary>[Hkv][P] scratch of <see cref="TopKSelect"/>.</summary>
    public double[][] SelectKeys { get; }

    /// <summary>Scratch of the AdaKV allocation's per-head radix sorts.</summary>
    public SortScratch Sort { get; }

    public bool Fits(int heads, int tokens, int prefix) => Heads == heads && Tokens == tokens && Prefix == prefix;

    internal static T[][] PerHead<T>(int heads, int length)
    {
        var rows = new T[heads][];
        for (int h = 0; h < heads; h++)
        {
            rows[h] = new T[length];
        }

        return rows;
    }
}

/// <summary>Per-head buffers of <see cref="RadixSort"/> and the sorted copies of A (<see cref="FastBudget"/>).</summary>
internal sealed class SortScratch(int heads, int length)
{
    /// <summary>[Hkv][P] each head's largest A, descending, in the first <see cref="Lengths"/>[h] places.</summary>
    public double[][] Sorted { get; } = CallArrays.PerHead<double>(heads, length);

    /// <summary>[Hkv] how many of each head's largest A are sorted (as many as the allocation can take from one head).</summary>
    public int[] Lengths { get; } = new int[heads];

    /// <summary>[Hkv][P / stride] the sample that bounds each head's largest values.</summary>
    public double[][] Sample { get; } = CallArrays.PerHead<double>(heads, (length + FastBudget.SampleStride - 1) / FastBudget.SampleStride);

    public ulong[][] Keys { get; } = CallArrays.PerHead<ulong>(heads, length);

    public ulong[][] Other { get; } = CallArrays.PerHead<ulong>(heads, length);

    public int[][] Counts { get; } = CallArrays.PerHead<int>(heads, RadixSort.CountLength);

    /// <summary>[Hkv] each head's normalisation factor (1 without normalisation).</summary>
    public double[] Factor { get; } = new double[heads];
}
