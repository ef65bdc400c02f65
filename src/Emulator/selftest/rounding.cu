// Self-test kernel: the host build's fp32 -> fp16 / bf16 rounding (kernels/common/dtype.cuh), which
// on the GPU is the hardware's cvt. The C# test compares every result with .NET's conversions.
#include "common/portability.cuh"
#include "common/dtype.cuh"
#include "params.h"

__global__ void selftest_rounding(const RoundingParams p) {
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < p.count; i += gridDim.x * blockDim.x) {
        p.f16[i] = mixkv_from_float(p.input[i], mixkv_f16());
        p.bf16[i] = mixkv_from_float(p.input[i], mixkv_bf16());
    }
}

MIXKV_KERNEL_INSTANCE("selftest_rounding", selftest_rounding, RoundingParams)
