using MixKV.Interop;
using MixKV.Kernels.Runtime;

namespace MixKV.Kernels;

/// <summary>
/// Geometry of the selections that run over a grid of blocks (kernels/adakv.cu, kernels/select.cu): a
/// block per span of one head's keys, each thread loading a batch of eight (MIXKV_RADIX_BATCH).
/// </summary>
internal static class RadixGrid
{
    /// <summary>Keys of one head per block.</summary>
    public const int Span = BlockSizes.RadixGrid * 8;

    /// <summary>8-bit digit passes of a 32-bit key (MIXKV_ADAKV_PASSES, MIXKV_SELECT_PASSES).</summary>
    public const int Passes = 4;

    /// <summary>One selection's digit histograms of 256 bins (uint32 words).</summary>
    public const int HistogramWords = Passes * 256;

    /// <summary>Blocks per head: at least one, so heads without prefix rows still write their window rows.</summary>
    public static int Blocks(int prefix) => Math.Max(1, (prefix + Span - 1) / Span);

    /// <summary>Queues a selection's <see cref="Passes"/> radix launches of <paramref name="instance"/>, digit by digit (0 = the top byte).</summary>
    public static void EnqueuePasses<TParams>(IKernelRuntime runtime, string instance, in LaunchConfig grid, Func<int, TParams> parametersOfPass)
        where TParams : unmanaged
    {
        for (int pass = 0; pass < Passes; pass++)
        {
            runtime.Launch(instance, grid, parametersOfPass(pass));
        }
    }
}
