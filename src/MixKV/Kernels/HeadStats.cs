using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Kernels.Runtime;
using MixKV.Device;
using MixKV.Tensors;

namespace MixKV.Kernels;

/// <summary>Launcher of kernels/head_stats.cu: norms, mean unit key, online redundancy (spec section 3).</summary>
internal static class HeadStats
{
    /// <summary>Tokens per partial sum; MIXKV_HEAD_STATS_CHUNK in head_stats.cu.</summary>
    public const int Chunk = 64;

    /// <summary>Eight tokens per warp: MIXKV_TOKEN_STATS_PER_WARP in head_stats.cu.</summary>
    private const int TokensPerStatsBlock = 8 * BlockSizes.HeadTokenStats / 32;

    /// <summary>
    /// Groups of eight tokens each warp of head_value_stats takes (grid-strided): with more than one,
    /// a warp loads the next group's words before it sums the current one's. Four leave ~1.5 waves
    /// of blocks for one layer of 32K tokens and 8 heads on 132 SMs.
    /// </summary>
    public const int ValueGroupsPerWarp = 4;

    public static int Chunks(int tokens) => (tokens + Chunk - 1) / Chunk;

    /// <param name="keyPartialsWritten">The tile window scores already wrote <see cref="KernelWorkspace.KeyPartials"/> (window_tile_stats or window_run_stats).</param>
    /// <param name="status">
    /// The status word of the finite check, or null: when given, head_token_stats also checks every
    /// row of K and V (the window's included) as it reads them, in place of check_finite's two passes.
    /// </param>
    public static void Enqueue(IKernelRuntime runtime, DeviceTensor keys, DeviceTensor values, int prefix, KernelWorkspace ws, bool keyPartialsWritten = false, DevicePointer? status = null)
    {
        string type = Launch.TypeName(keys.DType);
        int chunks = Chunks(keys.Tokens);
        if (!keyPartialsWritten)
        {
            EnqueueKeyPartials(runtime, keys, ws, type, chunks);
        }

        EnqueueKeyMean(runtime, keys, ws);
        runtime.Launch($"head_token_stats<{type}>", TokenStatsGrid(keys, prefix, status), new HeadTokenStatsParams
        {
            Keys = keys.Pointer.Address,
            Values = values.Pointer.Address,
            MeanKey = ws.MeanKey.Address,
            KeyNorm = ws.KeyNorm.Address,
            ValueNorm = ws.ValueNorm.Address,
            Similarity = ws.Similarity.Address,
            Status = status?.Address ?? 0,
            KeyHeadStride = keys.HeadStride,
            KeyTokenStride = keys.TokenStride,
            ValueHeadStride = values.HeadStride,
            ValueTokenStride = values.TokenStride,
            Prefix = prefix,
            Tokens = keys.Tokens,
            HeadDim = keys.Dim,
            KeyBit = (int)DeviceRejection.NonFiniteKeys,
            ValueBit = (int)DeviceRejection.NonFiniteValues,
        });
    }

    /// <summary>μ and the online redundancy from the key partials (head_key_mean), before head_token_stats; the window run kernels do the same work in window_merge_key_mean.</summary>
    private static void EnqueueKeyMean(IKernelRuntime runtime, DeviceTensor keys, KernelWorkspace ws) =>
        runtime.Launch("head_key_mean", Launch.Config((uint)keys.Heads, 1, BlockSizes.HeadKeyMean), KeyMeanParams(keys, ws));

    /// <summary>head_key_mean's parameters (also half of window_merge_key_mean's).</summary>
    public static HeadKeyMeanParams KeyMeanParams(DeviceTensor keys, KernelWorkspace ws) => new()
    {
        Partial = ws.KeyPartials.Address,
        MeanKey = ws.MeanKey.Address,
        Redundancy = ws.OnlineRedundancy.Address,
        Tokens = keys.Tokens,
        HeadDim = keys.Dim,
        Chunks = Chunks(keys.Tokens),
    };

    /// <summary>
    /// The V half of head_token_stats (head_value_stats): ||V[n]|| of the prefix and, with
    /// <paramref name="status"/>, every row of V checked finite. For layers whose window run kernels
    /// took the K statistics (<see cref="WindowScores.KeyStatistics"/>), K, μ and s included.
    /// </summary>
    public static void EnqueueValues(IKernelRuntime runtime, DeviceTensor values, int prefix, KernelWorkspace ws, DevicePointer? status = null)
    {
        // A lane holds one 8-byte word of each row (kernels/head_stats.cu); the run kernels that
        // leave V to it take D <= 128 anyway.
        if (values.Dim * values.DType.Size() > 32 * 8)
        {
            throw new ArgumentOutOfRangeException(nameof(values), values.Dim, $"head_value_stats: rows of at most 256 bytes (D <= 128 for 16-bit values), got D = {values.Dim} {values.DType.Name()}");
        }

        runtime.Launch($"head_value_stats<{Launch.TypeName(values.DType)}>", TokenStatsGrid(values, prefix, status, ValueGroupsPerWarp), new HeadTokenStatsParams
        {
            Values = values.Pointer.Address,
            ValueNorm = ws.ValueNorm.Address,
            Status = status?.Address ?? 0,
            ValueHeadStride = values.HeadStride,
            ValueTokenStride = values.TokenStride,
            Prefix = prefix,
            Tokens = values.Tokens,
            HeadDim = values.Dim,
            ValueBit = (int)DeviceRejection.NonFiniteValues,
        });
    }

    /// <summary>Blocks of head_token_stats and head_value_stats: the prefix rows, or every row when they also check finiteness.</summary>
    private static LaunchConfig TokenStatsGrid(DeviceTensor rows, int prefix, DevicePointer? status, int groupsPerWarp = 1) =>
        Launch.Config(Launch.Blocks(status is null ? prefix : rows.Tokens, TokensPerStatsBlock * groupsPerWarp), (uint)rows.Heads, BlockSizes.HeadTokenStats);

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
    public ulong Keys, Values, MeanKey, KeyNorm, ValueNorm, Similarity, Status;
    public long KeyHeadStride, KeyTokenStride, ValueHeadStride, ValueTokenStride;
    public int Prefix, Tokens, HeadDim, KeyBit, ValueBit, Reserved;
}
