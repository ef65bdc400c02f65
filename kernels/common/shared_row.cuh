// A place in shared memory for the warp-wide loads and the asynchronous copies that take one: on
// the GPU its 32-bit address in the shared window, converted once so that offsets fold into each
// instruction's immediate; on the CPU runtime a pointer.
#ifndef MIXKV_COMMON_SHARED_ROW_CUH
#define MIXKV_COMMON_SHARED_ROW_CUH

#include "portability.cuh"

#if MIXKV_EMULATED
typedef const unsigned short* mixkv_shared_row;
#else
typedef unsigned mixkv_shared_row;
#endif

__device__ __forceinline__ mixkv_shared_row mixkv_shared_row_of(const unsigned short* row)
{
#if MIXKV_EMULATED
    return row;
#else
    unsigned address;
    asm("{ .reg .u64 a; cvta.to.shared.u64 a, %1; cvt.u32.u64 %0, a; }" : "=r"(address) : "l"(row));
    return address;
#endif
}

// The row `values` 16-bit values further on.
__device__ __forceinline__ mixkv_shared_row mixkv_shared_row_plus(mixkv_shared_row row, int values)
{
#if MIXKV_EMULATED
    return row + values;
#else
    return row + 2u * static_cast<unsigned>(values);
#endif
}

#endif  // MIXKV_COMMON_SHARED_ROW_CUH
