// head_key_mean's work (head_stats.cu), shared with window_run.cu's window_merge_key_mean: μ = (Σ of
// the chunk partials of the unit keys) / N in a fixed order, and the online redundancy r_h from
// ||μ|| (spec section 3).
#ifndef MIXKV_COMMON_KEY_MEAN_CUH
#define MIXKV_COMMON_KEY_MEAN_CUH

#include "portability.cuh"
#include "reduce.cuh"
#include "common/rounding_spread.cuh"  // by its name under kernels/: NVRTC resolves no other form for a header no .cu names

struct HeadKeyMeanParams {
    const float* partial;      // [Hkv, chunks, D]
    float* mean_key;           // [Hkv, D]
    float* redundancy;         // [Hkv]
    int tokens;
    int head_dim;
    int chunks;
    int reserved;
};

// Dimensions per pass of head_key_mean: four per lane, so a warp keeps four independent sums going.
#define MIXKV_KEY_MEAN_DIMS (4 * MIXKV_WARP)
#define MIXKV_KEY_MEAN_MAX_WARPS 32
// Chunk rows a warp of head_key_mean has in flight.
#define MIXKV_KEY_MEAN_BATCH 4

// μ and the online redundancy r_h of head `head` from its key partials; the whole block calls it.
__device__ __forceinline__ void mixkv_head_key_mean(const HeadKeyMeanParams& p, int head)
{
    __shared__ float warp_sums[MIXKV_KEY_MEAN_MAX_WARPS][MIXKV_KEY_MEAN_DIMS];
    __shared__ float scratch[MIXKV_WARP];
    const int lane = threadIdx.x % MIXKV_WARP, warp = threadIdx.x / MIXKV_WARP;
    const int warps = blockDim.x / MIXKV_WARP < MIXKV_KEY_MEAN_MAX_WARPS ? blockDim.x / MIXKV_WARP : MIXKV_KEY_MEAN_MAX_WARPS;
    const float* partial = p.partial + static_cast<long long>(head) * p.chunks * p.head_dim;
    float squared = 0.0f;
    for (int first = 0; first < p.head_dim; first += MIXKV_KEY_MEAN_DIMS) {
        // Warp w sums chunks w, w + warps, ... (lanes over adjacent dimensions: coalesced rows);
        // then one thread per dimension adds the warps' sums in warp order. Fixed order either way.
        // The rows of MIXKV_KEY_MEAN_BATCH chunks are loaded before any is added (the same order of
        // additions): with one row at a time, each warp waited for L2 once per row, 16 times at N 32K
        // on the 8 blocks of a layer with Hkv 8.
        float sums[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (warp < warps) {
            bool mine[4];
MIXKV_UNROLL
            for (int j = 0; j < 4; ++j) {
                mine[j] = first + lane + MIXKV_WARP * j < p.head_dim;
            }
            const float* row = partial + static_cast<long long>(warp) * p.head_dim + first + lane;
            const long long row_step = static_cast<long long>(warps) * p.head_dim;
            int c = warp;
            for (; c + (MIXKV_KEY_MEAN_BATCH - 1) * warps < p.chunks; c += MIXKV_KEY_MEAN_BATCH * warps) {
                float rows[MIXKV_KEY_MEAN_BATCH][4];
MIXKV_UNROLL
                for (int b = 0; b < MIXKV_KEY_MEAN_BATCH; ++b, row += row_step) {
MIXKV_UNROLL
                    for (int j = 0; j < 4; ++j) {
                        rows[b][j] = mine[j] ? row[MIXKV_WARP * j] : 0.0f;
                    }
                }
MIXKV_UNROLL
                for (int b = 0; b < MIXKV_KEY_MEAN_BATCH; ++b) {
MIXKV_UNROLL
                    for (int j = 0; j < 4; ++j) {
                        sums[j] += rows[b][j];  // +0 where not mine: those sums are never read
                    }
                }
            }
            for (; c < p.chunks; c += warps, row += row_step) {
MIXKV_UNROLL
                for (int j = 0; j < 4; ++j) {
                    if (mine[j]) {
                        sums[j] += row[MIXKV_WARP * j];
                    }
                }
            }
MIXKV_UNROLL
            for (int j = 0; j < 4; ++j) {
                warp_sums[warp][lane + MIXKV_WARP * j] = sums[j];
            }
        }
        __syncthreads();
        for (int i = threadIdx.x; i < MIXKV_KEY_MEAN_DIMS && first + i < p.head_dim; i += blockDim.x) {
            float sum = 0.0f;
            for (int w = 0; w < warps; ++w) {
                sum += warp_sums[w][i];
            }
            const float mean = sum / static_cast<float>(p.tokens);
            p.mean_key[head * p.head_dim + first + i] = mean;
            squared += mean * mean;
        }
        __syncthreads();
    }
    const float mean_norm_squared = mixkv_block_reduce(squared, mixkv_sum_op(), 0.0f, scratch);
    if (threadIdx.x == 0) {
        // A single key has no pairs: not redundant (the reference's choice, spec deviation note).
        float r = 0.0f;
        if (p.tokens > 1) {
            r = (static_cast<float>(p.tokens) * mean_norm_squared - 1.0f) / static_cast<float>(p.tokens - 1);
            r = mixkv_snap_redundancy(fminf(fmaxf(r, 0.0f), 1.0f));
        }
        p.redundancy[head] = r;
    }
}

#endif  // MIXKV_COMMON_KEY_MEAN_CUH
