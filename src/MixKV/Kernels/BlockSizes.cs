namespace MixKV.Kernels;

/// <summary>
/// Threads per block of every kernel, in one table: the launchers launch with these and the ptxas
/// report derives each kernel's occupancy from them.
/// </summary>
internal static class BlockSizes
{
    public const int WindowRowStats = 256;
    public const int WindowMass = 256;
    public const int WindowPool = 256;

    /// <summary>Four warps: warp w multiplies row tiles w, w+4, ... of the head's G·W window rows (kernels/window_mma.cu).</summary>
    public const int WindowTile = 128;
    /// <summary>Eight warps at the most (a warp per 16 of G·W &lt;= 128 window rows, kernels/window_run.cu); the launch uses 32·ceil(G·W/16).</summary>
    public const int WindowRun = 256;
    public const int WindowStatsMerge = 256;
    public const int HeadKeyPartials = 256;
    /// <summary>A block per KV head over its ceil(N/64) partial rows: 32 warps, each summing every 32nd row (its loads in flight).</summary>
    public const int HeadKeyMean = 1024;
    public const int HeadTokenStats = 256;
    public const int MixScores = 512;
    /// <summary>The selections of kernels/adakv.cu, select.cu and select_candidates.cu: a block per span of a head's keys (or, select_merge, per head).</summary>
    public const int RadixGrid = 256;
    /// <summary>kernels/adakv.cu's one-warp kernels: a head's factor, the caps.</summary>
    public const int AdakvSingle = 32;
    public const int HeadLengths = 32;
    public const int GatherRows = 256;
    public const int AppendRows = 256;
    public const int AppendLengths = 32;
    public const int CheckFinite = 256;

    /// <summary>The block size of a kernel instance ("window_mass&lt;float&gt;"), by its template's name.</summary>
    public static int Of(string instance)
    {
        int angle = instance.IndexOf('<');
        return (angle < 0 ? instance : instance[..angle]) switch
        {
            "window_row_stats" => WindowRowStats,
            "window_mass" => WindowMass,
            "window_pool" => WindowPool,
            "window_tile_stats" => WindowTile,
            "window_stats_merge" => WindowStatsMerge,
            "window_tile_mass" => WindowTile,
            "window_run_stats" or "window_run_mass" or "window_run_stats_wgmma" or "window_run_mass_wgmma" => WindowRun,
            "head_key_partials" => HeadKeyPartials,
            "head_key_mean" or "window_merge_key_mean" => HeadKeyMean,
            "head_token_stats" or "head_value_stats" => HeadTokenStats,
            "mix_partials" or "mix_scores" => MixScores,
            "adakv_radix_pass" or "adakv_share_sums" or "adakv_head_counts" or "adakv_share_merge" => RadixGrid,
            "select_radix_pass" or "select_span_counts" or "select_topk" or "select_span_candidates" or "select_merge" => RadixGrid,
            "adakv_share_factor" or "adakv_caps" => AdakvSingle,
            "head_lengths" => HeadLengths,
            "gather_rows" or "gather_rows_pair" => GatherRows,
            "append_rows" => AppendRows,
            "append_lengths" => AppendLengths,
            "check_finite" => CheckFinite,
            _ => 0,
        };
    }
}
