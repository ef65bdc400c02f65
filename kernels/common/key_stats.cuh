// Constants of the key statistics (spec section 3) shared by head_stats.cu and the tile kernels, which
// can also write the per-chunk partial sums of the unit keys from its key tiles.
#ifndef MIXKV_COMMON_KEY_STATS_CUH
#define MIXKV_COMMON_KEY_STATS_CUH

// Tokens per partial sum of the unit keys: partial[Hkv, ceil(N/64), D].
#define MIXKV_HEAD_STATS_CHUNK 64

// Key normalisation floor of spec section 3: k / max(||k||, 1e-12).
#define MIXKV_KEY_NORM_FLOOR 1e-12f

#endif  // MIXKV_COMMON_KEY_STATS_CUH
