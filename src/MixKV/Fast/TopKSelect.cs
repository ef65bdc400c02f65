using System.Numerics;

namespace MixKV.Fast;

/// <summary>
/// Per-head top-cap of S with the tie rule of spec section 6 (equal scores: the lower position wins),
/// in O(P): a quickselect finds the cap-th largest value t, then one ascending scan keeps every
/// score above t and the first (cap - #above) scores equal to t — already in position order. The
/// passes over all P scores (block maxima, the candidate filter, the final scan) go a vector at a
/// time and drop to single scores only in the rare vectors that hold a candidate.
/// NaN (only possible with CheckFinite off) ranks below everything, -inf included, like the reference.
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
        // Every key above the threshold is a candidate (the threshold is at least the filter's bound).
        int above = 0;
        for (int i = 0; i < candidates; i++)
        {
            if (keys[i] > threshold)
            {
                above++;
            }
        }

        Keep(scores, threshold, cap - above, destination[..cap]);
    }

    /// <summary>
    /// One ascending scan: every score above the threshold and the first <paramref name="equalsLeft"/>
    /// equal to it, until the destination is full. Vectors of scores with none at or above the
    /// threshold (nearly all) are skipped whole.
    /// </summary>
    private static void Keep(ReadOnlySpan<double> scores, double threshold, int equalsLeft, Span<int> destination)
    {
        if (double.IsNegativeInfinity(threshold))
        {
            KeepDownToNegativeInfinity(scores, equalsLeft, destination);
            return;
        }

        int p = scores.Length, written = 0, i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var t = new Vector<double>(threshold);
            for (; i + Vector<double>.Count <= p; i += Vector<double>.Count)
            {
                if (!Vector.GreaterThanOrEqualAny(KeyOf(new Vector<double>(scores[i..])), t))
                {
                    continue;
                }

                for (int lane = i; lane < i + Vector<double>.Count; lane++)
                {
                    double s = Key(scores[lane]);
                    if (s > threshold || (s == threshold && equalsLeft-- > 0))
                    {
                        destination[written++] = lane;
                        if (written == destination.Length)
                        {
                            return;
                        }
                    }
                }
            }
        }

        for (; i < p && written < destination.Length; i++)
        {
            double s = Key(scores[i]);
            if (s > threshold || (s == threshold && equalsLeft-- > 0))
            {
                destination[written++] = i;
            }
        }

    }

    /// <summary>
    /// The cut at -inf (only with CheckFinite off): NaN keys share the quickselect's -inf, but the
    /// reference ranks NaN below -inf, so the -inf scores fill the remaining places first, then the
    /// NaNs, each in position order.
    /// </summary>
    private static void KeepDownToNegativeInfinity(ReadOnlySpan<double> scores, int equalsLeft, Span<int> destination)
    {
        int negativeInfinities = 0;
        foreach (double s in scores)
        {
            negativeInfinities += double.IsNegativeInfinity(s) ? 1 : 0;
        }

        int infinitiesLeft = Math.Min(equalsLeft, negativeInfinities), nansLeft = equalsLeft - infinitiesLeft, written = 0;
        for (int i = 0; i < scores.Length && written < destination.Length; i++)
        {
            double s = scores[i];
            if (s > double.NegativeInfinity || (double.IsNegativeInfinity(s) && infinitiesLeft-- > 0) || (double.IsNaN(s) && nansLeft-- > 0))
            {
                destination[written++] = i;
            }
        }
    }

    /// <summary><see cref="Key(double)"/> of every lane.</summary>
    private static Vector<double> KeyOf(Vector<double> s) => Vector.ConditionalSelect(Vector.Equals(s, s), s, new Vector<double>(double.NegativeInfinity));

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
            for (int n = 0; n < p; n++)
            {
                keys[n] = Key(scores[n]);
            }

            return p;
        }

        // Block maxima at keys[p ..): the array was sized with room for them.
        for (int b = 0; b < blocks; b++)
        {
            keys[p + b] = BlockMax(scores[(b * Block)..Math.Min(p, (b + 1) * Block)]);
        }

        // NthLargest reorders its segment, so select on a copy placed at the front.
        Array.Copy(keys, p, keys, 0, blocks);
        double bound = NthLargest(keys, blocks, cap - 1);
        int count = 0, i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var b = new Vector<double>(bound);
            for (; i + Vector<double>.Count <= p; i += Vector<double>.Count)
            {
                Vector<double> k = KeyOf(new Vector<double>(scores[i..]));
                if (Vector.GreaterThanOrEqualAny(k, b))
                {
                    for (int lane = 0; lane < Vector<double>.Count; lane++)
                    {
                        if (k[lane] >= bound)
                        {
                            keys[count++] = k[lane];
                        }
                    }
                }
            }
        }

        for (; i < p; i++)
        {
            double k = Key(scores[i]);
            if (k >= bound)
            {
                keys[count++] = k;
            }
        }

        return count;
    }

    private static double BlockMax(ReadOnlySpan<double> block)
    {
        double max = double.NegativeInfinity;
        int i = 0;
        if (Vector.IsHardwareAccelerated && block.Length >= Vector<double>.Count)
        {
            var m = new Vector<double>(double.NegativeInfinity);
            for (; i + Vector<double>.Count <= block.Length; i += Vector<double>.Count)
            {
                m = Vector.Max(m, KeyOf(new Vector<double>(block[i..])));
            }

            for (int lane = 0; lane < Vector<double>.Count; lane++)
            {
                max = Math.Max(max, m[lane]);
            }
        }

        for (; i < block.Length; i++)
        {
            max = Math.Max(max, Key(block[i]));
        }

        return max;
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
