using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Kernels.Runtime;
using MixKV.Device;
using MixKV.Options;
using MixKV.Tensors;

namespace MixKV.Kernels;

/// <summary>
/// Launcher of importance A (spec section 2): kernels/window_run.cu (tensor cores, window rows resident,
/// G·W &lt;= 128 and W &gt;= 8) or kernels/window_mma.cu (tensor cores) for fp16/bf16
/// caches whose D is a multiple of 16, kernels/window_scores.cu (CUDA cores) otherwise; all end in
/// window_pool, unless the caller leaves the pooling to mix_partials (the pipeline does).
/// </summary>
internal static class WindowScores
{
    /// <summary>Keys per tile of the tile kernels (MIXKV_MMA_KEYS).</summary>
    public const int TileKeys = 64;

    /// <summary>Shared 16-bit key rows are D + 8 values apart (MIXKV_MMA_PAD: no bank conflicts on fragment loads); fp32 rows D + 1.</summary>
    private const int KeyPad = 8;

    /// <summary>Per-warp head sums of window_run_mass: 16 rows meet at most three query heads (MIXKV_RUN_SEGMENTS).</summary>
    private const int RunSegments = 3;

    /// <summary>
    /// Head-sum segments per warp of window_run_mass (mixkv_run_segments): one query head per 16-row
    /// tile when W is a multiple of 16, else up to <see cref="RunSegments"/>.
    /// </summary>
    private static int RunSegmentsFor(int window) => window % 16 == 0 ? 1 : RunSegments;

    /// <summary>Shared probability rows are 64 + 8 floats apart (MIXKV_MMA_PROBABILITY_PITCH: no bank conflicts on their stores).</summary>
    private const int ProbabilityPitch = TileKeys + 8;

    /// <summary>
    /// Largest D of the tile kernels: 16-bit keys keep a 64 x (D + 8) tile and 64 x 72 fp32 probabilities
    /// in 36 KB of shared memory, fp32 keys a 64 x (D + 1) tile and 32 probability rows in 42 KB (under
    /// the 48 KB a launch gets without opting in).
    /// </summary>
    public const int MaxTileDim = 128;

    public static int KeyTiles(int tokens) => Math.Max(1, (tokens + TileKeys - 1) / TileKeys);

    /// <summary>Most window rows (G·W) the run kernels hold: one 16-row tile per warp, eight warps (MIXKV_RUN_MAX_WARPS).</summary>
    public const int MaxRunRows = 128;

    /// <summary>Smallest W of the run kernels: 16 rows then meet at most three query heads (MIXKV_RUN_SEGMENTS).</summary>
    public const int MinRunWindow = 8;

    /// <summary>Longest run of key tiles per block of the run kernels.</summary>
    public const int MaxRunTiles = 32;

    /// <summary>Run kernel blocks one multiprocessor holds at once (their registers allow two of 256 threads on sm_90).</summary>
    private const int RunBlocksPerMultiprocessor = 2;

    /// <summary>MIXKV_RUN_TILES (1 to 256), when set, replaces <see cref="RunTilesFor"/>'s choice: for measuring it.</summary>
    private static readonly int? RunTilesOverride = int.TryParse(Environment.GetEnvironmentVariable("MIXKV_RUN_TILES"), out int tiles) && tiles is >= 1 and <= 256 ? tiles : null;

    /// <summary>
    /// Key tiles per block of the run kernels: the window rows' fragments are loaded once per run, so
    /// runs are as long as they can be while the layer's blocks still fill every multiprocessor once
    /// (at most <see cref="MaxRunTiles"/>). On an H100 (132 SMs, bf16, Hkv 8) the best of runs 2-32 was
    /// 2 at N 4K, 16 at 32K and 32 at 128K, which this gives; a fixed 4 was up to 15 % slower. Measured
    /// again on 2026-11-27's kernels at N 32K: runs of 8 and of 32 made the layer 6 % and 19 % slower than 16.
    /// </summary>
    public static int RunTilesFor(int tokens, int kvHeads, int multiprocessors) =>
        RunTilesOverride ?? Math.Clamp((int)Launch.Blocks(KeyTiles(tokens) * kvHeads, RunBlocksPerMultiprocessor * Math.Max(multiprocessors, 1)), 1, MaxRunTiles);

