using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
            ? Allocate(scratch, baseCap, options.FloorAlpha)
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
        long take = (long)attention.Length * baseCap;
        Parallel.For(0, attention.Length, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, workers) }, h => SortHead(attention[h], baseCap, take, normalize, sorts, h));
        return Allocate(sorts, baseCap, floorAlpha);
    }

    /// <summary>
    /// Head <paramref name="head"/>'s largest A, sorted descending, into scratch.Sorted[head] and its
    /// normalisation factor into scratch.Factor[head]. The allocation takes <paramref name="take"/> =
    /// Hkv·base values over all heads, so no head gives more than that many: only the largest
    /// min(P, take) are needed, bounded in O(P) (<see cref="Largest"/>) and radix-sorted (the same
    /// sequence as the reference's comparison sort up to bit-identical values; A has no NaN). The
    /// factor is sum(top base) / sum(all) with sum(top base) summed in the reference's (sorted)
    /// order; sum(all) too when the whole head is sorted, else in position order (last-bit
    /// differences, like the device's per-block sums). Heads are independent: they may be sorted on
    /// any thread, at any time after their A exists.
    /// </summary>
    public static void SortHead(double[] attention, int baseCap, long take, bool normalize, SortScratch scratch, int head)
    {
        int p = attention.Length, length = (int)Math.Min(p, take);
        Span<double> row = scratch.Sorted[head];
        int candidates = length == p ? p : Largest(attention, length, row, scratch, head);
        if (candidates == p)
        {
            attention.CopyTo(row);
        }

        row = row[..candidates];
        RadixSort.Ascending(row, scratch.Keys[head], scratch.Other[head], scratch.Counts[head]);
        row.Reverse(); // descending, like the reference's y.CompareTo(x) sort
        scratch.Lengths[head] = length;
        scratch.Factor[head] = !normalize ? 1.0
            : length == p ? RefBudget.TopShare(row, baseCap)
            : TopShareOfPart(row, baseCap, Total(attention));
    }

    /// <summary>
    /// A superset of the <paramref name="length"/> largest values, unordered, into
    /// <paramref name="destination"/>; returns how many (P: the caller takes them all). A sample of
    /// every <see cref="SampleStride"/>th value gives a bound a little below the length-th largest
    /// (its expected count above is ~1.25·length plus a margin), one pass keeps every value at or
    /// above it; in the rare case that keeps too few, all P are taken. ~5x cheaper than sorting P.
    /// </summary>
    private static int Largest(double[] values, int length, Span<double> destination, SortScratch scratch, int head)
    {
        int p = values.Length, samples = (p + SampleStride - 1) / SampleStride;
        int rank = Math.Min(samples, ((length / SampleStride) * 5 / 4) + 16);
        if (rank >= samples)
        {
            return p;
        }

        Span<double> sampled = scratch.Sample[head].AsSpan(0, samples);
        for (int i = 0; i < samples; i++)
        {
            sampled[i] = values[i * SampleStride];
        }

        RadixSort.Ascending(sampled, scratch.Keys[head], scratch.Other[head], scratch.Counts[head]);
        double bound = sampled[samples - rank];
        int kept = KeepAtLeast(values, bound, destination);
        return kept >= length ? kept : p;
    }

    /// <summary>
    /// The values at or above <paramref name="bound"/> into <paramref name="destination"/> (P long), in
    /// position order; returns how many, or P when every value passes. Eight at a time where AVX-512
    /// is: each compare's survivors packed down a register (vcompresspd) and the register stored whole
    /// (never past the end: no more are kept than read). ~30 to ~9 µs a head of 32736 here, in the
    /// pipeline.
    /// </summary>
    private static int KeepAtLeast(double[] values, double bound, Span<double> destination)
    {
        int p = values.Length, kept = 0, n = 0;
        if (Avx512F.IsSupported)
        {
            var floor = Vector512.Create(bound);
            ref double source = ref MemoryMarshal.GetArrayDataReference(values);
            ref double target = ref MemoryMarshal.GetReference(destination);
            int vectorEnd = Math.Min(p, destination.Length); // kept <= n, so kept + 8 <= n + 8 <= vectorEnd
            for (; n + Vector512<double>.Count <= vectorEnd; n += Vector512<double>.Count)
            {
                Vector512<double> v = Vector512.LoadUnsafe(ref source, (nuint)n);
                Vector512<double> passes = Vector512.GreaterThanOrEqual(v, floor);
                Avx512F.Compress(Vector512<double>.Zero, passes, v).StoreUnsafe(ref target, (nuint)kept);
                kept += BitOperations.PopCount(passes.ExtractMostSignificantBits());
            }
        }

        for (; n < p; n++)
        {
            // Branch-free: ~1 value in 15 passes, at no fixed position.
            double value = values[n];
            destination[kept] = value;
            kept += value >= bound ? 1 : 0;
            if (kept == destination.Length)
            {
                return p; // every value passes (a bound at the minimum): take them all
            }
        }

        return kept;
    }

    /// <summary>Every how many values the bound's sample takes one.</summary>
    internal const int SampleStride = 16;

    /// <summary>
    /// Σ values in position order, eight running sums (each a strided chain; a single one waits on every
    /// add's latency, ~4 cycles a value): the normalisation's sum(all) when only the largest are sorted
    /// (last-bit differences from the reference's sorted order, like the device's per-block sums).
    /// </summary>
    private static double Total(double[] values)
    {
        int n = 0;
        var sums = Vector512<double>.Zero;
        for (; n + Vector512<double>.Count <= values.Length; n += Vector512<double>.Count)
        {
            sums += Vector512.Create(values.AsSpan(n, Vector512<double>.Count));
        }

        double total = Vector512.Sum(sums);
        for (; n < values.Length; n++)
        {
            total += values[n];
        }

        return total;
    }

    /// <summary><see cref="RefBudget.TopShare"/> from the largest values (sorted descending, at least base of them) and the whole row's total.</summary>
    private static double TopShareOfPart(ReadOnlySpan<double> largest, int baseCap, double total)
    {
        double top = 0;
        for (int i = 0; i < baseCap; i++)
        {
            top += largest[i];
        }

        return total > 0 ? top / total : 1.0;
    }

    /// <summary>
    /// The counts of <see cref="RefBudget.AdaKVCaps"/> from the sorted heads: the global order is score
    /// descending, then head ascending, then rank ascending, a k-way merge of the per-head lists (each
    /// already in rank order) taking the lowest head on equal scores.
    /// </summary>
    private static int[] Allocate(SortScratch scratch, int baseCap, double floorAlpha)
    {
        double[][] sorted = scratch.Sorted;
        double[] factor = scratch.Factor;
        int[] lengths = scratch.Lengths;
        int heads = sorted.Length;
        var counts = new int[heads];
        var next = new int[heads];
        long total = 0;
        foreach (int length in lengths)
        {
            total += length;
        }

        long take = Math.Min((long)heads * baseCap, total);
        for (long t = 0; t < take; t++)
        {
            int best = -1;
            double bestScore = 0;
            for (int h = 0; h < heads; h++)
            {
                if (next[h] < lengths[h])
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
