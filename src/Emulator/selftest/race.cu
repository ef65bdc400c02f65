// Self-test kernel: reverse a block's values through shared memory. The <false>
// instance has the __syncthreads between write and read PLANTED missing: random
// schedules must change its result, and ThreadSanitizer must name these lines.
#include "common/portability.cuh"
#include "params.h"

template <bool WithBarrier>
__global__ void selftest_reverse(const ReverseParams p) {
    __shared__ int stage[1024];
    const unsigned t = threadIdx.x;
    const unsigned base = blockIdx.x * blockDim.x;
    stage[t] = p.input[base + t];
    if (WithBarrier) __syncthreads();
    p.output[base + t] = stage[blockDim.x - 1 - t];
}

MIXKV_KERNEL_INSTANCE("selftest_reverse<true>", selftest_reverse<true>, ReverseParams)
MIXKV_KERNEL_INSTANCE("selftest_reverse<false>", selftest_reverse<false>, ReverseParams)
