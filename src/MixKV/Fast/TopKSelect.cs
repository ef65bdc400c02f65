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
    public static void Select(ReadOnlySpan<double> scores, int cap, Span<int> destination)
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

        var keys = new double[p];
        for (int i = 0; i < p; i++)
        {
            keys[i] = double.IsNaN(scores[i]) ? double.NegativeInfinity : scores[i];
        }

        double threshold = NthLargest(keys, cap - 1);
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

    /// <summary>The value of rank <paramref name="k"/> (0 = largest); reorders <paramref name="a"/>. Three-way partitions make runs of equal values O(n).</summary>
    private static double NthLargest(double[] a, int k)
    {
        int lo = 0, hi = a.Length - 1;
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
