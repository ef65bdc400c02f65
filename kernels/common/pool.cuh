// SnapKV's pooling of the raw attention mass over positions (spec section 2): a window of `kernel`
// (odd) positions centred on n, clipped at both ends of the prefix; max, or the sum over the full
// kernel width (clipped positions count as zeros). One function for window_pool (window_scores.cu)
// and mix_partials (mix.cu), which pools as it reads when the pipeline skips window_pool's launch,
// so both give the same bits.
#ifndef MIXKV_COMMON_POOL_CUH
#define MIXKV_COMMON_POOL_CUH

#include "portability.cuh"
#include "reduce.cuh"

__device__ __forceinline__ float mixkv_pool_at(const float* row, int prefix, int n, int kernel, bool pool_max)
{
    const int half = kernel / 2;
    const int from = n - half < 0 ? 0 : n - half;
    const int to = n + half >= prefix ? prefix - 1 : n + half;
    float acc = pool_max ? MIXKV_NEG_INF : 0.0f;
    for (int i = from; i <= to; ++i) {
        acc = pool_max ? fmaxf(acc, row[i]) : acc + row[i];
    }
    return pool_max ? acc : acc / static_cast<float>(kernel);
}

#endif  // MIXKV_COMMON_POOL_CUH