    /// <summary>
    /// Whether the run kernels (window_run.cu) take this layer: tensor cores, every window row resident
    /// in one block (G·W &lt;= 128) and W &gt;= 8. Else the one-tile-per-block kernels of window_mma.cu.
    /// </summary>
    public static bool UsesRuns(DType dtype, int dim, int queryRowsPerKvHead, int window) =>
        UsesTensorCores(dtype, dim) && queryRowsPerKvHead <= MaxRunRows && window >= MinRunWindow;

    /// <summary>
    /// Columns of the per-row softmax statistics the first tile kernel writes ([Hkv, G·W, columns] in
    /// TileMax and TileSum) and window_stats_merge reads: one per run of key tiles (window_run.cu) or
    /// one per key tile (window_mma.cu).
    /// </summary>
    public static int StatisticColumns(DType dtype, int dim, int queryRowsPerKvHead, int window, int tokens, int runTiles) =>
        UsesRuns(dtype, dim, queryRowsPerKvHead, window) ? (int)Launch.Blocks(KeyTiles(tokens), runTiles) : KeyTiles(tokens);

    /// <summary>Whether the tile kernels multiply on tensor cores: mma.sync takes fp16/bf16 in k steps of 16.</summary>
    public static bool UsesTensorCores(DType dtype, int dim) => dtype is DType.F16 or DType.BF16 && dim % 16 == 0 && dim <= MaxTileDim;

    /// <summary>
    /// Whether the tile kernels (window_mma.cu) take this layer: on tensor cores, or on CUDA cores for
    /// fp32 keys. Their first kernel also writes the key statistics' per-chunk partials
    /// (<see cref="HeadStats"/> then skips that pass over K). Else the row kernels (window_scores.cu).
    /// </summary>
    public static bool UsesTiles(DType dtype, int dim) => UsesTensorCores(dtype, dim) || (dtype == DType.F32 && dim <= MaxTileDim);

    /// <summary>
    /// The key statistics the run kernels can take from the tiles they stage (<see cref="UsesRuns"/>):
    /// ||K[n]||, s[n] = k̂_n·μ (μ from head_key_mean's work, which window_merge_key_mean does between
    /// the two passes) and K's finite check into <paramref name="Status"/> (null: unchecked). The head
    /// statistics then need only <see cref="HeadStats.EnqueueValues"/>. With
    /// <paramref name="CheckQueries"/> window_run_stats also checks the window rows it holds (in place
    /// of a check_finite launch over them), into the same status word.
    /// </summary>
    public sealed record KeyStatistics(DevicePointer? Status, bool CheckQueries = false);

    /// <param name="runTiles">The run kernels' run length; null: <see cref="RunTilesFor"/> on this runtime.</param>
    /// <param name="keyStatistics">Also the K statistics (run kernels only); null: window scores and key partials alone.</param>
    /// <param name="pool">
    /// False leaves the raw mass in <see cref="KernelWorkspace.RawAttention"/> for <see cref="Mix.Enqueue"/>
    /// to pool as it reads it (the pipeline); true pools it into <see cref="KernelWorkspace.Attention"/> here.
    /// </param>
    public static void Enqueue(IKernelRuntime runtime, DeviceTensor keys, DeviceTensor windowQueries, CompressionOptions options, KernelWorkspace ws, int? runTiles = null, KeyStatistics? keyStatistics = null, bool pool = true)
    {
        if (keyStatistics is not null && !UsesRuns(keys.DType, keys.Dim, windowQueries.Heads / keys.Heads * windowQueries.Tokens, windowQueries.Tokens))
        {
            throw new InvalidOperationException("only the window run kernels (window_run.cu) take the key statistics from their tiles");
        }

        int window = windowQueries.Tokens, prefix = keys.Tokens - window, dim = keys.Dim;
        int groups = windowQueries.Heads / keys.Heads;
        float scale = (float)(1.0 / Math.Sqrt(dim));
        string type = Launch.TypeName(keys.DType);

        if (UsesTiles(keys.DType, dim))
        {
            EnqueueTiles(runtime, keys, windowQueries, options, ws, type, scale, runTiles ?? RunTilesFor(keys.Tokens, keys.Heads, runtime.Multiprocessors), keyStatistics);
        }
        else
        {
            EnqueueCudaCores(runtime, keys, windowQueries, options, ws, type, scale);
        }

        if (!pool)
        {
            return;
        }

        runtime.Launch("window_pool", Launch.Config(Launch.Blocks(prefix, BlockSizes.WindowPool), (uint)keys.Heads, BlockSizes.WindowPool), new WindowPoolParams
        {
            Raw = ws.RawAttention.Address,
            Pooled = ws.Attention.Address,
            Prefix = prefix,
            Kernel = options.PoolingKernel,
            PoolMax = options.Pooling == PoolingKind.Max ? 1 : 0,
        });
    }

