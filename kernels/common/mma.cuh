// One warp-wide tensor-core product, D = A·B + C with A 16x16 and B 16x8 in fp16 or bf16 and C, D
// 16x8 in fp32: PTX `mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32` (sm_80+).
//
// Fragments, as the PTX ISA lays them out for this shape (lane = 4·group + pair, group 0..7,
// pair 0..3; a 32-bit register holds two consecutive k, the lower k in the low half):
//   A  a[0]: row group,   k 2·pair + {0,1}      a[1]: row group+8, same k
//      a[2]: row group,   k 2·pair + 8 + {0,1}  a[3]: row group+8, same k
//   B  b[0]: column group, k 2·pair + {0,1}     b[1]: column group, k 2·pair + 8 + {0,1}
//   C/D c[0], c[1]: row group, columns 2·pair + {0,1}   c[2], c[3]: row group+8, same columns
//
// The CPU runtime has no tensor cores: there the lanes swap fragments through block-scoped memory
// between two __syncwarp()s and every lane forms its four sums in k order. Products of two 16-bit
// values are exact in fp32, so only the accumulation order can differ from the hardware's.
#ifndef MIXKV_COMMON_MMA_CUH
#define MIXKV_COMMON_MMA_CUH

#include "portability.cuh"
#include "dtype.cuh"

// The two 16-bit values (k, k+1) of one register, as the instruction wants them.
__device__ __forceinline__ unsigned mixkv_pack_pair(unsigned short low, unsigned short high)
{
    return static_cast<unsigned>(low) | (static_cast<unsigned>(high) << 16);
}

#if MIXKV_EMULATED

template <typename T>
__device__ __forceinline__ float mixkv_mma_half(unsigned word, int k)
{
    T value;
    value.bits = static_cast<unsigned short>((k & 1) ? word >> 16 : word & 0xFFFFu);
    return mixkv_to_float(value);
}

template <typename T>
__device__ __forceinline__ void mixkv_mma_m16n8k16(float d[4], const unsigned a[4], const unsigned b[2], const float c[4])
{
    // Per warp of the block: every lane's six fragment registers (blocks have at most 32 warps).
    __shared__ unsigned exchange[32][32][6];
    const int linear = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    const int lane = linear % 32, warp = linear / 32;
    for (int i = 0; i < 4; ++i) {
        exchange[warp][lane][i] = a[i];
    }
    exchange[warp][lane][4] = b[0];
    exchange[warp][lane][5] = b[1];
    __syncwarp();
    const int group = lane / 4, pair = lane % 4;
    float out[4];
    for (int i = 0; i < 4; ++i) {
        const int row = group + 8 * (i / 2), column = 2 * pair + (i % 2);
        float sum = c[i];
        for (int k = 0; k < 16; ++k) {
            const int owner_a = 4 * (row % 8) + (k % 8) / 2, register_a = (row / 8) + 2 * (k / 8);
            const int owner_b = 4 * column + (k % 8) / 2, register_b = 4 + k / 8;
            sum += mixkv_mma_half<T>(exchange[warp][owner_a][register_a], k) * mixkv_mma_half<T>(exchange[warp][owner_b][register_b], k);
        }
        out[i] = sum;
    }
    __syncwarp();  // nobody overwrites `exchange` with the next product before every lane has read it
    for (int i = 0; i < 4; ++i) {
        d[i] = out[i];
    }
}

#else

__device__ __forceinline__ void mixkv_mma_f16(float d[4], const unsigned a[4], const unsigned b[2], const float c[4])
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};"
                 : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
}

__device__ __forceinline__ void mixkv_mma_bf16(float d[4], const unsigned a[4], const unsigned b[2], const float c[4])
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%10,%11,%12,%13};"
                 : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]), "f"(c[3]));
}

template <typename T>
__device__ __forceinline__ void mixkv_mma_m16n8k16(float d[4], const unsigned a[4], const unsigned b[2], const float c[4]);

template <>
__device__ __forceinline__ void mixkv_mma_m16n8k16<mixkv_f16>(float d[4], const unsigned a[4], const unsigned b[2], const float c[4])
{
    mixkv_mma_f16(d, a, b, c);
}

template <>
__device__ __forceinline__ void mixkv_mma_m16n8k16<mixkv_bf16>(float d[4], const unsigned a[4], const unsigned b[2], const float c[4])
{
    mixkv_mma_bf16(d, a, b, c);
}

#endif

#endif  // MIXKV_COMMON_MMA_CUH
