using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Kernels.Runtime;
using MixKV.Device;
using MixKV.Options;

namespace MixKV.Kernels;

/// <summary>Launcher of kernels/window_scores.cu: importance A (spec section 2).</summary>
internal static class WindowScores
{
    public static void Enqueue(IKernelRuntime runtime, DeviceTensor keys, DeviceTensor windowQueries, CompressionOptions options, KernelWorkspace ws)
    {
        int window = windowQueries.Tokens, prefix = keys.Tokens - window, dim = keys.Dim;
        int groups = windowQueries.Heads / keys.Heads;
        float scale = (float)(1.0 / Math.Sqrt(dim));
        string type = Launch.TypeName(keys.DType);

        runtime.Launch($"window_row_stats<{type}>", Launch.Config((uint)window, (uint)windowQueries.Heads, BlockSizes.WindowRowStats, (uint)(dim * sizeof(float))), new WindowRowStatsParams
        {
            Keys = keys.Pointer.Address,
            Queries = windowQueries.Pointer.Address,
            RowMax = ws.RowMax.Address,
            RowSum = ws.RowSum.Address,
            KeyHeadStride = keys.HeadStride,
            KeyTokenStride = keys.TokenStride,
            QueryHeadStride = windowQueries.HeadStride,
            QueryTokenStride = windowQueries.TokenStride,
            Tokens = keys.Tokens,
            Window = window,
            HeadDim = dim,
            Groups = groups,
            Scale = scale,
        });

        runtime.Launch($"window_mass<{type}>", Launch.Config(Launch.Blocks(prefix, BlockSizes.WindowMass), (uint)keys.Heads, BlockSizes.WindowMass), new WindowMassParams
        {
            Keys = keys.Pointer.Address,
            Queries = windowQueries.Pointer.Address,
            RowMax = ws.RowMax.Address,
            RowSum = ws.RowSum.Address,
            Raw = ws.RawAttention.Address,
            KeyHeadStride = keys.HeadStride,
            KeyTokenStride = keys.TokenStride,
            QueryHeadStride = windowQueries.HeadStride,
            QueryTokenStride = windowQueries.TokenStride,
            Prefix = prefix,
            Window = window,
            HeadDim = dim,
            Groups = groups,
            Scale = scale,
            GqaMax = options.Gqa == GqaReduction.Max ? 1 : 0,
        });

        runtime.Launch("window_pool", Launch.Config(Launch.Blocks(prefix, BlockSizes.WindowPool), (uint)keys.Heads, BlockSizes.WindowPool), new WindowPoolParams
        {
            Raw = ws.RawAttention.Address,
            Pooled = ws.Attention.Address,
            Prefix = prefix,
            Kernel = options.PoolingKernel,
            PoolMax = options.Pooling == PoolingKind.Max ? 1 : 0,
        });
    }
}

[KernelParams("window_scores.cu"), StructLayout(LayoutKind.Sequential)]
internal struct WindowRowStatsParams
{
    public ulong Keys, Queries, RowMax, RowSum;
    public long KeyHeadStride, KeyTokenStride, QueryHeadStride, QueryTokenStride;
    public int Tokens, Window, HeadDim, Groups;
    public float Scale;
    public int Reserved;
}

[KernelParams("window_scores.cu"), StructLayout(LayoutKind.Sequential)]
internal struct WindowMassParams
{
    public ulong Keys, Queries, RowMax, RowSum, Raw;
    public long KeyHeadStride, KeyTokenStride, QueryHeadStride, QueryTokenStride;
    public int Prefix, Window, HeadDim, Groups;
    public float Scale;
    public int GqaMax;
}

[KernelParams("window_scores.cu"), StructLayout(LayoutKind.Sequential)]
internal struct WindowPoolParams
{
    public ulong Raw, Pooled;
    public int Prefix, Kernel, PoolMax, Reserved;
}
