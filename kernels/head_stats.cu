// Per-KV-head key/value statistics (spec section 3), three launches:
//   head_key_partials  grid (ceil(N/64), Hkv), 256 threads: each warp normalises tokens of its
//                      64-token chunk (norm by warp reduction), then threads sum the unit keys
//                      per dimension over the chunk. Writes partial[Hkv, chunks, D]. One pass over K.
//                      Not launched when the tile kernels run (D <= 128): window_tile_stats
//                      (window_mma.cu) or window_run_stats (window_run.cu) writes the same
//                      partials, with the same arithmetic, from the key tiles it stages.
//   head_key_mean      grid Hkv, 256 threads: mu = (sum of partials) / N in a fixed order (warps
//                      over chunks, then the warps' sums in order; one thread per dimension walking
//                      every chunk took 59 us on an H100 at N = 32768), then
//                      the online redundancy r = clamp((N*||mu||^2 - 1) / (N - 1), 0, 1).
//   head_token_stats   grid (ceil(P/8), Hkv), 256 threads (warp per token): ||K[n]||, ||V[n]||
//                      and s[n] = k_hat_n*mu for the P prefix tokens. One pass over K and V prefix.
// Fixed chunking and tree reductions keep every result independent of scheduling.
#include "common/portability.cuh"
#include "common/dtype.cuh"
#include "common/reduce.cuh"
#include "common/key_stats.cuh"

struct HeadKeyPartialsParams {
    const void* keys;          // [Hkv, N, D]
    float* partial;            // [Hkv, chunks, D]
    long long key_head_stride;
    long long key_token_stride;
    int tokens;
    int head_dim;
    int chunks;                // ceil(N / 64)
    int reserved;
};

struct HeadKeyMeanParams {
    const float* partial;      // [Hkv, chunks, D]
    float* mean_key;           // [Hkv, D]
    float* redundancy;         // [Hkv]
    int tokens;
    int head_dim;
    int chunks;
    int reserved;
};

struct HeadTokenStatsParams {
    const void* keys;
    const void* values;
    const float* mean_key;     // [Hkv, D]
    float* key_norm;           // [Hkv, P]
    float* value_norm;         // [Hkv, P]
    float* similarity;         // [Hkv, P]  s = k_hat*mu
    long long key_head_stride;
    long long key_token_stride;
    long long value_head_stride;
    long long value_token_stride;
    int prefix;
    int head_dim;
};

template <typename T>
__device__ __forceinline__ float mixkv_warp_row_norm(const T* row, int d)
{
    float sum = 0.0f;
    for (int i = threadIdx.x % MIXKV_WARP; i < d; i += MIXKV_WARP) {
        const float x = mixkv_to_float(row[i]);
        sum += x * x;
    }
    return sqrtf(mixkv_warp_reduce(sum, mixkv_sum_op()));
}

template <typename T>
__global__ void head_key_partials(const HeadKeyPartialsParams p)
{
    __shared__ float inverse_norm[MIXKV_HEAD_STATS_CHUNK];
    const int chunk = blockIdx.x;
    const int head = blockIdx.y;
    const int first = chunk * MIXKV_HEAD_STATS_CHUNK;
    const int count = p.tokens - first < MIXKV_HEAD_STATS_CHUNK ? p.tokens - first : MIXKV_HEAD_STATS_CHUNK;
    const T* keys = static_cast<const T*>(p.keys) + head * p.key_head_stride;
    const int warp = threadIdx.x / MIXKV_WARP;
    const int warps = blockDim.x / MIXKV_WARP;
    for (int t = warp; t < count; t += warps) {
        const float norm = mixkv_warp_row_norm(keys + (first + t) * p.key_token_stride, p.head_dim);
        if (threadIdx.x % MIXKV_WARP == 0) {
            inverse_norm[t] = 1.0f / fmaxf(norm, MIXKV_KEY_NORM_FLOOR);
        }
    }
    __syncthreads();
    for (int i = threadIdx.x; i < p.head_dim; i += blockDim.x) {
        float sum = 0.0f;
        for (int t = 0; t < count; ++t) {
            sum += mixkv_to_float(keys[(first + t) * p.key_token_stride + i]) * inverse_norm[t];
        }
        p.partial[(static_cast<long long>(head) * p.chunks + chunk) * p.head_dim + i] = sum;
    }
}

