// Self-test kernel: atomics on global memory from many blocks (several OS threads)
// and on shared memory within a block. Launch: 1-D.
#include "common/portability.cuh"
#include "params.h"

__global__ void selftest_atomics(const AtomicsParams p) {
    __shared__ unsigned histogram[16];
    __shared__ int shared_max;
    const unsigned t = threadIdx.x;
    if (t < 16) histogram[t] = 0;
    if (t == 0) shared_max = -2147483647 - 1;
    __syncthreads();

    const unsigned gid = blockIdx.x * blockDim.x + t;
    atomicAdd(&histogram[gid % 16], 1u);
    atomicMax(&shared_max, static_cast<int>(gid * 7 % 1000));
    atomicAdd(p.counter_int, 1);
    atomicAdd(p.sum_u64, static_cast<unsigned long long>(gid));
    atomicAdd(p.sum_float, 1.0f);
    atomicMax(p.max_int, static_cast<int>(gid));
    atomicMin(p.min_uint, 1000000u - gid);
    atomicOr(p.or_bits, 1u << (gid % 32));
    atomicAnd(p.and_bits, ~(1u << (gid % 31)));
    int old = atomicAdd(p.cas_counter, 0), assumed;
    do {
        assumed = old;
        old = atomicCAS(p.cas_counter, assumed, assumed + 1);
    } while (old != assumed);
    atomicExch(p.exch_slot, gid);
    __syncthreads();

    if (t < 16) atomicAdd(&p.histogram[t], histogram[t]);
    if (t == 0) atomicMax(p.block_max, shared_max);
}

MIXKV_KERNEL_INSTANCE("selftest_atomics", selftest_atomics, AtomicsParams)
