using MixKV.Options;

namespace MixKV.Reference;

/// <summary>
/// Prefix tokens kept per head, cap_h (spec section 5). Integer arithmetic floors like Python's //.
/// </summary>
public static class Budget
{
    /// <summary>
    /// True when the layer is returned unchanged: N &lt; W, or the method's own rule (SnapKV: N &lt; budget;
    /// PyramidKV: N &lt; cap_layer + W; AdaKV: budget - W &gt; P).
    /// </summary>
    public static bool IsUncompressed(CompressionOptions options, LayerPosition layer, int tokens)
    {
        int window = options.Window;
        if (tokens < window)
        {
            return true;
        }

        int prefix = tokens - window;
        return options.Method switch
        {
            BudgetMethod.SnapKV => tokens < options.Budget,
            BudgetMethod.PyramidKV => tokens < PyramidCapUnclamped(options.Budget, window, prefix, options.Beta, layer) + window,
            BudgetMethod.AdaKV => options.Budget - window > prefix,
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Method, "unknown budget method"),
        };
    }

    /// <summary>
    /// cap_h for every head, clamped to [0, P]. <paramref name="attention"/> (A, [Hkv][P]) is read only by
    /// AdaKV past its skip layers. Call only when <see cref="IsUncompressed"/> is false.
    /// </summary>
    public static int[] Caps(CompressionOptions options, LayerPosition layer, double[][] attention, int kvHeads, int tokens)
    {
        int prefix = tokens - options.Window;
        int baseCap = options.Budget - options.Window;
        int[] caps = options.Method switch
        {
            BudgetMethod.SnapKV => Uniform(kvHeads, baseCap),
            BudgetMethod.PyramidKV => Uniform(kvHeads, PyramidCapUnclamped(options.Budget, options.Window, prefix, options.Beta, layer)),
            BudgetMethod.AdaKV when layer.Index < options.Skip => Uniform(kvHeads, baseCap),
            BudgetMethod.AdaKV => AdaKVCaps(attention, baseCap, options.FloorAlpha, options.Normalize),
            _ => throw new ArgumentOutOfRangeException(nameof(options), options.Method, "unknown budget method"),
        };

        for (int h = 0; h < caps.Length; h++)
        {
            caps[h] = Math.Clamp(caps[h], 0, prefix);
        }

        return caps;
    }

    /// <summary>
    /// PyramidKV: base = budget - W; lo = base // beta; hi = 2·base - lo; if hi &gt;= P then hi = P and
    /// lo = 2·base - hi; steps = (hi - lo) // (L - 1) (0 for one layer); cap = hi - l·steps.
    /// </summary>
    public static int PyramidCapUnclamped(int budget, int window, int prefix, int beta, LayerPosition layer)
    {
        long baseCap = budget - window;
        long lo = FloorDiv(baseCap, beta);
        long hi = 2 * baseCap - lo;
        if (hi >= prefix)
        {
            hi = prefix;
            lo = 2 * baseCap - hi;
        }

        long steps = layer.Count == 1 ? 0 : FloorDiv(hi - lo, layer.Count - 1);
        return (int)(hi - layer.Index * steps);
    }

    /// <summary>
    /// AdaKV's normalisation of one head: sum(top base) / sum(all) of A sorted descending, both summed
    /// in that order (the fast path sums identically, so its caps match bit for bit). A head with no
    /// attention mass at all has nothing to rescale: 1.
    /// </summary>
    public static double TopShare(ReadOnlySpan<double> sortedDescending, int baseCap)
    {
        double top = 0, all = 0;
        for (int i = 0; i < sortedDescending.Length; i++)
        {
            all += sortedDescending[i];
            if (i < baseCap)
            {
                top += sortedDescending[i];
            }
        }

        return all > 0 ? top / all : 1.0;
    }

    /// <summary>
    /// AdaKV: per head sort A descending (optionally rescaled by the head's top-base share), take the
    /// Hkv·base largest over all heads (ties: lower head, then better rank), count per head, and
    /// cap_h = round_half_even(count_h·(1 - α) + floor(base·α)).
    /// </summary>
    public static int[] AdaKVCaps(double[][] attention, int baseCap, double floorAlpha, bool normalize)
    {
        int heads = attention.Length;
        var candidates = new List<(double Score, int Head, int Rank)>();
        for (int h = 0; h < heads; h++)
        {
            double[] sorted = (double[])attention[h].Clone();
            Array.Sort(sorted, (x, y) => y.CompareTo(x));
            double factor = normalize ? TopShare(sorted, baseCap) : 1.0;

            for (int rank = 0; rank < sorted.Length; rank++)
            {
                candidates.Add((sorted[rank] * factor, h, rank));
            }
        }

        candidates.Sort((x, y) =>
        {
            int byScore = y.Score.CompareTo(x.Score);
            if (byScore != 0)
            {
                return byScore;
            }

            return x.Head != y.Head ? x.Head.CompareTo(y.Head) : x.Rank.CompareTo(y.Rank);
        });

        var counts = new int[heads];
        long take = Math.Min((long)heads * baseCap, candidates.Count);
        for (int i = 0; i < take; i++)
        {
            counts[candidates[i].Head]++;
        }

        double floor = Math.Floor(baseCap * floorAlpha);
        return Array.ConvertAll(counts, count => (int)Math.Round(count * (1.0 - floorAlpha) + floor, MidpointRounding.ToEven));
    }

    /// <summary>Floor division (Python's //), unlike C#'s truncating /.</summary>
    public static long FloorDiv(long a, long b)
    {
        long q = a / b;
        return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
    }

    private static int[] Uniform(int heads, int cap) => Enumerable.Repeat(cap, heads).ToArray();
}
