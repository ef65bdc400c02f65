// Host definitions that let a CUDA .cu kernel compile as C++ for the CPU runtime.
// Kernels do not include this directly: kernels/common/portability.cuh does, when it
// is not compiled by NVRTC or nvcc.
#pragma once

// System headers first: the kernel translation unit is wrapped in a namespace by the
// build (see build.sh), so every system header it may need must be read out here.
#include <cfloat>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <math.h>
#include <type_traits>

#include "mixkv_emu/types.h"
#include "mixkv_emu/thread_view.h"
#include "mixkv_emu/sync.h"
#include "mixkv_emu/atomics.h"
#include "mixkv_emu/intrinsics.h"
#include "mixkv_emu/registry.h"

// Execution-space qualifiers vanish: every kernel file is its own namespace in the
// host build (as it is its own NVRTC program on the GPU), so helpers defined in
// shared headers cannot collide at link time.
#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline __attribute__((always_inline))
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
// __restrict__ is a g++ keyword already.

// Static shared memory: all fibers of a block run on one OS worker thread, and a
// worker runs one block at a time, so thread-local storage is block-scoped storage.
#define __shared__ static thread_local
