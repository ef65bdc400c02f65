// First include of every kernel file: lets one .cu source compile under NVRTC/nvcc
// for the GPU and as plain C++ (g++) for the CPU runtime in src/Emulator.
//
// Kernel authors write, per file:
//   #include "common/portability.cuh"       (include path: the kernels/ folder)
//   __global__ void k(const KParams p) { ... MIXKV_DYNAMIC_SHARED(float, smem); ... }
//   MIXKV_KERNEL_INSTANCE("k", k, KParams)   (one line; string = NVRTC name expression)
//   MIXKV_UNROLL before a loop that must be unrolled on the GPU
//   MIXKV_NO_UNROLL before a loop the GPU compiler must leave rolled (registers over ILP)
#ifndef MIXKV_COMMON_PORTABILITY_CUH
#define MIXKV_COMMON_PORTABILITY_CUH

#if defined(__CUDACC_RTC__) || defined(__CUDACC__)

// GPU build: CUDA provides every built-in. Only the two project macros remain.
// 16-byte alignment so float4/uint4 views of the buffer are legal, as on the host.
#define MIXKV_DYNAMIC_SHARED(type, name) extern __shared__ __align__(16) type name[]
// NVRTC finds instances through name expressions (nvrtcAddNameExpression), so the
// registration line has nothing to do here.
#define MIXKV_KERNEL_INSTANCE(...)
#define MIXKV_EMULATED 0
// Full unrolling, where fragment arrays must stay in registers (g++ warns on the pragma).
#define MIXKV_UNROLL _Pragma("unroll")
#define MIXKV_NO_UNROLL _Pragma("unroll 1")

#else

// CPU build: src/Emulator/build.sh passes -I src/Emulator/include.
#include "mixkv_emu.h"
#define MIXKV_EMULATED 1
#define MIXKV_UNROLL
#define MIXKV_NO_UNROLL

#endif

#endif  // MIXKV_COMMON_PORTABILITY_CUH
