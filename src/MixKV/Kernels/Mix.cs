using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Kernels.Runtime;
using MixKV.Options;

namespace MixKV.Kernels;

/// <summary>Launcher of kernels/mix.cu: the final scores S (spec sections 3 and 4).</summary>
internal static class Mix
{
    /// <summary>Prefix tokens per block at least (fewer blocks past 512 per head: mix_scores reduces one partial per thread).</summary>
    private const int MinChunk = 1024;

    /// <summary>Fields of one block's partial statistics (MIXKV_MIX_FIELDS).</summary>
    public const int PartialFields = 10;

    /// <summary>Blocks per head of both kernels, at most the block size.</summary>
    public static int MaxBlocksPerHead => BlockSizes.MixScores;

    /// <param name="poolFrom">
    /// The options whose pooling mix_partials applies to <see cref="KernelWorkspace.RawAttention"/> as it
    /// reads it, writing A (window_pool's work, which <see cref="WindowScores.Enqueue"/> then skips:
    /// one launch fewer); null when A is pooled already.
    /// </param>
    public static void Enqueue(IKernelRuntime runtime, int kvHeads, int prefix, ScoreMode mode, DevicePointer redundancy, KernelWorkspace ws, CompressionOptions? poolFrom = null)
    {
        int chunk = Math.Max(MinChunk, (prefix + MaxBlocksPerHead - 1) / MaxBlocksPerHead);
        int blocks = Math.Max(1, (prefix + chunk - 1) / chunk);
        var parameters = new MixParams
        {
            Attention = ws.Attention.Address,
            Raw = poolFrom is null ? 0 : ws.RawAttention.Address,
            KeyNorm = ws.KeyNorm.Address,
            ValueNorm = ws.ValueNorm.Address,
            Similarity = ws.Similarity.Address,
            Redundancy = redundancy.Address,
            Scores = ws.Scores.Address,
            Partials = ws.MixPartials.Address,
            Prefix = prefix,
            Mode = (int)mode, // mix.cu's MIXKV_MODE_* follow the enum order
            Blocks = blocks,
            Chunk = chunk,
            PoolKernel = poolFrom?.PoolingKernel ?? 0,
            PoolMax = poolFrom?.Pooling == PoolingKind.Max ? 1 : 0,
        };
        runtime.Launch("mix_partials", Launch.Config((uint)blocks, (uint)kvHeads, BlockSizes.MixScores), parameters);
        runtime.Launch("mix_scores", Launch.Config((uint)blocks, (uint)kvHeads, BlockSizes.MixScores), parameters);
    }
}

[KernelParams("mix.cu"), StructLayout(LayoutKind.Sequential)]
internal struct MixParams
{
    public ulong Attention, Raw, KeyNorm, ValueNorm, Similarity, Redundancy, Scores, Partials;
    public int Prefix, Mode, Blocks, Chunk, PoolKernel, PoolMax;
}
