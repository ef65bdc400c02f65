namespace MixKV.Reference;

/// <summary>
/// Per-head top-k over the prefix scores with the spec's tie rule, emitted in ascending position
/// order followed by the window positions (spec section 6).
/// </summary>
public static class Select
{
    /// <summary>
    /// The <paramref name="cap"/> prefix positions with the largest score; equal scores: the lower
    /// position wins. Returned ascending. NaN (never produced from validated inputs) ranks lowest so the
    /// order stays total.
    /// </summary>
    public static int[] TopPrefix(ReadOnlySpan<double> scores, int cap)
    {
        if (cap < 0 || cap > scores.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(cap), $"cap {cap} must lie in [0, {scores.Length}]");
        }

        var order = new int[scores.Length];
        for (int i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        double[] keys = scores.ToArray();
        Array.Sort(order, (x, y) => Compare(keys[x], x, keys[y], y));
        int[] kept = order[..cap];
        Array.Sort(kept);
        return kept;
    }

    /// <summary>Kept positions of each head: selected prefix positions ascending, then P..N-1.</summary>
    public static int[][] Positions(double[][] scores, int[] caps, int tokens, int window)
    {
        int prefix = tokens - window;
        var result = new int[scores.Length][];
        for (int h = 0; h < scores.Length; h++)
        {
            int[] top = TopPrefix(scores[h], caps[h]);
            var row = new int[top.Length + window];
            top.CopyTo(row, 0);
            for (int w = 0; w < window; w++)
            {
                row[top.Length + w] = prefix + w;
            }

            result[h] = row;
        }

        return result;
    }

    /// <summary>Every position of every head (the uncompressed layer).</summary>
    public static int[][] All(int heads, int tokens) =>
        Enumerable.Range(0, heads).Select(_ => Enumerable.Range(0, tokens).ToArray()).ToArray();

    /// <summary>Higher score first; equal (or both NaN) scores: lower position first.</summary>
    private static int Compare(double a, int positionA, double b, int positionB)
    {
        bool nanA = double.IsNaN(a), nanB = double.IsNaN(b);
        if (nanA != nanB)
        {
            return nanA ? 1 : -1;
        }

        if (!nanA && a != b)
        {
            return a > b ? -1 : 1;
        }

        return positionA.CompareTo(positionB);
    }
}
