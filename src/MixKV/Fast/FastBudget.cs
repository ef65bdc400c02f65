using MixKV.Options;
using RefBudget = MixKV.Reference.Budget;

namespace MixKV.Fast;

/// <summary>
/// cap_h (spec section 5). SnapKV, PyramidKV and AdaKV's skipped layers are integer arithmetic and
/// go through <see cref="RefBudget.Caps"/>. The AdaKV allocation gives the same counts as
/// <see cref="RefBudget.AdaKVCaps"/> on the same A (same per-head sort, same summation order for
/// the normalisation, same tie order) but radix-sorts each head in O(P) (<see cref="SortHead"/>,
/// which the pipeline runs per head once its mass is done) and merges the Hkv sorted lists instead
/// of sorting all Hkv·P candidates with a comparison delegate.
/// </summary>
internal static class FastBudget
{
    /// <summary>Whether this layer's caps come from the AdaKV allocation (so each head's A must be sorted, see <see cref="SortHead"/>).</summary>
    public static bool Allocates(CompressionOptions options, LayerPosition layer) => options.Method == BudgetMethod.AdaKV && layer.Index >= options.Skip;

    /// <param name="headsSorted">Every head was already prepared by <see cref="SortHead"/> (sorted A and factor in <paramref name="scratch"/>); else they are sorted here.</param>
    public static int[] Caps(CompressionOptions options, LayerPosition layer, double[][] attention, int kvHeads, int tokens, int workers, SortScratch scratch, bool headsSorted = false)
    {
        if (!Allocates(options, layer))
        {
            return RefBudget.Caps(options, layer, attention, kvHeads, tokens);
        }

        int prefix = tokens - options.Window, baseCap = options.Budget - options.Window;
        int[] caps = headsSorted
            ? Allocate(scratch.Sorted, scratch.Factor, baseCap, options.FloorAlpha)
            : AdaKVCaps(attention, baseCap, options.FloorAlpha, options.Normalize, workers, scratch);
        for (int h = 0; h < caps.Length; h++)
        {
            caps[h] = Math.Clamp(caps[h], 0, prefix);
        }

        return caps;
    }

    /// <summary>The unclamped AdaKV caps of <see cref="RefBudget.AdaKVCaps"/> (every head sorted here).</summary>
    public static int[] AdaKVCaps(double[][] attention, int baseCap, double floorAlpha, bool normalize, int workers, SortScratch? scratch = null)
    {
        SortScratch sorts = scratch ?? new SortScratch(attention.Length, attention.Length == 0 ? 0 : attention[0].Length);
        Parallel.For(0, attention.Length, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, workers) }, h => SortHead(attention[h], baseCap, normalize, sorts, h));
        return Allocate(sorts.Sorted, sorts.Factor, baseCap, floorAlpha);
    }

    /// <summary>
    /// Head <paramref name="head"/>'s A sorted descending into scratch.Sorted[head] (radix, O(P): the
    /// same sequence as the reference's comparison sort, A has no NaN) and its normalisation factor,
    /// sum(top base) / sum(all) summed in that order like the reference, into scratch.Factor[head].
    /// Heads are independent: they may be sorted on any thread, at any time after their A exists.
    /// </summary>
    public static void SortHead(double[] attention, int baseCap, bool normalize, SortScratch scratch, int head)
    {
        double[] row = scratch.Sorted[head];
        attention.CopyTo(row, 0);
        RadixSort.Ascending(row, scratch.Keys[head], scratch.Other[head], scratch.Counts[head]);
        Array.Reverse(row); // descending, like the reference's y.CompareTo(x) sort
        scratch.Factor[head] = normalize ? RefBudget.TopShare(row, baseCap) : 1.0;
    }

    /// <summary>
    /// The counts of <see cref="RefBudget.AdaKVCaps"/> from the sorted heads: the global order is score
    /// descending, then head ascending, then rank ascending, a k-way merge of the per-head lists (each
    /// already in rank order) taking the lowest head on equal scores.
    /// </summary>
    private static int[] Allocate(double[][] sorted, double[] factor, int baseCap, double floorAlpha)
    {
        int heads = sorted.Length;
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
