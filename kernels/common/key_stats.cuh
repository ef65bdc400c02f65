// Constants and summation order of the key statistics (spec section 3) shared by head_stats.cu and the tile kernels, which
// can also write the per-chunk partial sums of the unit keys from its key tiles.
#ifndef MIXKV_COMMON_KEY_STATS_CUH
#define MIXKV_COMMON_KEY_STATS_CUH

// Tokens per partial sum of the unit keys: partial[Hkv, ceil(N/64), D].
#define MIXKV_HEAD_STATS_CHUNK 64

// Key normalisation floor of spec section 3: k / max(||k||, 1e-12).
#define MIXKV_KEY_NORM_FLOOR 1e-12f

// The one order in which every kernel that writes the partials (head_key_partials, the tile kernels
// but for bf16 tiles, which use the tensor cores) sums a chunk's unit keys per dimension, so all write
// the same bits: the chunk's tokens fall into
// four quarters by (t / 2) % 4, each quarter is summed in token order, then (Q0 + Q1) + (Q2 + Q3).
// Four quarters let four lanes share one dimension (the tile kernels spread the sums over every
// warp instead of the D / 2 threads that one sum per dimension keeps busy); quarters of token pairs
// put a warp's four rows of one step 2 apart, on different shared-memory banks.
#define MIXKV_PARTIAL_QUARTERS 4

// Quarter of token t of a chunk.
__device__ __forceinline__ int mixkv_partial_quarter(int t)
{
    return (t >> 1) & 3;
}

// The j-th token of quarter q: 8·(j / 2) + 2q + j % 2.
__device__ __forceinline__ int mixkv_quarter_token(int quarter, int j)
{
    return 8 * (j >> 1) + 2 * quarter + (j & 1);
}

__device__ __forceinline__ float mixkv_join_quarters(const float (&quarter)[MIXKV_PARTIAL_QUARTERS])
{
    return (quarter[0] + quarter[1]) + (quarter[2] + quarter[3]);
}

// Σ over the chunk's `count` tokens of value(t) · inverse_norm[t] in the order above, for one
// dimension: value(t) gives token t's element as fp32.
template <typename Value>
__device__ __forceinline__ float mixkv_chunk_unit_sum(int count, const float* inverse_norm, Value value)
{
    float quarter[MIXKV_PARTIAL_QUARTERS] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (int first = 0; first < count; first += 2 * MIXKV_PARTIAL_QUARTERS) {
MIXKV_UNROLL
        for (int u = 0; u < 2 * MIXKV_PARTIAL_QUARTERS; ++u) {
            if (first + u < count) {
                quarter[u >> 1] += value(first + u) * inverse_norm[first + u];
            }
        }
    }
    return mixkv_join_quarters(quarter);
}

#endif  // MIXKV_COMMON_KEY_STATS_CUH
