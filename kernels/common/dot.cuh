// The fp32 dot product of the CUDA-core logits (window_scores.cu, and window_mma.cu's fp32 tiles,
// which keep the same blocking in their fragment layout).
//
// fmaf per step (one rounding: the same bits on the GPU and the CPU runtime), summed by blocks of
// 16 that are then added up. One running sum over D = 128 random terms drifted past the fp32
// tolerance (1e-5 relative, against the double reference) on the softmax row sums; the blocks
// keep each partial short.
#ifndef MIXKV_COMMON_DOT_CUH
#define MIXKV_COMMON_DOT_CUH

#include "portability.cuh"
#include "dtype.cuh"

#define MIXKV_DOT_BLOCK 16

template <typename A, typename B>
__device__ __forceinline__ float mixkv_dot(const A* a, const B* b, int d)
{
    float sum = 0.0f;
    for (int first = 0; first < d; first += MIXKV_DOT_BLOCK) {
        const int end = first + MIXKV_DOT_BLOCK < d ? first + MIXKV_DOT_BLOCK : d;
        float block = 0.0f;
        for (int i = first; i < end; ++i) {
            block = fmaf(mixkv_to_float(a[i]), mixkv_to_float(b[i]), block);
        }
        sum += block;
    }
    return sum;
}

#endif  // MIXKV_COMMON_DOT_CUH
