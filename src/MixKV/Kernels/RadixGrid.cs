namespace MixKV.Kernels;

/// <summary>
/// Geometry of the selections that run over a grid of blocks (kernels/adakv.cu, kernels/select.cu): a
/// block per span of one head's keys, each thread loading a batch of eight (MIXKV_RADIX_BATCH).
/// </summary>
internal static class RadixGrid
{
    /// <summary>Keys of one head per block.</summary>
    public const int Span = BlockSizes.RadixGrid * 8;

    /// <summary>One selection's four 8-bit digit histograms of 256 bins (uint32 words).</summary>
    public const int HistogramWords = 4 * 256;

    /// <summary>Blocks per head: at least one, so heads without prefix rows still write their window rows.</summary>
    public static int Blocks(int prefix) => Math.Max(1, (prefix + Span - 1) / Span);
}