// Dimensions per pass of head_key_mean: four per lane, so a warp keeps four independent sums going.
#define MIXKV_KEY_MEAN_DIMS (4 * MIXKV_WARP)
#define MIXKV_KEY_MEAN_MAX_WARPS 8

__global__ void head_key_mean(const HeadKeyMeanParams p)
{
    __shared__ float warp_sums[MIXKV_KEY_MEAN_MAX_WARPS][MIXKV_KEY_MEAN_DIMS];
    __shared__ float scratch[MIXKV_WARP];
    const int head = blockIdx.x, lane = threadIdx.x % MIXKV_WARP, warp = threadIdx.x / MIXKV_WARP;
    const int warps = blockDim.x / MIXKV_WARP < MIXKV_KEY_MEAN_MAX_WARPS ? blockDim.x / MIXKV_WARP : MIXKV_KEY_MEAN_MAX_WARPS;
    const float* partial = p.partial + static_cast<long long>(head) * p.chunks * p.head_dim;
    float squared = 0.0f;
    for (int first = 0; first < p.head_dim; first += MIXKV_KEY_MEAN_DIMS) {
        // Warp w sums chunks w, w + warps, ... (lanes over adjacent dimensions: coalesced rows);
        // then one thread per dimension adds the warps' sums in warp order. Fixed order either way.
        float sums[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        if (warp < warps) {
            for (int c = warp; c < p.chunks; c += warps) {
                const float* row = partial + static_cast<long long>(c) * p.head_dim + first;
MIXKV_UNROLL
                for (int j = 0; j < 4; ++j) {
                    if (first + lane + MIXKV_WARP * j < p.head_dim) {
                        sums[j] += row[lane + MIXKV_WARP * j];
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
            r = fminf(fmaxf(r, 0.0f), 1.0f);
        }
        p.redundancy[head] = r;
    }
}

template <typename T>
__global__ void head_token_stats(const HeadTokenStatsParams p)
{
    const int warps = blockDim.x / MIXKV_WARP;
    const int n = blockIdx.x * warps + threadIdx.x / MIXKV_WARP;
    const int head = blockIdx.y;
    if (n >= p.prefix) {
        return;  // whole warps leave together: n is uniform across a warp
    }
    const T* key = static_cast<const T*>(p.keys) + head * p.key_head_stride + n * p.key_token_stride;
    const T* value = static_cast<const T*>(p.values) + head * p.value_head_stride + n * p.value_token_stride;
    const float* mean = p.mean_key + head * p.head_dim;
    float kk = 0.0f, vv = 0.0f, km = 0.0f;
    for (int i = threadIdx.x % MIXKV_WARP; i < p.head_dim; i += MIXKV_WARP) {
        const float k = mixkv_to_float(key[i]);
        const float v = mixkv_to_float(value[i]);
        kk += k * k;
        vv += v * v;
        km += k * mean[i];
    }
    kk = mixkv_warp_reduce(kk, mixkv_sum_op());
    vv = mixkv_warp_reduce(vv, mixkv_sum_op());
    km = mixkv_warp_reduce(km, mixkv_sum_op());
    if (threadIdx.x % MIXKV_WARP == 0) {
        const float key_norm = sqrtf(kk);
        const long long at = static_cast<long long>(head) * p.prefix + n;
        p.key_norm[at] = key_norm;
        p.value_norm[at] = sqrtf(vv);
        p.similarity[at] = km / fmaxf(key_norm, MIXKV_KEY_NORM_FLOOR);
    }
}

MIXKV_KERNEL_INSTANCE("head_key_partials<float>", head_key_partials<float>, HeadKeyPartialsParams)
MIXKV_KERNEL_INSTANCE("head_key_partials<mixkv_f16>", head_key_partials<mixkv_f16>, HeadKeyPartialsParams)
MIXKV_KERNEL_INSTANCE("head_key_partials<mixkv_bf16>", head_key_partials<mixkv_bf16>, HeadKeyPartialsParams)
MIXKV_KERNEL_INSTANCE("head_key_mean", head_key_mean, HeadKeyMeanParams)
MIXKV_KERNEL_INSTANCE("head_token_stats<float>", head_token_stats<float>, HeadTokenStatsParams)
MIXKV_KERNEL_INSTANCE("head_token_stats<mixkv_f16>", head_token_stats<mixkv_f16>, HeadTokenStatsParams)
MIXKV_KERNEL_INSTANCE("head_token_stats<mixkv_bf16>", head_token_stats<mixkv_bf16>, HeadTokenStatsParams)
