// First include of every kernel file: lets one .cu source compile under NVRTC/nvcc
// for the GPU and as plain C++ (g++) for the CPU runtime in src/Emulator.
//
// Kernel authors write, per file:
//   #include "common/portability.cuh"       (include path: the kernels/ folder)
//   __global__ void k(const KParams p) { ... MIXKV_DYNAMIC_SHARED(float, smem); ... }
//   MIXKV_KERNEL_INSTANCE("k", k, KParams)   (one line; string = NVRTC name expression)
//   MIXKV_UNROLL before a loop that must be unrolled on the GPU
//   MIXKV_NO_UNROLL before a loop the GPU compiler must leave rolled (registers over ILP)
//   MIXKV_GRID_DEPENDENCY(); as the first statement of every kernel (see below)
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
// Programmatic dependent launch (sm_90 and newer; the host opts in per launch, see CudaKernelRuntime):
// lets the next kernel of the stream be scheduled now, then waits until the kernel before this one has
// finished and its writes are visible. The first statement of every kernel, so that nothing reads or
// writes global memory before the wait (and a grid that has finished has waited for its own
// predecessor: the order stays transitive). In a launch without the attribute both are no-ops.
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
#define MIXKV_GRID_DEPENDENCY() asm volatile("griddepcontrol.launch_dependents;\n\tgriddepcontrol.wait;" ::: "memory")
#else
#define MIXKV_GRID_DEPENDENCY() ((void)0)
#endif

#else

// CPU build: src/Emulator/build.sh passes -I src/Emulator/include.
#include "mixkv_emu.h"
#define MIXKV_EMULATED 1
#define MIXKV_UNROLL
#define MIXKV_NO_UNROLL
// One kernel at a time on the CPU runtime: nothing to overlap.
#define MIXKV_GRID_DEPENDENCY() ((void)0)

#endif

#endif  // MIXKV_COMMON_PORTABILITY_CUH
