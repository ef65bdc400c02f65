// NaN/Inf check of K, V and the window queries on the device (spec section 8), for engines that
// hand in raw device buffers. The host cannot wait for the answer without breaking the no-sync
// pipeline, so the answer is a status word: check_finite ORs its tensor's bit into *status, and the
// kernels that write the caller's outputs (head_lengths, select_topk, gather_rows) return at once
// when the word is non-zero — a rejected layer writes nothing, as on the host path.
//   check_finite  grid (ceil(tokens/rows_per_block), heads), 256 threads: the block's rows as one
//                 run of 16-byte loads (a warp per row with 2-byte loads reached 900 GB/s on an H100).
#include "common/portability.cuh"
#include "common/dtype.cuh"
#include "common/reduce.cuh"

struct CheckFiniteParams {
    const void* data;          // [heads, tokens, D], strides below (elements)
    int* status;               // OR-ed with `bit` when a non-finite element is found
    long long head_stride;
    long long token_stride;
    int tokens;
    int head_dim;
    int bit;
    int rows_per_block;
};

// Every element of one 32-bit word of T values finite.
template <typename T>
__device__ __forceinline__ bool mixkv_word_finite(unsigned word, T)
{
    return mixkv_nonfinite_bits<T>(word) == 0u;
}

template <typename T>
__global__ void check_finite(const CheckFiniteParams p)
{
    MIXKV_GRID_DEPENDENCY();
    const int first = blockIdx.x * p.rows_per_block;
    const int rows = p.tokens - first < p.rows_per_block ? p.tokens - first : p.rows_per_block;
    const T* head = static_cast<const T*>(p.data) + blockIdx.y * p.head_stride;
    bool finite = true;
    // The block's rows as one flat run of 16-byte words when the rows allow it (the same test for
    // every thread, so no divergence): adjacent threads read adjacent words, 16 bytes each.
    if (reinterpret_cast<unsigned long long>(head) % 16 == 0 && (p.token_stride * sizeof(T)) % 16 == 0 && (p.head_dim * sizeof(T)) % 16 == 0) {
        const int words = static_cast<int>(p.head_dim * sizeof(T) / 16);
        for (int i = threadIdx.x; i < rows * words; i += blockDim.x) {
            const uint4 v = reinterpret_cast<const uint4*>(head + (first + i / words) * p.token_stride)[i % words];
            finite = finite && mixkv_word_finite(v.x, T()) && mixkv_word_finite(v.y, T()) && mixkv_word_finite(v.z, T()) && mixkv_word_finite(v.w, T());
        }
    } else {
        for (int i = threadIdx.x; i < rows * p.head_dim; i += blockDim.x) {
            finite = finite && mixkv_is_finite(head[(first + i / p.head_dim) * p.token_stride + i % p.head_dim]);
        }
    }
    if (!__all_sync(MIXKV_FULL_MASK, finite) && threadIdx.x % MIXKV_WARP == 0) {
        atomicOr(p.status, p.bit);
    }
}

MIXKV_KERNEL_INSTANCE("check_finite<float>", check_finite<float>, CheckFiniteParams)
MIXKV_KERNEL_INSTANCE("check_finite<mixkv_f16>", check_finite<mixkv_f16>, CheckFiniteParams)
MIXKV_KERNEL_INSTANCE("check_finite<mixkv_bf16>", check_finite<mixkv_bf16>, CheckFiniteParams)
