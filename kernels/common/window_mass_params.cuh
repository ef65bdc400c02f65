// Parameters of the window-mass kernels, shared by the CUDA-core (window_scores.cu: window_mass)
// and tensor-core (window_mma.cu: window_tile_mass; window_run.cu: window_run_mass) forms, which
// compute the same raw [Hkv, P].
#ifndef MIXKV_COMMON_WINDOW_MASS_PARAMS_CUH
#define MIXKV_COMMON_WINDOW_MASS_PARAMS_CUH

struct WindowMassParams {
    const void* keys;          // [Hkv, N, D] storage dtype, strides below (elements)
    const void* queries;       // window rows [Hq, W, D]
    const float* row_max;      // [Hq, W]
    const float* row_sum;      // [Hq, W]
    float* raw;                // [Hkv, P]
    long long key_head_stride;
    long long key_token_stride;
    long long query_head_stride;
    long long query_token_stride;
    int prefix;                // P
    int window;
    int head_dim;
    int groups;
    float scale;               // 1 / sqrt(D)
    int gqa_max;               // 0: mean over the group, 1: max
    int run;                   // key tiles per block (window_run_mass; the others ignore it)
    int reserved;
    // window_run_mass only, null when not wanted: s[n] = k̂_n·μ of the prefix keys from the tiles
    // it stages, with ||K[n]|| from window_run_stats (head_token_stats then reads only V).
    const float* mean_key;     // [Hkv, D]
    const float* key_norm;     // [Hkv, P]
    float* similarity;         // [Hkv, P]
};

#endif  // MIXKV_COMMON_WINDOW_MASS_PARAMS_CUH
