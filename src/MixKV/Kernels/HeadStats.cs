using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Kernels.Runtime;
using MixKV.Device;

namespace MixKV.Kernels;

/// <summary>Launcher of kernels/head_stats.cu: norms, mean unit key, online redundancy (spec section 3).</summary>
internal static class HeadStats
{
    /// <summary>Tokens per partial sum; MIXKV_HEAD_STATS_CHUNK in head_stats.cu.</summary>
    public const int Chunk = 64;

    private const int TokensPerStatsBlock = BlockSizes.HeadTokenStats / 32;

    public static int Chunks(int tokens) => (tokens + Chunk - 1) / Chunk;

    /// <param name="keyPartialsWritten">The tile window scores already wrote <see cref="KernelWorkspace.KeyPartials"/> (window_tile_stats or window_run_stats).</param>
    public static void Enqueue(IKernelRuntime runtime, DeviceTensor keys, DeviceTensor values, int prefix, KernelWorkspace ws, bool keyPartialsWritten = false)
    {
        string type = Launch.TypeName(keys.DType);
        int chunks = Chunks(keys.Tokens);
        if (!keyPartialsWritten)
        {
            EnqueueKeyPartials(runtime, keys, ws, type, chunks);
        }

        runtime.Launch("head_key_mean", Launch.Config((uint)keys.Heads, 1, BlockSizes.HeadKeyMean), new HeadKeyMeanParams
        {
            Partial = ws.KeyPartials.Address,
            MeanKey = ws.MeanKey.Address,
            Redundancy = ws.OnlineRedundancy.Address,
            Tokens = keys.Tokens,
            HeadDim = keys.Dim,
            Chunks = chunks,
        });

        runtime.Launch($"head_token_stats<{type}>", Launch.Config(Launch.Blocks(prefix, TokensPerStatsBlock), (uint)keys.Heads, BlockSizes.HeadTokenStats), new HeadTokenStatsParams
        {
            Keys = keys.Pointer.Address,
            Values = values.Pointer.Address,
            MeanKey = ws.MeanKey.Address,
            KeyNorm = ws.KeyNorm.Address,
            ValueNorm = ws.ValueNorm.Address,
            Similarity = ws.Similarity.Address,
            KeyHeadStride = keys.HeadStride,
            KeyTokenStride = keys.TokenStride,
            ValueHeadStride = values.HeadStride,
            ValueTokenStride = values.TokenStride,
            Prefix = prefix,
            HeadDim = keys.Dim,
        });
    }

    private static void EnqueueKeyPartials(IKernelRuntime runtime, DeviceTensor keys, KernelWorkspace ws, string type, int chunks) =>
        runtime.Launch($"head_key_partials<{type}>", Launch.Config((uint)chunks, (uint)keys.Heads, BlockSizes.HeadKeyPartials), new HeadKeyPartialsParams
        {
            Keys = keys.Pointer.Address,
            Partial = ws.KeyPartials.Address,
            KeyHeadStride = keys.HeadStride,
            KeyTokenStride = keys.TokenStride,
            Tokens = keys.Tokens,
            HeadDim = keys.Dim,
            Chunks = chunks,
        });
}

[KernelParams("head_stats.cu"), StructLayout(LayoutKind.Sequential)]
internal struct HeadKeyPartialsParams
{
    public ulong Keys, Partial;
    public long KeyHeadStride, KeyTokenStride;
    public int Tokens, HeadDim, Chunks, Reserved;
}

[KernelParams("head_stats.cu"), StructLayout(LayoutKind.Sequential)]
internal struct HeadKeyMeanParams
{
    public ulong Partial, MeanKey, Redundancy;
    public int Tokens, HeadDim, Chunks, Reserved;
}

[KernelParams("head_stats.cu"), StructLayout(LayoutKind.Sequential)]
internal struct HeadTokenStatsParams
{
    public ulong Keys, Values, MeanKey, KeyNorm, ValueNorm, Similarity;
    public long KeyHeadStride, KeyTokenStride, ValueHeadStride, ValueTokenStride;
    public int Prefix, HeadDim;
}
