// Self-test kernel: common/wgmma.cuh's warpgroup product, D[R, 64] = A[R, K]·B[64, K]ᵀ + C (C only
// when `accumulate`), a warpgroup per 64 rows (blockDim = 2·R), K up to 128. B is staged in the core
// layout as the window kernels stage a key tile; each warp holds its 16 rows' A fragments for every
// k step before the first product, as those kernels hold their window rows. Run on the CPU runtime in
// CI (tests/MixKV.Tests/Kernels/WgmmaTests.cs) and, compiled by NVRTC 12+ for compute_90a, on an
// H100 or H200 when one is present: the hardware is what checks the layouts written here.
#include "common/portability.cuh"
#include "common/dtype.cuh"
#include "common/wgmma.cuh"
#include "params.h"

#define SELFTEST_WGMMA_MAX_STEPS 8  // K <= 128

template <typename T>
__global__ void selftest_wgmma(const WgmmaParams p)
{
#if MIXKV_WGMMA
    // 16-byte aligned, as the descriptor's addresses in 16-byte units need (uint4 words).
    __shared__ uint4 words_of_b[MIXKV_CORE_VALUES * 8 * 2 * SELFTEST_WGMMA_MAX_STEPS / 8];
    unsigned short* b = reinterpret_cast<unsigned short*>(words_of_b);
    const int words = p.depth / 8;  // 16-byte words per B row
    for (int i = threadIdx.x; i < 64 * words; i += blockDim.x) {
        const int column = i / words, word = i % words;
        *reinterpret_cast<uint4*>(b + mixkv_core_offset(column, 8 * word, 64)) = reinterpret_cast<const uint4*>(p.b + column * p.depth)[word];
    }
    mixkv_shared_to_wgmma();
    __syncthreads();

    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, group = lane / 4, pair = lane % 4;
    const int row = 16 * warp + group;  // and row + 8
    unsigned a[SELFTEST_WGMMA_MAX_STEPS][4];
MIXKV_UNROLL
    for (int step = 0; step < SELFTEST_WGMMA_MAX_STEPS; ++step) {
        const unsigned short* r0 = p.a + row * p.depth + 16 * step + 2 * pair;
        const unsigned short* r1 = r0 + 8 * p.depth;
        const bool used = 16 * step < p.depth;
        a[step][0] = used ? r0[0] | (static_cast<unsigned>(r0[1]) << 16) : 0u;
        a[step][1] = used ? r1[0] | (static_cast<unsigned>(r1[1]) << 16) : 0u;
        a[step][2] = used ? r0[8] | (static_cast<unsigned>(r0[9]) << 16) : 0u;
        a[step][3] = used ? r1[8] | (static_cast<unsigned>(r1[9]) << 16) : 0u;
    }
    float d[8][4];
MIXKV_UNROLL
    for (int c = 0; c < 8; ++c) {
MIXKV_UNROLL
        for (int i = 0; i < 4; ++i) {
            d[c][i] = p.c[(row + 8 * (i / 2)) * 64 + 8 * c + 2 * pair + i % 2];
        }
    }
    mixkv_wgmma_hold(d);
    mixkv_wgmma_fence();
    const mixkv_shared_row tile = mixkv_shared_row_of(b);
MIXKV_UNROLL
    for (int step = 0; step < SELFTEST_WGMMA_MAX_STEPS; ++step) {
        if (16 * step < p.depth) {  // the same for the whole block
            mixkv_wgmma_m64n64k16<T>(d, a[step], mixkv_wgmma_tile(tile, 64, step), step > 0 || p.accumulate != 0);
        }
    }
    mixkv_wgmma_commit();
    mixkv_wgmma_wait<0>(d);
MIXKV_UNROLL
    for (int c = 0; c < 8; ++c) {
MIXKV_UNROLL
        for (int i = 0; i < 4; ++i) {
            p.d[(row + 8 * (i / 2)) * 64 + 8 * c + 2 * pair + i % 2] = d[c][i];
        }
    }
#else
    __trap();  // compiled without the product (NVRTC before 12, or not for compute_90a): nothing to test
#endif
}

MIXKV_KERNEL_INSTANCE("selftest_wgmma<mixkv_f16>", selftest_wgmma<mixkv_f16>, WgmmaParams)
MIXKV_KERNEL_INSTANCE("selftest_wgmma<mixkv_bf16>", selftest_wgmma<mixkv_bf16>, WgmmaParams)
