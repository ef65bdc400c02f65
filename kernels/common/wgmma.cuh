// Hopper's warpgroup product, D = A·Bᵀ + D for a warpgroup's 64 rows against 64 columns of B at once:
// PTX `wgmma.mma_async.sync.aligned.m64n64k16.f32.{f16,bf16}.{f16,bf16}` (sm_90a), A in registers,
// B in shared memory behind a matrix descriptor. mma.sync (common/mma.cuh) has every warp load each
// B fragment it multiplies with ldmatrix, so the window kernels' eight warps read each staged key tile
// eight times from shared memory and issue those loads beside their softmax; wgmma reads B itself,
// once per warpgroup, while the warps go on (bench/results/gpu-2026-11-27.md: both window kernels
// latency-bound, issue slots half used).
//
//   MIXKV_WGMMA                  1 where the product exists: NVRTC 12+ compiling for compute_90a, and
//                                the CPU runtime; 0 elsewhere (NVRTC 11.8, sm_80, plain sm_90)
//   mixkv_core_offset(r, k, R)   where value (r, k) of an R-row B operand lies in the layout below
//   mixkv_wgmma_tile(tile, R, s) the descriptor of k step s (k 16s..16s+15) of such an operand
//   mixkv_shared_to_wgmma()      after this thread's own writes (st.shared or cp.async) to a B operand
//                                and before the barrier that publishes it: they become visible to wgmma
//   mixkv_wgmma_fence()          before a warpgroup's first product of a sequence
//   mixkv_wgmma_m64n64k16<T>(d, a, desc, accumulate)   issue one product (accumulate false: d's old
//                                values are not read); d is neither read nor written until the wait
//   mixkv_wgmma_commit()         close the group of the products issued since the last commit
//   mixkv_wgmma_wait<N>(d)       wait until at most N committed groups are in flight; then read d
//
// Fragments: warp w of the warpgroup (w = warp index % 4) holds rows 16w..16w+15 of the 64, in
// mma.m16n8k16's layouts (common/mma.cuh), so a warp's A registers and accumulators are the ones its
// mma.sync code already has: a[0..3] the A fragment of one k step, d[c][0..3] the C/D fragment of
// columns 8c..8c+7. Every thread of the warpgroup must issue the same sequence of products.
//
// B layout ("no swizzle", K-major, the PTX ISA's canonical one): core matrices of 8 rows × 8 values
// (128 contiguous bytes, a row's 8 values 16 bytes), the core matrices of one 8-value chunk of k for
// rows 0..7, 8..15, ... one after another, then the next chunk's. The descriptor's leading offset is
// the step between k chunks (R / 8 core matrices), its stride offset the step between row groups (one
// core matrix). A 16-byte copy of 8 consecutive values of a row lands in one piece, and an ldmatrix
// over 8 rows of a chunk reads one core matrix: the same layout serves cp.async staging and the
// ldmatrix readers, with no bank conflicts.
//
// The CPU runtime has no tensor cores: there a product is queued when issued and computed at the wait
// that covers it, the latest the hardware may read B and write d, so a kernel that rewrites its B tile
// or reads d before waiting gets wrong results on the CPU too. Then the lanes swap A fragments through
// block-scoped memory between two __syncwarp()s (as the mma emulation does), and every lane forms its
// 32 sums in k order from shared memory as the descriptor addresses it. Products of two 16-bit values
// are exact in fp32, so only the accumulation order can differ from the hardware's.
#ifndef MIXKV_COMMON_WGMMA_CUH
#define MIXKV_COMMON_WGMMA_CUH

#include "portability.cuh"
#include "dtype.cuh"
#include "common/shared_row.cuh"  // by its name under kernels/: NVRTC resolves no other form for a header no .cu names

#if MIXKV_EMULATED || defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define MIXKV_WGMMA 1
#else
#define MIXKV_WGMMA 0
#endif