    private static void EnqueueTiles(IKernelRuntime runtime, DeviceTensor keys, DeviceTensor windowQueries, CompressionOptions options, KernelWorkspace ws, string type, float scale, int runTiles, KeyStatistics? keyStatistics)
    {
        int window = windowQueries.Tokens, prefix = keys.Tokens - window, dim = keys.Dim;
        int groups = windowQueries.Heads / keys.Heads;
        bool fp32 = keys.DType == DType.F32;
        uint keyTileBytes = (uint)(fp32 ? TileKeys * (dim + 1) * sizeof(float) : TileKeys * (dim + KeyPad) * sizeof(ushort));
        uint probabilityBytes = (uint)((fp32 ? 32 : TileKeys) * ProbabilityPitch * sizeof(float)); // mixkv_tile_traits<T>::probability_rows
        bool runs = UsesRuns(keys.DType, dim, groups * window, window);

        if (runs)
        {
            EnqueueRunStats(runtime, keys, windowQueries, ws, type, scale, keyTileBytes, runTiles, keyStatistics);
        }
        else
        {
            EnqueueTileStats(runtime, keys, windowQueries, ws, type, scale, keyTileBytes);
        }

        int queryRows = windowQueries.Heads * window;
        var merge = new WindowStatsMergeParams
        {
            TileMax = ws.TileMax.Address,
            TileSum = ws.TileSum.Address,
            RowMax = ws.RowMax.Address,
            RowSum = ws.RowSum.Address,
            QueryRows = queryRows,
            Window = window,
            Groups = groups,
            Tiles = StatisticColumns(keys.DType, dim, groups * window, window, keys.Tokens, runTiles),
        };
        if (runs && keyStatistics is not null)
        {
            // The merge and μ in one launch (window_merge_key_mean): a block per 32 rows, then one per head.
            uint mergeBlocks = Launch.Blocks(queryRows, BlockSizes.HeadKeyMean / 32);
            runtime.Launch("window_merge_key_mean", Launch.Config(mergeBlocks + (uint)keys.Heads, 1, BlockSizes.HeadKeyMean), new WindowMergeKeyMeanParams
            {
                Merge = merge,
                Mean = HeadStats.KeyMeanParams(keys, ws),
                MergeBlocks = (int)mergeBlocks,
            });
        }
        else
        {
            runtime.Launch("window_stats_merge", Launch.Config(Launch.Blocks(queryRows, BlockSizes.WindowStatsMerge / 32), 1, BlockSizes.WindowStatsMerge), merge);
        }

        if (runs)
        {
            EnqueueRunMass(runtime, keys, windowQueries, options, ws, type, scale, keyTileBytes, runTiles, keyStatistics is not null);
        }
        else
        {
            runtime.Launch($"window_tile_mass<{type}>", Launch.Config(Launch.Blocks(prefix, TileKeys), (uint)keys.Heads, BlockSizes.WindowTile, keyTileBytes + probabilityBytes),
                MassParams(keys, windowQueries, options, ws, scale));
        }
    }

