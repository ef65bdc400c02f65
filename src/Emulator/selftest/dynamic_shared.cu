// Self-test kernel: dynamic shared memory (size from the launch), filled by all
// threads and read back in reverse after a barrier. Launch: 1-D.
#include "common/portability.cuh"
#include "params.h"

__global__ void selftest_dynamic_shared(const DynamicSharedParams p) {
    MIXKV_DYNAMIC_SHARED(float, buffer);
    const int t = threadIdx.x, n = blockDim.x;
    if (t == 0) p.misaligned[blockIdx.x] = static_cast<unsigned>(reinterpret_cast<unsigned long long>(buffer) & 15u);
    for (int i = t; i < p.words; i += n) buffer[i] = static_cast<float>(i % 7 + blockIdx.x);
    __syncthreads();
    float sum = 0.0f;
    for (int i = t; i < p.words; i += n) sum += buffer[p.words - 1 - i];
    p.output[blockIdx.x * n + t] = sum;
}

MIXKV_KERNEL_INSTANCE("selftest_dynamic_shared", selftest_dynamic_shared, DynamicSharedParams)
