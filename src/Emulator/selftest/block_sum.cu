// Self-test kernel: sum of a block's integers with warp shuffles (down, then xor)
// and static shared memory. Launch: 1-D grid, blockDim.x a multiple of 32.
#include "common/portability.cuh"
#include "params.h"

template <typename T>
__device__ __forceinline__ T warp_sum_down(T v) {
    for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
    return v;
}

template <typename T>
__global__ void selftest_block_sum(const BlockSumParams p) {
    __shared__ T warp_totals[32];
    const int* in = p.input + static_cast<long long>(blockIdx.x) * p.per_block;
    T acc = 0;
    for (int i = threadIdx.x; i < p.per_block; i += blockDim.x) acc += static_cast<T>(in[i]);
    acc = warp_sum_down(acc);
    const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
    if (lane == 0) warp_totals[warp] = acc;
    __syncthreads();
    if (warp == 0) {
        const unsigned warps = (blockDim.x + 31u) >> 5;
        T v = lane < warps ? warp_totals[lane] : T(0);
        for (int m = 16; m > 0; m >>= 1) v += __shfl_xor_sync(0xffffffffu, v, m);
        if (lane == 0) p.output[blockIdx.x] = static_cast<long long>(v);
    }
}

MIXKV_KERNEL_INSTANCE("selftest_block_sum<int>", selftest_block_sum<int>, BlockSumParams)
MIXKV_KERNEL_INSTANCE("selftest_block_sum<long long>", selftest_block_sum<long long>, BlockSumParams)
