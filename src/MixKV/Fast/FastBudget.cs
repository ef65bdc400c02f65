using MixKV.Options;
using RefBudget = MixKV.Reference.Budget;

namespace MixKV.Fast;

/// <summary>
/// cap_h (spec section 5). SnapKV, PyramidKV and AdaKV's skipped layers are integer arithmetic and
/// go through <see cref="RefBudget.Caps"/>. The AdaKV allocation gives the same counts as
/// <see cref="RefBudget.AdaKVCaps"/> on the same A (same per-head sort, same summation order for
/// the normalisation, same tie order) but radix-sorts each head in O(P) and merges the Hkv sorted
/// lists instead of sorting all Hkv·P candidates with a comparison delegate.
/// </summary>
internal static class FastBudget
{
    public static int[] Caps(CompressionOptions options, LayerPosition layer, double[][] attention, int kvHeads, int tokens, int workers, SortScratch? scratch = null)
    {
        if (options.Method != BudgetMethod.AdaKV || layer.Index < options.Skip)
        {
            return RefBudget.Caps(options, layer, attention, kvHeads, tokens);
        }

        int prefix = tokens - options.Window;
        int[] caps = AdaKVCaps(attention, options.Budget - options.Window, options.FloorAlpha, options.Normalize, workers, scratch);
        for (int h = 0; h < caps.Length; h++)
        {
            caps[h] = Math.Clamp(caps[h], 0, prefix);
        }

        return caps;
    }

    /// <param name="scratch">Buffers reused across calls (sized for these heads and P), or null.</param>
    public static int[] AdaKVCaps(double[][] attention, int baseCap, double floorAlpha, bool normalize, int workers, SortScratch? scratch = null)
    {
        int heads = attention.Length;
        var sorted = new double[heads][];
        var factor = new double[heads];
        Parallel.For(0, heads, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, workers) }, h =>
        {
            double[] row;
            if (scratch is not null)
            {
                row = scratch.Sorted[h];
                attention[h].CopyTo(row, 0);
                RadixSort.Ascending(row, scratch.Keys[h], scratch.Other[h], scratch.Counts[h]);
            }
            else
            {
                row = (double[])attention[h].Clone();
                RadixSort.Ascending(row); // O(P); the same sequence as a comparison sort (A has no NaN)
            }

            Array.Reverse(row); // descending, like the reference's y.CompareTo(x) sort
            sorted[h] = row;
            factor[h] = 1.0;
            if (normalize)
            {
                double top = 0, all = 0;
                for (int i = 0; i < row.Length; i++)
                {
                    all += row[i];
                    if (i < baseCap)
                    {
                        top += row[i];
                    }
                }

                factor[h] = all > 0 ? top / all : 1.0;
            }
        });

        // The global order is score descending, then head ascending, then rank ascending: a k-way merge
        // of the per-head lists (each already in rank order) taking the lowest head on equal scores.
        var counts = new int[heads];
        var next = new int[heads];
        long total = 0;
        foreach (double[] row in sorted)
        {
            total += row.Length;
        }

        long take = Math.Min((long)heads * baseCap, total);
        for (long t = 0; t < take; t++)
        {
            int best = -1;
            double bestScore = 0;
            for (int h = 0; h < heads; h++)
            {
                if (next[h] < sorted[h].Length)
                {
                    double score = sorted[h][next[h]] * factor[h];
                    if (best < 0 || score > bestScore)
                    {
                        best = h;
                        bestScore = score;
                    }
                }
            }

            counts[best]++;
            next[best]++;
        }

        double floor = Math.Floor(baseCap * floorAlpha);
        return Array.ConvertAll(counts, count => (int)Math.Round((count * (1.0 - floorAlpha)) + floor, MidpointRounding.ToEven));
    }
}
