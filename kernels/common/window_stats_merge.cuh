// window_stats_merge's work (window_mma.cu), shared with window_run.cu's window_merge_key_mean:
// each window row's max and Σ exp over the whole key axis from the per-column (per tile, or per run
// of tiles) statistics of the first pass.
#ifndef MIXKV_COMMON_WINDOW_STATS_MERGE_CUH
#define MIXKV_COMMON_WINDOW_STATS_MERGE_CUH

#include "portability.cuh"
#include "reduce.cuh"

struct WindowStatsMergeParams {
    const float* tile_max;
    const float* tile_sum;
    float* row_max;            // [Hq, W]
    float* row_sum;            // [Hq, W]
    int query_rows;            // Hq·W
    int window;
    int groups;
    int tiles;
};

// Row t (of Hq·W) merged by the calling warp: lanes take columns lane, lane + 32, ... (adjacent
// lanes read adjacent words), then butterflies. The whole warp calls it with the same t.
__device__ __forceinline__ void mixkv_merge_row_statistics(const WindowStatsMergeParams& p, int t)
{
    const int lane = threadIdx.x % MIXKV_WARP;
    if (t >= p.query_rows) {
        return;  // whole warps leave together
    }
    const int q = t / p.window, w = t % p.window;
    const int kv_head = q / p.groups, row = (q % p.groups) * p.window + w, rows = p.groups * p.window;
    const float* tile_max = p.tile_max + (static_cast<long long>(kv_head) * rows + row) * p.tiles;
    const float* tile_sum = p.tile_sum + (static_cast<long long>(kv_head) * rows + row) * p.tiles;
    float m = MIXKV_NEG_INF;
    for (int i = lane; i < p.tiles; i += MIXKV_WARP) {
        m = fmaxf(m, tile_max[i]);
    }
    m = mixkv_warp_reduce(m, mixkv_max_op());
    float l = 0.0f;
    for (int i = lane; i < p.tiles; i += MIXKV_WARP) {
        const float tile = tile_max[i];
        if (tile != MIXKV_NEG_INF) {
            l += tile_sum[i] * expf(tile - m);
        }
    }
    l = mixkv_warp_reduce(l, mixkv_sum_op());
    if (lane == 0) {
        p.row_max[t] = m;
        p.row_sum[t] = l;
    }
}

#endif  // MIXKV_COMMON_WINDOW_STATS_MERGE_CUH
