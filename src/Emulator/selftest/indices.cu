// Self-test kernel: every thread records its 3-D threadIdx/blockIdx and the
// blockDim/gridDim it sees, at the position of its global 3-D coordinate.
#include "common/portability.cuh"
#include "params.h"

__device__ __forceinline__ unsigned pack(unsigned x, unsigned y, unsigned z) { return x | (y << 11) | (z << 22); }

__global__ void selftest_indices(const IndicesParams p) {
    const unsigned x = blockIdx.x * blockDim.x + threadIdx.x;
    const unsigned y = blockIdx.y * blockDim.y + threadIdx.y;
    const unsigned z = blockIdx.z * blockDim.z + threadIdx.z;
    const unsigned width = gridDim.x * blockDim.x, height = gridDim.y * blockDim.y;
    unsigned* out = p.output + ((static_cast<unsigned long long>(z) * height + y) * width + x) * 4;
    out[0] = pack(threadIdx.x, threadIdx.y, threadIdx.z);
    out[1] = pack(blockIdx.x, blockIdx.y, blockIdx.z);
    out[2] = pack(blockDim.x, blockDim.y, blockDim.z);
    out[3] = pack(gridDim.x, gridDim.y, gridDim.z);
}

MIXKV_KERNEL_INSTANCE("selftest_indices", selftest_indices, IndicesParams)
