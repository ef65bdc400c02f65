// NaN/Inf check of K, V and the window queries on the device (spec section 8), for engines that
// hand in raw device buffers. The host cannot wait for the answer without breaking the no-sync
// pipeline, so the answer is a status word: check_finite ORs its tensor's bit into *status, and the
// kernels that write the caller's outputs (head_lengths, select_topk, gather_rows) return at once
// when the word is non-zero — a rejected layer writes nothing, as on the host path.
//   check_finite  grid (ceil(tokens/8), heads), 256 threads: a warp per row, lanes over D.
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
    int reserved;
};

template <typename T>
__global__ void check_finite(const CheckFiniteParams p)
{
    const int warps = blockDim.x / MIXKV_WARP;
    const int token = blockIdx.x * warps + threadIdx.x / MIXKV_WARP;
    if (token >= p.tokens) {
        return;  // whole warps leave together
    }
    const T* row = static_cast<const T*>(p.data) + blockIdx.y * p.head_stride + token * p.token_stride;
    bool finite = true;
    for (int i = threadIdx.x % MIXKV_WARP; i < p.head_dim; i += MIXKV_WARP) {
        finite = finite && mixkv_is_finite(row[i]);
    }
    if (!__all_sync(MIXKV_FULL_MASK, finite) && threadIdx.x % MIXKV_WARP == 0) {
        atomicOr(p.status, p.bit);
    }
}

MIXKV_KERNEL_INSTANCE("check_finite<float>", check_finite<float>, CheckFiniteParams)
MIXKV_KERNEL_INSTANCE("check_finite<mixkv_f16>", check_finite<mixkv_f16>, CheckFiniteParams)
MIXKV_KERNEL_INSTANCE("check_finite<mixkv_bf16>", check_finite<mixkv_bf16>, CheckFiniteParams)