#define MIXKV_CORE_VALUES 64  // values per core matrix: 8 rows of 8

// Offset, in values, of (row, k) in an operand of `rows` rows (a multiple of 8) in the layout above.
__device__ __forceinline__ int mixkv_core_offset(int row, int k, int rows)
{
    return ((k / 8) * (rows / 8) + row / 8) * MIXKV_CORE_VALUES + (row % 8) * 8 + k % 8;
}

#if MIXKV_WGMMA

#if MIXKV_EMULATED
// The fields the hardware reads from a descriptor, as a pointer and byte offsets.
struct mixkv_wgmma_desc {
    const unsigned short* start;
    int leading_bytes;  // to the next 8 values of k
    int stride_bytes;   // to the next 8 rows
};
#else
typedef unsigned long long mixkv_wgmma_desc;
#endif

// The descriptor of k step `step` of an operand of `rows` rows at `tile` (16-byte aligned): start
// address, leading and stride byte offsets, each in 16-byte units (bits 0-13, 16-29, 32-45); base
// offset 0 and layout "no swizzle" (bits 49-51 and 62-63 zero).
__device__ __forceinline__ mixkv_wgmma_desc mixkv_wgmma_tile(mixkv_shared_row tile, int rows, int step)
{
    const int leading = rows / 8 * 2 * MIXKV_CORE_VALUES, stride = 2 * MIXKV_CORE_VALUES;
    const mixkv_shared_row start = mixkv_shared_row_plus(tile, 2 * step * (rows / 8) * MIXKV_CORE_VALUES);
#if MIXKV_EMULATED
    return {start, leading, stride};
#else
    return static_cast<unsigned long long>((start >> 4) & 0x3FFFu) | (static_cast<unsigned long long>((leading >> 4) & 0x3FFF) << 16) |
           (static_cast<unsigned long long>((stride >> 4) & 0x3FFF) << 32);
#endif
}

__device__ __forceinline__ void mixkv_shared_to_wgmma()
{
#if !MIXKV_EMULATED
    asm volatile("fence.proxy.async.shared::cta;" ::: "memory");
#endif
}

__device__ __forceinline__ void mixkv_wgmma_fence()
{
#if !MIXKV_EMULATED
    asm volatile("wgmma.fence.sync.aligned;" ::: "memory");
#endif
}

// Keeps the compiler from moving reads or writes of the accumulators across the asynchronous
// product: each register passes through an empty asm, ordered with the volatile wgmma statements.
__device__ __forceinline__ void mixkv_wgmma_hold(float d[8][4])
{
#if !MIXKV_EMULATED
MIXKV_UNROLL
    for (int c = 0; c < 8; ++c) {
MIXKV_UNROLL
        for (int i = 0; i < 4; ++i) {
            asm volatile("" : "+f"(d[c][i])::"memory");
        }
    }
#endif
}

#if MIXKV_EMULATED

// A product issued and not yet computed (the CPU runtime's queue, in the header's comment).
struct mixkv_wgmma_product {
    unsigned a[4];
    mixkv_wgmma_desc b;
    float (*d)[4];
    bool accumulate;
    int group;                                // its commit group, -1 until committed
    void (*run)(const mixkv_wgmma_product&);  // the dtype's arithmetic
};

#define MIXKV_WGMMA_MAX_PENDING 16  // products a thread may have issued and not waited for

struct mixkv_wgmma_queue {
    mixkv_wgmma_product products[MIXKV_WGMMA_MAX_PENDING];
    int count;                       // products queued
    int groups;                      // groups committed since the queue was last empty
    unsigned long long block_serial; // the block they belong to
};

