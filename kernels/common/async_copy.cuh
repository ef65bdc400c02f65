// 16-byte copies from global to shared memory that do not hold up the thread (cp.async, sm_80+):
// a block stages its next key tile while it multiplies the current one. The CPU runtime copies at
// once, so there commit and wait have nothing left to do.
//
//   mixkv_copy_16_async(shared, global)   issue one copy (both addresses 16-byte aligned)
//   mixkv_copy_16_async_to(row, global)   the same to a mixkv_shared_row (common/shared_row.cuh)
//   mixkv_async_commit()                  close the group of copies issued since the last commit
//   mixkv_async_wait<N>()                 wait until at most N of this thread's groups are pending
// Other threads' copies are visible only after a __syncthreads() that follows their wait.
#ifndef MIXKV_COMMON_ASYNC_COPY_CUH
#define MIXKV_COMMON_ASYNC_COPY_CUH

#include "portability.cuh"
#include "common/shared_row.cuh"  // by its name under kernels/: NVRTC resolves no other form for a header no .cu names

// To an address converted once (mixkv_shared_row_of) and moved by constant offsets: converting the
// generic pointer at every copy (in a volatile asm, never shared between copies, as it once was) was
// half of each copy's instructions in the run kernels' staging.
__device__ __forceinline__ void mixkv_copy_16_async_to(mixkv_shared_row shared, const void* global)
{
#if MIXKV_EMULATED
    *reinterpret_cast<uint4*>(const_cast<unsigned short*>(shared)) = *static_cast<const uint4*>(global);
#else
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(shared), "l"(global) : "memory");
#endif
}

// To a generic pointer into shared memory (converted at each call).
__device__ __forceinline__ void mixkv_copy_16_async(void* shared, const void* global)
{
    mixkv_copy_16_async_to(mixkv_shared_row_of(static_cast<const unsigned short*>(shared)), global);
}

__device__ __forceinline__ void mixkv_async_commit()
{
#if !MIXKV_EMULATED
    asm volatile("cp.async.commit_group;" ::: "memory");
#endif
}

template <int Pending>
__device__ __forceinline__ void mixkv_async_wait()
{
#if !MIXKV_EMULATED
    asm volatile("cp.async.wait_group %0;" ::"n"(Pending) : "memory");
#endif
}

#endif  // MIXKV_COMMON_ASYNC_COPY_CUH
