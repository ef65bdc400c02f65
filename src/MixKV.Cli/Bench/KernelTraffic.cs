using MixKV.Tensors;

namespace MixKV.Cli.Bench;

/// <summary>
/// The compulsory memory traffic and arithmetic of each kernel of one layer, per layer (all its
/// launches): every input it must read counted once, every output written once. A lower bound: re-reads
/// that hit L2 and the scratch of the tile statistics' 64-key tiles are what a kernel adds on top. The
/// per-kernel table divides by it for GB/s, TFLOP/s and the share of the copy-rate floor.
/// </summary>
internal static class KernelTraffic
{
    private const int Fp32 = sizeof(float);

    /// <summary>Bytes and FLOP of <paramref name="instance"/> (a name like "window_tile_mass&lt;mixkv_bf16&gt;"), or null for one it does not model.</summary>
    /// <param name="multiprocessors">The runtime's (<see cref="Kernels.Runtime.IKernelRuntime.Multiprocessors"/>): it sets the run kernels' (max, Σ) columns.</param>
    /// <param name="launches">The instance's launches per layer (the per-kernel table's column).</param>
    public static (double Bytes, double Flop)? Of(string instance, BenchShape s, int keptTokens, int multiprocessors, int launches)
    {
        double e = s.DType.Size();
        double hq = s.QueryHeads, hkv = s.KvHeads, n = s.Tokens, d = s.HeadDim, w = s.Window;
        double prefix = Math.Max(0, n - w), tiles = Math.Ceiling(n / 64.0);
        double keys = hkv * n * d * e, window = hq * w * d * e, perPrefix = hkv * prefix * Fp32;
        double windowFlop = 2 * hq * w * n * d;
        // Per-row softmax statistics: one column per key tile, or per run of tiles (window_run.cu).
        int runTiles = Kernels.WindowScores.RunTilesFor(s.Tokens, s.KvHeads, multiprocessors);
        double columns = Kernels.WindowScores.StatisticColumns(s.DType, s.HeadDim, s.QueryHeads / s.KvHeads * s.Window, s.Window, s.Tokens, runTiles);
        string family = instance.Split('<')[0];
        int uniformCap = (int)Math.Round((keptTokens / hkv) - w);
        double candidates = hkv * Kernels.Select.CandidateCount((int)prefix, uniformCap);
        return family switch
        {
            // K and V are checked inside head_token_stats whenever it runs (a compressed layer): then
            // check_finite reads only the window's queries.
            "check_finite" => (prefix > 0 && keptTokens < hkv * n ? window : (2 * keys) + window, 0),
            "window_tile_stats" => (keys + window + (2 * hq * w * columns * Fp32), windowFlop),
            "window_run_stats" or "window_run_stats_wgmma" => (keys + window + (2 * hq * w * columns * Fp32) + perPrefix, windowFlop), // and ||K[n]|| out
            "window_stats_merge" => (2 * hq * w * columns * Fp32, 0),
            "window_merge_key_mean" => ((2 * hq * w * columns * Fp32) + (hkv * tiles * d * Fp32), 0), // the merge and head_key_mean's partials
            "window_row_stats" => (keys + window, windowFlop),
            "window_tile_mass" or "window_mass" => (keys + window + perPrefix, windowFlop),
            // With the K statistics (always, in a compressed layer): ||K[n]|| in, s[n] out as well.
            "window_run_mass" or "window_run_mass_wgmma" => (keys + window + (3 * perPrefix), windowFlop),
            "window_pool" => (2 * perPrefix, 0),
            "head_key_partials" => (keys + (hkv * tiles * d * Fp32), 0),
            "head_key_mean" => (hkv * tiles * d * Fp32, 0),
            "head_token_stats" => ((2 * keys) + (3 * perPrefix), 0), // every row of K and V in (the window's checked finite), the norms and similarity out
            "head_value_stats" => (keys + perPrefix, 0), // every row of V in (V has K's shape), the value norms out
            "mix_partials" => (5 * perPrefix, 0), // the raw mass, value norm, key norm, similarity in, pooled A out (the pipeline skips window_pool)
            "mix_scores" => (5 * perPrefix, 0), // the same in again; S out
            // Every score in once per launch: four radix passes per selection (two selections when
            // normalising), one launch of the sums and of the counts.
            "adakv_radix_pass" => (launches * perPrefix, 0),
            "adakv_share_sums" or "adakv_head_counts" => (perPrefix, 0),
            // Every score in for the sum of all, each candidate's position and score (the shares'
            // candidates at base, about the kept rows' cap) for the sum of the top.
            "adakv_share_merge" => (perPrefix + (2 * candidates * sizeof(int)), 0),
            "select_radix_pass" => (launches * perPrefix, 0), // four passes, every score in each
            "select_span_counts" => (perPrefix, 0),
            "select_topk" => (perPrefix + (keptTokens * sizeof(int)), 0),
            // The candidate form (a uniform cap): every score in, each span's top cap out as positions;
            // the merge reads each candidate's position and score and writes the kept positions.
            "select_span_candidates" => (perPrefix + (candidates * sizeof(int)), 0),
            "select_merge" => ((2 * candidates * sizeof(int)) + (keptTokens * sizeof(int)), 0),
            // K and V: each kept row read and written (two gather_rows launches, or one gather_rows_pair).
            "gather_rows" or "gather_rows_pair" => ((2 * 2 * keptTokens * d * e) + (2 * keptTokens * sizeof(int)), 0),
            _ => null,
        };
    }
}