// The calling thread's queue: block-scoped storage, a slot per thread (blocks have at most 1024). A
// block that ended with products in flight (wrong on a GPU too, or trapped) leaves them behind: the
// next block on the worker starts with an empty queue instead of computing them into its registers.
__device__ __forceinline__ mixkv_wgmma_queue& mixkv_wgmma_thread_queue()
{
    __shared__ mixkv_wgmma_queue queues[1024];
    mixkv_wgmma_queue& queue = queues[threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z)];
    if (queue.block_serial != MIXKV_EMU_BLOCK_SERIAL) {
        queue.count = queue.groups = 0;
        queue.block_serial = MIXKV_EMU_BLOCK_SERIAL;
    }
    return queue;
}

template <typename T>
__device__ __forceinline__ void mixkv_wgmma_compute(const mixkv_wgmma_product& p)
{
    // Per warp of the block: every lane's four A registers (blocks have at most 32 warps).
    __shared__ unsigned exchange[32][32][4];
    const int linear = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
    const int lane = linear % 32, warp = linear / 32, group = lane / 4, pair = lane % 4;
    const mixkv_wgmma_desc b = p.b;
    float (*d)[4] = p.d;
    for (int i = 0; i < 4; ++i) {
        exchange[warp][lane][i] = p.a[i];
    }
    __syncwarp();
    for (int c = 0; c < 8; ++c) {
        for (int i = 0; i < 4; ++i) {
            const int row = group + 8 * (i / 2), column = 8 * c + 2 * pair + i % 2;
            float sum = p.accumulate ? d[c][i] : 0.0f;
            for (int k = 0; k < 16; ++k) {
                T av, bv;
                const unsigned word = exchange[warp][4 * (row % 8) + (k % 8) / 2][row / 8 + 2 * (k / 8)];
                av.bits = static_cast<unsigned short>((k & 1) ? word >> 16 : word & 0xFFFFu);
                const unsigned char* core = reinterpret_cast<const unsigned char*>(b.start) + (k / 8) * b.leading_bytes + (column / 8) * b.stride_bytes;
                bv.bits = reinterpret_cast<const unsigned short*>(core)[(column % 8) * 8 + k % 8];
                sum += mixkv_to_float(av) * mixkv_to_float(bv);
            }
            d[c][i] = sum;
        }
    }
    __syncwarp();  // nobody overwrites `exchange` with the next product before every lane has read it
}

template <typename T>
__device__ __forceinline__ void mixkv_wgmma_m64n64k16(float d[8][4], const unsigned a[4], mixkv_wgmma_desc b, bool accumulate)
{
    mixkv_wgmma_queue& queue = mixkv_wgmma_thread_queue();
    if (queue.count == MIXKV_WGMMA_MAX_PENDING) {
        __trap();  // more products in flight than the CPU runtime keeps: wait for some first
    }
    mixkv_wgmma_product& p = queue.products[queue.count++];
    for (int i = 0; i < 4; ++i) {
        p.a[i] = a[i];
    }
    p.b = b;
    p.d = d;
    p.accumulate = accumulate;
    p.group = -1;
    p.run = mixkv_wgmma_compute<T>;
}

#else

