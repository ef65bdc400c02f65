namespace MixKV.Fast;

/// <summary>
/// Per-head top-cap of S with the tie rule of spec section 6 (equal scores: the lower position wins),
/// in O(P): a quickselect finds the cap-th largest value t, then one ascending scan keeps every
/// score above t and the first (cap - #above) scores equal to t — already in position order.
/// NaN (only possible with CheckFinite off) ranks below everything, like the reference.
/// </summary>
internal static class TopKSelect
{
    /// <summary>Writes the kept positions, ascending, to <paramref name="destination"/> (length cap).</summary>
    public static void Select(ReadOnlySpan<double> scores, int cap, Span<int> destination) => Select(scores, cap, destination, null);

    /// <param name="scratch"><see cref="ScratchLength"/> doubles (reused across calls), or null.</param>
    public static void Select(ReadOnlySpan<double> scores, int cap, Span<int> destination, double[]? scratch)
    {
        int p = scores.Length;
        if ((uint)cap > (uint)p)
        {
            throw new ArgumentOutOfRangeException(nameof(cap), $"cap {cap} must lie in [0, {p}]");
        }

        if (cap == 0)
        {
            return;
        }

        double[] keys = scratch is not null && scratch.Length >= ScratchLength(p) ? scratch : new double[ScratchLength(p)];
        int candidates = Candidates(scores, cap, keys);
        double threshold = NthLargest(keys, candidates, cap - 1);
        int above = 0;
        for (int i = 0; i < p; i++)
        {
            if (Key(scores[i]) > threshold)
            {
                above++;
            }
        }

        int equalsLeft = cap - above, written = 0;
        for (int i = 0; i < p && written < cap; i++)
        {
            double s = Key(scores[i]);
            if (s > threshold || (s == threshold && equalsLeft-- > 0))
            {
                destination[written++] = i;
            }
        }

        // NaN scores map to -inf; if -inf is the cut, NaN and -inf share it in position order.
    }

    private static double Key(double s) => double.IsNaN(s) ? double.NegativeInfinity : s;

    /// <summary>Scores per block of the pre-filter.</summary>
    private const int Block = 64;

    /// <summary>Doubles of scratch that <see cref="Select(ReadOnlySpan{double}, int, Span{int}, double[])"/> needs for P scores.</summary>
    public static int ScratchLength(int p) => p + ((p + Block - 1) / Block);

    /// <summary>
    /// Copies to <paramref name="keys"/> every key that can be the cap-th largest and returns how
    /// many: the cap largest block maxima are cap distinct scores, so the cap-th largest score is at
    /// least the cap-th largest block maximum L, and only keys &gt;= L are kept (typically a few
    /// times cap of P, so the quickselect runs on those instead of all P). Uses the keys array's
    /// tail for the block maxima.
    /// </summary>
    private static int Candidates(ReadOnlySpan<double> scores, int cap, double[] keys)
    {
        int p = scores.Length, blocks = (p + Block - 1) / Block;
        if (blocks <= cap || keys.Length < p + blocks)
        {
            for (int i = 0; i < p; i++)
            {
                keys[i] = Key(scores[i]);
            }

            return p;
        }

        // Block maxima at keys[p ..): the array was sized with room for them.
        for (int b = 0; b < blocks; b++)
        {
            double max = double.NegativeInfinity;
            for (int i = b * Block, end = Math.Min(p, i + Block); i < end; i++)
            {
                max = Math.Max(max, Key(scores[i]));
            }

            keys[p + b] = max;
        }

        // NthLargest reorders its segment, so select on a copy placed at the front.
        Array.Copy(keys, p, keys, 0, blocks);
        double bound = NthLargest(keys, blocks, cap - 1);
        int count = 0;
        for (int i = 0; i < p; i++)
        {
            double k = Key(scores[i]);
            if (k >= bound)
            {
                keys[count++] = k;
            }
        }

        return count;
    }

    /// <summary>The value of rank <paramref name="k"/> (0 = largest) among a[0 .. length); reorders them. Three-way partitions make runs of equal values O(n).</summary>
    private static double NthLargest(double[] a, int length, int k)
    {
        int lo = 0, hi = length - 1;
        while (true)
        {
            if (lo == hi)
            {
                return a[lo];
            }

            double pivot = MedianOfThree(a[lo], a[lo + ((hi - lo) / 2)], a[hi]);
            // [lo, gt) > pivot, [gt, i) == pivot, (lt, hi] < pivot — descending order.
            int gt = lo, i = lo, lt = hi;
            while (i <= lt)
            {
                double x = a[i];
                if (x > pivot)
                {
                    (a[gt], a[i]) = (a[i], a[gt]);
                    gt++;
                    i++;
                }
                else if (x < pivot)
                {
                    (a[i], a[lt]) = (a[lt], a[i]);
                    lt--;
                }
                else
                {
                    i++;
                }
            }

            if (k < gt)
            {
                hi = gt - 1;
            }
            else if (k <= lt)
            {
                return pivot;
            }
            else
            {
                lo = lt + 1;
            }
        }
    }

    private static double MedianOfThree(double a, double b, double c) =>
        Math.Max(Math.Min(a, b), Math.Min(Math.Max(a, b), c));
}
