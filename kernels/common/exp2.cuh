// 2^x on the hardware's ex2 unit, for softmax terms exp(l - m) = 2^(l·log2e - m·log2e) (x <= 0 up
// to rounding). ex2.approx.ftz: relative error about 2^-22, results below 2^-126 flushed to zero
// (a probability that small is zero next to the row's largest, which is 1). CUDA's exp2f adds a
// range test and rescale per value for those tiny results: in window_run.cu's loops that doubled the
// instructions of every exponential. The CPU runtime uses libm's exp2f.
#ifndef MIXKV_COMMON_EXP2_CUH
#define MIXKV_COMMON_EXP2_CUH

#include "portability.cuh"

#define MIXKV_LOG2E 1.4426950408889634f

__device__ __forceinline__ float mixkv_exp2(float x)
{
#if MIXKV_EMULATED
    return exp2f(x);
#else
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    return y;
#endif
}

#endif  // MIXKV_COMMON_EXP2_CUH
