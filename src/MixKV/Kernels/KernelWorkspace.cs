using MixKV.Interop;

namespace MixKV.Kernels;

/// <summary>
/// Scratch of one layer's pipeline, carved from a single device allocation (CUB style: ask for the
/// size, hand in the memory). Every region starts 256-byte aligned. All fp32 except caps (int32).
/// Sizes: softmax stats [Hq, W] x2, per-key-tile softmax stats [Hq·W, ceil(N/64)] x2 (the tile kernels,
/// D up to 128), per-prefix-token arrays [Hkv, P] x7, key partials [Hkv, ceil(N/64), D],
/// mean key [Hkv, D], per-head scalars [Hkv] x4, the mix stage's per-block partials [Hkv, 512, 10],
/// AdaKV's radix histograms [Hkv + 1, 4, 256], per-block share sums [Hkv, ceil(P/2048), 2] and head counts [Hkv, 2],
/// the selection's histograms [Hkv, 4, 256] and span counts [Hkv, ceil(P/2048), 2].
/// </summary>
internal sealed class KernelWorkspace
{
    private const int Alignment = 256;

    private KernelWorkspace(DevicePointer basePointer, int queryHeads, int kvHeads, int tokens, int dim, int window)
    {
        int prefix = Math.Max(tokens - window, 0);
        long offset = 0;
        DevicePointer Take(long elements)
        {
            DevicePointer pointer = basePointer.AddBytes(offset);
            offset += (Math.Max(elements, 1) * sizeof(float) + Alignment - 1) / Alignment * Alignment;
            return pointer;
        }

        RowMax = Take((long)queryHeads * window);
        RowSum = Take((long)queryHeads * window);
        TileMax = Take((long)queryHeads * window * WindowScores.KeyTiles(tokens));
        TileSum = Take((long)queryHeads * window * WindowScores.KeyTiles(tokens));
        RawAttention = Take((long)kvHeads * prefix);
        Attention = Take((long)kvHeads * prefix);
        KeyNorm = Take((long)kvHeads * prefix);
        ValueNorm = Take((long)kvHeads * prefix);
        Similarity = Take((long)kvHeads * prefix);
        Scores = Take((long)kvHeads * prefix);
        KeyPartials = Take((long)kvHeads * HeadStats.Chunks(tokens) * dim);
        MeanKey = Take((long)kvHeads * dim);
        OnlineRedundancy = Take(kvHeads);
        OfflineRedundancy = Take(kvHeads);
        Factor = Take(kvHeads);
        Caps = Take(kvHeads);
        Status = Take(1);
        MixPartials = Take((long)kvHeads * Mix.MaxBlocksPerHead * Mix.PartialFields);
        // The counters AdaKV zeroes first, side by side so one fill clears both.
        AdakvHistograms = Take(AdakvHistogramWords(kvHeads));
        AdakvHeadCounts = Take(2L * kvHeads);
        AdakvCountersBytes = (long)(AdakvHeadCounts.Address - AdakvHistograms.Address) + (2L * kvHeads * sizeof(int));
        AdakvShareSums = Take(2L * kvHeads * RadixGrid.Blocks(prefix));
        SelectScratch = Take(Select.ScratchBytes(kvHeads, prefix) / sizeof(uint));
        Bytes = offset;
    }

    public DevicePointer RowMax { get; }

    public DevicePointer RowSum { get; }

    /// <summary>Each window row's max over each 64-key tile (the tile kernels), [Hkv, G·W, tiles].</summary>
    public DevicePointer TileMax { get; }

    /// <summary>Each window row's Σ exp over each 64-key tile, against <see cref="TileMax"/>.</summary>
    public DevicePointer TileSum { get; }

    public DevicePointer RawAttention { get; }

    /// <summary>A [Hkv, P] after pooling.</summary>
    public DevicePointer Attention { get; }

    public DevicePointer KeyNorm { get; }

    public DevicePointer ValueNorm { get; }

    public DevicePointer Similarity { get; }

    /// <summary>S [Hkv, P].</summary>
    public DevicePointer Scores { get; }

    public DevicePointer KeyPartials { get; }

    public DevicePointer MeanKey { get; }

    public DevicePointer OnlineRedundancy { get; }

    /// <summary>One row of an offline table, copied in when the caller supplies one.</summary>
    public DevicePointer OfflineRedundancy { get; }

    public DevicePointer Factor { get; }

    /// <summary>cap_h [Hkv] int32 (AdaKV).</summary>
    public DevicePointer Caps { get; }

    /// <summary>The device-side rejection word (<see cref="Device.DeviceRejection"/>), int32.</summary>
    public DevicePointer Status { get; }

    /// <summary>mix_partials' per-block statistics, [Hkv, blocks, 10]: read by mix_scores.</summary>
    public DevicePointer MixPartials { get; }

    /// <summary>kernels/adakv.cu's radix histograms, [Hkv + 1, 4, 256] uint32: the heads' shares, then the allocation.</summary>
    public DevicePointer AdakvHistograms { get; }

    /// <summary>adakv_share_sums' per-block sums, [Hkv, blocks, 2] (above the head's threshold, all).</summary>
    public DevicePointer AdakvShareSums { get; }

    /// <summary>adakv_head_counts' per-head counts, [Hkv, 2] int32 (above the allocation's threshold, equal to it).</summary>
    public DevicePointer AdakvHeadCounts { get; }

    /// <summary>Bytes from <see cref="AdakvHistograms"/> to the end of <see cref="AdakvHeadCounts"/>, which follows it: one fill zeroes both.</summary>
    public long AdakvCountersBytes { get; }

    /// <summary>The selection's radix histograms and span counts (<see cref="Select.ScratchBytes"/>).</summary>
    public DevicePointer SelectScratch { get; }

    public long Bytes { get; }

    /// <summary>Words of <see cref="AdakvHistograms"/>.</summary>
    public static long AdakvHistogramWords(int kvHeads) => (kvHeads + 1L) * RadixGrid.HistogramWords;

    /// <summary>Bytes of scratch the pipeline needs for these shapes.</summary>
    public static long RequiredBytes(int queryHeads, int kvHeads, int tokens, int dim, int window) =>
        new KernelWorkspace(new DevicePointer(0), queryHeads, kvHeads, tokens, dim, window).Bytes;

    public static KernelWorkspace At(DevicePointer basePointer, int queryHeads, int kvHeads, int tokens, int dim, int window) =>
        new(basePointer, queryHeads, kvHeads, tokens, dim, window);
}