    private static void EnqueueTileStats(IKernelRuntime runtime, DeviceTensor keys, DeviceTensor windowQueries, KernelWorkspace ws, string type, float scale, uint keyTileBytes) =>
        runtime.Launch($"window_tile_stats<{type}>", Launch.Config((uint)KeyTiles(keys.Tokens), (uint)keys.Heads, BlockSizes.WindowTile, keyTileBytes),
            TileStatsParams(keys, windowQueries, ws, scale, run: 1));

    /// <summary>Threads of a run kernel's block: a warp per 16 window rows.</summary>
    private static uint RunThreads(int queryRowsPerKvHead) => (uint)(32 * ((queryRowsPerKvHead + 15) / 16));

    /// <summary>
    /// The run kernel <paramref name="name"/> or its wgmma form (<c>_wgmma</c>, kernels/common/wgmma.cuh):
    /// that one where the runtime's kernels hold Hopper's warpgroup products, D is 128 and the block is
    /// two full warpgroups (G·W 113 to 128).
    /// </summary>
    public static string RunKernel(string name, IKernelRuntime runtime, int dim, uint threads) =>
        runtime.WarpgroupProducts && dim == 128 && threads == 2 * 128 ? $"{name}_wgmma" : name;

    private static void EnqueueRunStats(IKernelRuntime runtime, DeviceTensor keys, DeviceTensor windowQueries, KernelWorkspace ws, string type, float scale, uint keyTileBytes, int runTiles, KeyStatistics? keyStatistics)
    {
        uint threads = RunThreads(windowQueries.Heads / keys.Heads * windowQueries.Tokens);
        WindowTileStatsParams parameters = TileStatsParams(keys, windowQueries, ws, scale, runTiles);
        if (keyStatistics is not null)
        {
            parameters = parameters with
            {
                KeyNorm = ws.KeyNorm.Address,
                Status = keyStatistics.Status?.Address ?? 0,
                KeyBit = (int)DeviceRejection.NonFiniteKeys,
                QueryBit = keyStatistics.Status is not null && keyStatistics.CheckQueries ? (int)DeviceRejection.NonFiniteQueries : 0,
            };
        }

        runtime.Launch($"{RunKernel("window_run_stats", runtime, keys.Dim, threads)}<{type}>", Launch.Config(Launch.Blocks(KeyTiles(keys.Tokens), runTiles), (uint)keys.Heads, threads, 2 * keyTileBytes), parameters);
    }

    private static void EnqueueRunMass(IKernelRuntime runtime, DeviceTensor keys, DeviceTensor windowQueries, CompressionOptions options, KernelWorkspace ws, string type, float scale, uint keyTileBytes, int runTiles, bool similarity)
    {
        int prefix = keys.Tokens - windowQueries.Tokens;
        uint threads = RunThreads(windowQueries.Heads / keys.Heads * windowQueries.Tokens);
        // Two buffers (tile t in t % 2) of the head sums and of the similarity scratch (μ·k per k step
        // and key), then μ as hi and lo 16-bit rows.
        uint headSumBytes = 2 * (threads / 32) * (uint)RunSegmentsFor(windowQueries.Tokens) * TileKeys * sizeof(float);
        uint meanBytes = (uint)((2 * (keys.Dim / 16) * TileKeys * sizeof(float)) + (2 * keys.Dim * sizeof(ushort)));
        WindowMassParams parameters = MassParams(keys, windowQueries, options, ws, scale) with { Run = runTiles };
        if (similarity)
        {
            parameters = parameters with { MeanKey = ws.MeanKey.Address, KeyNorm = ws.KeyNorm.Address, Similarity = ws.Similarity.Address };
        }

        runtime.Launch($"{RunKernel("window_run_mass", runtime, keys.Dim, threads)}<{type}>", Launch.Config(Launch.Blocks(KeyTiles(prefix), runTiles), (uint)keys.Heads, threads, 2 * keyTileBytes + headSumBytes + meanBytes), parameters);
    }

