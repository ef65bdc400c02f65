// Four 8x8 matrices of 16-bit values from shared memory into mma fragment registers in one warp-wide
// instruction: PTX `ldmatrix.sync.aligned.m8n8.x4.shared.b16` (sm_75+).
//
// Lanes 8i..8i+7 give the addresses of rows 0..7 of matrix i (16 contiguous bytes each, 16-byte
// aligned); lane 4·group + pair receives in d[i] row `group`, columns 2·pair and 2·pair + 1 of
// matrix i, the lower column in the low half. For a matrix whose rows are keys and whose columns
// are 8 consecutive dimensions, that is exactly one B register of mma.m16n8k16 (common/mma.cuh), so
// one instruction replaces four 32-bit shared loads and their address arithmetic (on an H100 the
// B loads and their addresses were about a third of the window run kernels' per-tile instructions).
//
// The CPU runtime swaps the lanes' row addresses through block-scoped memory between two
// __syncwarp()s and every lane reads its four words, as the hardware hands them out.
#ifndef MIXKV_COMMON_LDMATRIX_CUH
#define MIXKV_COMMON_LDMATRIX_CUH

#include "portability.cuh"
#include "common/shared_row.cuh"  // by its name under kernels/: NVRTC resolves no other form for a header no .cu names

#if MIXKV_EMULATED
// Every lane's row address swapped through block-scoped memory (blocks have at most 32 warps): the
// warp's 32 addresses, readable until the caller's closing __syncwarp().
__device__ __forceinline__ const unsigned short* const* mixkv_share_rows(mixkv_shared_row row)
{
    __shared__ const unsigned short* rows[32][32];
    const int linear = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    rows[linear / 32][linear % 32] = row;
    __syncwarp();
    return rows[linear / 32];
}
#endif

__device__ __forceinline__ void mixkv_load_matrices_x4(unsigned d[4], mixkv_shared_row row)
{
#if MIXKV_EMULATED
    const unsigned short* const* rows = mixkv_share_rows(row);
    const int lane = threadIdx.x % 32, group = lane / 4, pair = lane % 4;
    for (int i = 0; i < 4; ++i) {
        d[i] = *reinterpret_cast<const unsigned*>(rows[8 * i + group] + 2 * pair);
    }
    __syncwarp();  // nobody overwrites the addresses with the next load before every lane has read them
#else
    // "memory": the staged rows were written by other threads' copies, made visible by the barrier
    // before this load; the clobber keeps the load after that barrier.
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
                 : "r"(row)
                 : "memory");
#endif
}

// The same load with `.trans`: lane 4·group + pair receives in d[i] rows 2·pair and 2·pair + 1 of
// matrix i at column `group` (row 2·pair in the low half). For a matrix whose rows are keys and whose
// columns are dimensions, that is one B register of a product whose k runs over keys (the sums of the
// unit keys in common/key_tile.cuh).
__device__ __forceinline__ void mixkv_load_matrices_x4_trans(unsigned d[4], mixkv_shared_row row)
{
#if MIXKV_EMULATED
    const unsigned short* const* rows = mixkv_share_rows(row);
    const int lane = threadIdx.x % 32, group = lane / 4, pair = lane % 4;
    for (int i = 0; i < 4; ++i) {
        d[i] = static_cast<unsigned>(rows[8 * i + 2 * pair][group]) | (static_cast<unsigned>(rows[8 * i + 2 * pair + 1][group]) << 16);
    }
    __syncwarp();
#else
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(d[0]), "=r"(d[1]), "=r"(d[2]), "=r"(d[3])
                 : "r"(row)
                 : "memory");
#endif
}

#endif  // MIXKV_COMMON_LDMATRIX_CUH
