// Parameters of the first tile kernel of the window scores, shared by window_mma.cu's
// window_tile_stats (a tile per block, run 1) and window_run.cu's window_run_stats (a run of tiles
// per block): the same outputs, per-row softmax statistics by column (a tile, or a run of tiles).
#ifndef MIXKV_COMMON_WINDOW_TILE_PARAMS_CUH
#define MIXKV_COMMON_WINDOW_TILE_PARAMS_CUH

struct WindowTileStatsParams {
    const void* keys;          // [Hkv, N, D], strides below (elements)
    const void* queries;       // window rows [Hq, W, D]
    float* tile_max;           // [Hkv, G·W, columns]: each column's causal max and Σ exp (columns = gridDim.x)
    float* tile_sum;           // [Hkv, G·W, columns]
    float* key_partials;       // [Hkv, tiles, D]: Σ k / max(||k||, 1e-12) over each tile's keys, or null
    long long key_head_stride;
    long long key_token_stride;
    long long query_head_stride;
    long long query_token_stride;
    int tokens;                // N
    int window;                // W
    int head_dim;              // D, at most 128 (a multiple of 16 for 16-bit keys)
    int groups;                // G
    float scale;               // 1 / sqrt(D)
    int tiles;                 // ceil(N / 64)
    int run;                   // key tiles per block (window_run_stats; 1 for window_tile_stats)
    int key_bit;               // OR-ed into *status for a non-finite element of K (window_run_stats)
    int query_bit;             // window_run_stats: OR-ed for a non-finite window row; 0: rows not checked
    // window_run_stats only, from the key tiles it stages (head_token_stats then reads only V), each
    // null when not wanted; both need key_partials:
    float* key_norm;           // [Hkv, P]: ||K[n]|| of the prefix keys
    int* status;               // validate.cu's word: every element of K checked finite
};

#endif  // MIXKV_COMMON_WINDOW_TILE_PARAMS_CUH
