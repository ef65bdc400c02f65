// Self-test kernels that must fail (trap, divergence) or must NOT fail
// (threads that exit before a __syncthreads count as arrived).
#include "common/portability.cuh"
#include "params.h"

__global__ void selftest_trap(const ErrorParams p) {
    if (threadIdx.x == p.victim) __trap();
    __syncthreads();
    p.output[threadIdx.x] = 1;
}

// Half of each warp waits at __syncthreads, the other half at a shuffle naming it.
__global__ void selftest_barrier_divergence(const ErrorParams p) {
    if ((threadIdx.x & 31u) < 16) __syncthreads();
    else p.output[threadIdx.x] = __shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x), 0);
}

// The full mask names a lane that has returned.
__global__ void selftest_exited_lane(const ErrorParams p) {
    if (threadIdx.x == p.victim) return;
    p.output[threadIdx.x] = __shfl_sync(0xffffffffu, static_cast<int>(threadIdx.x), 0);
}

__global__ void selftest_early_exit(const ErrorParams p) {
    if (threadIdx.x >= p.victim) return;
    __syncthreads();
    p.output[threadIdx.x] = static_cast<int>(threadIdx.x);
}

MIXKV_KERNEL_INSTANCE("selftest_trap", selftest_trap, ErrorParams)
MIXKV_KERNEL_INSTANCE("selftest_barrier_divergence", selftest_barrier_divergence, ErrorParams)
MIXKV_KERNEL_INSTANCE("selftest_exited_lane", selftest_exited_lane, ErrorParams)
MIXKV_KERNEL_INSTANCE("selftest_early_exit", selftest_early_exit, ErrorParams)