// One instruction per dtype; `accumulate` false ignores d's old values (the predicate scale-d).
#define MIXKV_WGMMA_M64N64K16(name, type)                                                                                                            \
    __device__ __forceinline__ void name(float d[8][4], const unsigned a[4], mixkv_wgmma_desc b, bool accumulate)                                    \
    {                                                                                                                                                \
        asm volatile("{\n.reg .pred p;\nsetp.ne.b32 p, %36, 0;\n"                                                                                 \
                     "wgmma.mma_async.sync.aligned.m64n64k16.f32." type "." type " "                                                                 \
                     "{%0, %1, %2, %3, %4, %5, %6, %7, %8, %9, %10, %11, %12, %13, %14, %15, "                                                       \
                     "%16, %17, %18, %19, %20, %21, %22, %23, %24, %25, %26, %27, %28, %29, %30, %31}, "                                             \
                     "{%32, %33, %34, %35}, %37, p, 1, 1, 0;\n}\n"                                                                                   \
                     : "+f"(d[0][0]), "+f"(d[0][1]), "+f"(d[0][2]), "+f"(d[0][3]), "+f"(d[1][0]), "+f"(d[1][1]), "+f"(d[1][2]), "+f"(d[1][3]),       \
                       "+f"(d[2][0]), "+f"(d[2][1]), "+f"(d[2][2]), "+f"(d[2][3]), "+f"(d[3][0]), "+f"(d[3][1]), "+f"(d[3][2]), "+f"(d[3][3]),       \
                       "+f"(d[4][0]), "+f"(d[4][1]), "+f"(d[4][2]), "+f"(d[4][3]), "+f"(d[5][0]), "+f"(d[5][1]), "+f"(d[5][2]), "+f"(d[5][3]),       \
                       "+f"(d[6][0]), "+f"(d[6][1]), "+f"(d[6][2]), "+f"(d[6][3]), "+f"(d[7][0]), "+f"(d[7][1]), "+f"(d[7][2]), "+f"(d[7][3])        \
                     : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(static_cast<int>(accumulate)), "l"(b)                                       \
                     : "memory");                                                                                                                    \
    }

MIXKV_WGMMA_M64N64K16(mixkv_wgmma_f16, "f16")
MIXKV_WGMMA_M64N64K16(mixkv_wgmma_bf16, "bf16")
#undef MIXKV_WGMMA_M64N64K16

template <typename T>
__device__ __forceinline__ void mixkv_wgmma_m64n64k16(float d[8][4], const unsigned a[4], mixkv_wgmma_desc b, bool accumulate);

template <>
__device__ __forceinline__ void mixkv_wgmma_m64n64k16<mixkv_f16>(float d[8][4], const unsigned a[4], mixkv_wgmma_desc b, bool accumulate)
{
    mixkv_wgmma_f16(d, a, b, accumulate);
}

template <>
__device__ __forceinline__ void mixkv_wgmma_m64n64k16<mixkv_bf16>(float d[8][4], const unsigned a[4], mixkv_wgmma_desc b, bool accumulate)
{
    mixkv_wgmma_bf16(d, a, b, accumulate);
}

#endif  // MIXKV_EMULATED

// Closes the group of the products issued since the last commit.
__device__ __forceinline__ void mixkv_wgmma_commit()
{
#if MIXKV_EMULATED
    mixkv_wgmma_queue& queue = mixkv_wgmma_thread_queue();
    for (int i = 0; i < queue.count; ++i) {
        if (queue.products[i].group < 0) {
            queue.products[i].group = queue.groups;
        }
    }
    ++queue.groups;
#else
    asm volatile("wgmma.commit_group.sync.aligned;" ::: "memory");
#endif
}

// Waits until at most `Pending` committed groups of products are in flight; the accumulators of the
// finished ones are then safe to read (held, as above). Every thread of the warpgroup calls it.
template <int Pending>
__device__ __forceinline__ void mixkv_wgmma_wait(float d[8][4])
{
#if MIXKV_EMULATED
    // The products of the groups that must be done, in issue order (the lanes of a warp hold the same
    // sequence, so each computes with its warp); the rest stay queued.
    mixkv_wgmma_queue& queue = mixkv_wgmma_thread_queue();
    int done = 0;
    while (done < queue.count && queue.products[done].group >= 0 && queue.products[done].group < queue.groups - Pending) {
        queue.products[done].run(queue.products[done]);
        ++done;
    }
    for (int i = done; i < queue.count; ++i) {
        queue.products[i - done] = queue.products[i];
    }
    queue.count -= done;
    if (queue.count == 0) {
        queue.groups = 0;  // a product's group is only ever compared with later commits of its block
    }
#else
    asm volatile("wgmma.wait_group.sync.aligned %0;" ::"n"(Pending) : "memory");
#endif
    mixkv_wgmma_hold(d);
}

#endif  // MIXKV_WGMMA

#endif  // MIXKV_COMMON_WGMMA_CUH
