// Windowed attention importance A[h, n] (spec section 2), three launches, nothing of size
// [Hq, W, N] ever reaches global memory:
//   window_row_stats  grid (W, Hq), 256 threads: per window row, the causal softmax statistics
//                     (max m, sum l of exp(logit - m)) over keys 0..P+w, merged across threads
//                     with the online-softmax rule. Reads K once per row: Hq*W*N*D loads.
//   window_mass       grid (ceil(P/256), Hkv), 256 threads: thread per prefix key n; recomputes
//                     each logit of the G*W query rows of its group, p = exp(logit - m) / l,
//                     mean over the window, then GQA mean/max. Writes raw[Hkv, P].
//   window_pool       grid (ceil(P/256), Hkv): stride-1 pooling, kernel k, k/2 zero padding
//                     (avg divides by k always; max skips padding). Writes A[Hkv, P]. The pipeline
//                     skips it: mix_partials pools as it reads (common/pool.cuh, the same bits).
#include "common/portability.cuh"
#include "common/dtype.cuh"
#include "common/reduce.cuh"
#include "common/window_mass_params.cuh"
#include "common/dot.cuh"
#include "common/pool.cuh"

struct WindowRowStatsParams {
    const void* keys;          // [Hkv, N, D] storage dtype, strides below (elements)
    const void* queries;       // window rows [Hq, W, D]
    float* row_max;            // [Hq, W]
    float* row_sum;            // [Hq, W]
    long long key_head_stride;
    long long key_token_stride;
    long long query_head_stride;
    long long query_token_stride;
    int tokens;                // N
    int window;                // W
    int head_dim;              // D
    int groups;                // G = Hq / Hkv
    float scale;               // 1 / sqrt(D)
    int reserved;
};

struct WindowPoolParams {
    const float* raw;          // [Hkv, P]
    float* pooled;             // [Hkv, P]
    int prefix;
    int kernel;                // odd
    int pool_max;              // 0: avg, 1: max
    int reserved;
};

template <typename T>
__global__ void window_row_stats(const WindowRowStatsParams p)
{
    MIXKV_GRID_DEPENDENCY();
    MIXKV_DYNAMIC_SHARED(float, query);  // D floats
    __shared__ float scratch[MIXKV_WARP];
    const int w = blockIdx.x;
    const int q = blockIdx.y;
    const int kv_head = q / p.groups;
    const int prefix = p.tokens - p.window;
    const T* query_row = static_cast<const T*>(p.queries) + q * p.query_head_stride + w * p.query_token_stride;
    for (int i = threadIdx.x; i < p.head_dim; i += blockDim.x) {
        query[i] = mixkv_to_float(query_row[i]);
    }
    __syncthreads();

    const T* keys = static_cast<const T*>(p.keys) + kv_head * p.key_head_stride;
    const int visible = prefix + w + 1;  // causal: the row at position P + w sees keys 0..P+w
    float m = MIXKV_NEG_INF, l = 0.0f;
    for (int n = threadIdx.x; n < visible; n += blockDim.x) {
        const float logit = mixkv_dot(keys + n * p.key_token_stride, query, p.head_dim) * p.scale;
        if (logit > m) {
            l = l * expf(m - logit) + 1.0f;
            m = logit;
        } else {
            l += expf(logit - m);
        }
    }
    const float block_max = mixkv_block_reduce(m, mixkv_max_op(), MIXKV_NEG_INF, scratch);
    const float rescaled = m == MIXKV_NEG_INF ? 0.0f : l * expf(m - block_max);
    const float block_sum = mixkv_block_reduce(rescaled, mixkv_sum_op(), 0.0f, scratch);
    if (threadIdx.x == 0) {
        p.row_max[q * p.window + w] = block_max;
        p.row_sum[q * p.window + w] = block_sum;
    }
}

template <typename T>
__global__ void window_mass(const WindowMassParams p)
{
    MIXKV_GRID_DEPENDENCY();
    const int n = blockIdx.x * blockDim.x + threadIdx.x;
    const int kv_head = blockIdx.y;
    if (n >= p.prefix) {
        return;
    }
    const T* key = static_cast<const T*>(p.keys) + kv_head * p.key_head_stride + n * p.key_token_stride;
    float reduced = p.gqa_max ? MIXKV_NEG_INF : 0.0f;
    for (int g = 0; g < p.groups; ++g) {
        const int q = kv_head * p.groups + g;
        float mass = 0.0f;
        for (int w = 0; w < p.window; ++w) {
            const T* query = static_cast<const T*>(p.queries) + q * p.query_head_stride + w * p.query_token_stride;
            const float logit = mixkv_dot(key, query, p.head_dim) * p.scale;
            mass += expf(logit - p.row_max[q * p.window + w]) / p.row_sum[q * p.window + w];
        }
        mass /= static_cast<float>(p.window);
        reduced = p.gqa_max ? fmaxf(reduced, mass) : reduced + mass;
    }
    if (!p.gqa_max) {
        reduced /= static_cast<float>(p.groups);
    }
    p.raw[kv_head * p.prefix + n] = reduced;
}

__global__ void window_pool(const WindowPoolParams p)
{
    MIXKV_GRID_DEPENDENCY();
    const int n = blockIdx.x * blockDim.x + threadIdx.x;
    const int head = blockIdx.y;
    if (n >= p.prefix) {
        return;
    }
    p.pooled[head * p.prefix + n] = mixkv_pool_at(p.raw + head * p.prefix, p.prefix, n, p.kernel, p.pool_max != 0);
}

MIXKV_KERNEL_INSTANCE("window_row_stats<float>", window_row_stats<float>, WindowRowStatsParams)
MIXKV_KERNEL_INSTANCE("window_row_stats<mixkv_f16>", window_row_stats<mixkv_f16>, WindowRowStatsParams)
MIXKV_KERNEL_INSTANCE("window_row_stats<mixkv_bf16>", window_row_stats<mixkv_bf16>, WindowRowStatsParams)
MIXKV_KERNEL_INSTANCE("window_mass<float>", window_mass<float>, WindowMassParams)
MIXKV_KERNEL_INSTANCE("window_mass<mixkv_f16>", window_mass<mixkv_f16>, WindowMassParams)
MIXKV_KERNEL_INSTANCE("window_mass<mixkv_bf16>", window_mass<mixkv_bf16>, WindowMassParams)
MIXKV_KERNEL_INSTANCE("window_pool", window_pool, WindowPoolParams)