    /// <summary>window_tile_stats (a tile per block, run 1) and window_run_stats take the same parameters (kernels/common/window_tile_params.cuh).</summary>
    private static WindowTileStatsParams TileStatsParams(DeviceTensor keys, DeviceTensor windowQueries, KernelWorkspace ws, float scale, int run) => new()
    {
        Keys = keys.Pointer.Address,
        Queries = windowQueries.Pointer.Address,
        TileMax = ws.TileMax.Address,
        TileSum = ws.TileSum.Address,
        KeyPartials = ws.KeyPartials.Address,
        KeyHeadStride = keys.HeadStride,
        KeyTokenStride = keys.TokenStride,
        QueryHeadStride = windowQueries.HeadStride,
        QueryTokenStride = windowQueries.TokenStride,
        Tokens = keys.Tokens,
        Window = windowQueries.Tokens,
        HeadDim = keys.Dim,
        Groups = windowQueries.Heads / keys.Heads,
        Scale = scale,
        Tiles = KeyTiles(keys.Tokens),
        Run = run,
    };

    private static void EnqueueCudaCores(IKernelRuntime runtime, DeviceTensor keys, DeviceTensor windowQueries, CompressionOptions options, KernelWorkspace ws, string type, float scale)
    {
        int window = windowQueries.Tokens, prefix = keys.Tokens - window, dim = keys.Dim;
        int groups = windowQueries.Heads / keys.Heads;

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

        runtime.Launch($"window_mass<{type}>", Launch.Config(Launch.Blocks(prefix, BlockSizes.WindowMass), (uint)keys.Heads, BlockSizes.WindowMass),
            MassParams(keys, windowQueries, options, ws, scale));
    }

    /// <summary>window_mass, window_tile_mass and window_run_mass take the same parameters (kernels/common/window_mass_params.cuh); run 1 unless a run kernel says otherwise.</summary>
    private static WindowMassParams MassParams(DeviceTensor keys, DeviceTensor windowQueries, CompressionOptions options, KernelWorkspace ws, float scale) => new()
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
        Prefix = keys.Tokens - windowQueries.Tokens,
        Window = windowQueries.Tokens,
        HeadDim = keys.Dim,
        Groups = windowQueries.Heads / keys.Heads,
        Scale = scale,
        GqaMax = options.Gqa == GqaReduction.Max ? 1 : 0,
        Run = 1,
    };
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

/// <summary>Shared by window_mass, window_tile_mass and window_run_mass (kernels/common/window_mass_params.cuh).</summary>
[KernelParams("window_scores.cu"), KernelParams("window_mma.cu"), KernelParams("window_run.cu"), StructLayout(LayoutKind.Sequential)]
internal struct WindowMassParams
{
    public ulong Keys, Queries, RowMax, RowSum, Raw;
    public long KeyHeadStride, KeyTokenStride, QueryHeadStride, QueryTokenStride;
    public int Prefix, Window, HeadDim, Groups;
    public float Scale;
    public int GqaMax, Run, Reserved;
    public ulong MeanKey, KeyNorm, Similarity;
}

/// <summary>Shared by window_tile_stats and window_run_stats (kernels/common/window_tile_params.cuh).</summary>
[KernelParams("window_mma.cu"), KernelParams("window_run.cu"), StructLayout(LayoutKind.Sequential)]
internal struct WindowTileStatsParams
{
    public ulong Keys, Queries, TileMax, TileSum, KeyPartials;
    public long KeyHeadStride, KeyTokenStride, QueryHeadStride, QueryTokenStride;
    public int Tokens, Window, HeadDim, Groups;
    public float Scale;
    public int Tiles, Run, KeyBit, QueryBit;
    public ulong KeyNorm, Status;
}

[KernelParams("window_run.cu"), StructLayout(LayoutKind.Sequential)]
internal struct WindowMergeKeyMeanParams
{
    public WindowStatsMergeParams Merge;
    public HeadKeyMeanParams Mean;
    public int MergeBlocks, Reserved;
}

[KernelParams("window_mma.cu"), StructLayout(LayoutKind.Sequential)]
internal struct WindowStatsMergeParams
{
    public ulong TileMax, TileSum, RowMax, RowSum;
    public int QueryRows, Window, Groups, Tiles;
}

[KernelParams("window_scores.cu"), StructLayout(LayoutKind.Sequential)]
internal struct WindowPoolParams
{
    public ulong Raw, Pooled;
    public int Prefix, Kernel, PoolMax, Reserved;
}
