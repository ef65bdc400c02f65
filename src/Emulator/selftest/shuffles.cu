// Self-test kernel: __shfl_up/down/xor/_sync with a width below 32, on 4- and
// 8-byte types. Launch: 1-D, blockDim.x a multiple of 32.
#include "common/portability.cuh"
#include "params.h"

template <typename T>
__global__ void selftest_shuffles(const ShuffleParams p) {
    const unsigned t = blockIdx.x * blockDim.x + threadIdx.x;
    const T v = static_cast<T>(t * 3 + 1) + static_cast<T>(0.5);
    T* out = static_cast<T*>(p.output) + t * 4;
    out[0] = __shfl_up_sync(0xffffffffu, v, p.delta, p.width);
    out[1] = __shfl_down_sync(0xffffffffu, v, p.delta, p.width);
    out[2] = __shfl_xor_sync(0xffffffffu, v, p.lane_mask, p.width);
    out[3] = __shfl_sync(0xffffffffu, v, p.src_lane, p.width);
}

MIXKV_KERNEL_INSTANCE("selftest_shuffles<int>", selftest_shuffles<int>, ShuffleParams)
MIXKV_KERNEL_INSTANCE("selftest_shuffles<double>", selftest_shuffles<double>, ShuffleParams)
MIXKV_KERNEL_INSTANCE("selftest_shuffles<unsigned long long>", selftest_shuffles<unsigned long long>, ShuffleParams)
