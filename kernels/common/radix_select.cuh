// Block-wide radix select: the k-th largest 32-bit key of a sequence, in four 8-bit digit passes
// (CUB's BlockRadixRank idea, reduced to selection). No sort: each pass builds a 256-bin histogram
// of the keys that still match the prefix found so far and walks it from the top.
//
// The result is the exact threshold key t and how many keys equal to t belong to the top k
// (`ties_taken`): callers keep every key > t plus the first `ties_taken` keys == t in their own
// tie order (lowest position first, spec section 6). Histogram counts use integer atomics, whose
// order does not change the counts, so the result is schedule-independent.
#ifndef MIXKV_COMMON_RADIX_SELECT_CUH
#define MIXKV_COMMON_RADIX_SELECT_CUH

#include "portability.cuh"

#define MIXKV_RADIX_BINS 256

// Maps a float to an unsigned key with the same order (larger float -> larger key). -0 and +0
// map to neighbouring keys, which only orders two equal scores; validated inputs carry no NaN.
__device__ __forceinline__ unsigned mixkv_order_key(float value)
{
    const unsigned bits = __float_as_uint(value);
    return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

__device__ __forceinline__ float mixkv_key_to_float(unsigned key)
{
    return __uint_as_float((key & 0x80000000u) ? (key & 0x7FFFFFFFu) : ~key);
}

struct mixkv_radix_result {
    unsigned threshold;  // key of the k-th largest element
    int ties_taken;      // how many elements equal to `threshold` are inside the top k (>= 1)
};

// Shared storage of one selection; declare it __shared__ in the kernel.
struct mixkv_radix_storage {
    unsigned histogram[MIXKV_RADIX_BINS];
    unsigned prefix;
    int remaining;
};

// Selects within `count` keys produced by `key_at(i)`, 1 <= k <= count. Every thread of the block
// must call it; every thread gets the result.
template <typename KeyAt>
__device__ mixkv_radix_result mixkv_block_radix_select(int count, int k, KeyAt key_at, mixkv_radix_storage* storage)
{
    if (threadIdx.x == 0) {
        storage->prefix = 0;
        storage->remaining = k;
    }
    unsigned mask = 0;
    for (int shift = 24; shift >= 0; shift -= 8) {
        for (int bin = threadIdx.x; bin < MIXKV_RADIX_BINS; bin += blockDim.x) {
            storage->histogram[bin] = 0;
        }
        __syncthreads();
        const unsigned prefix = storage->prefix;
        for (int i = threadIdx.x; i < count; i += blockDim.x) {
            const unsigned key = key_at(i);
            if ((key & mask) == prefix) {
                atomicAdd(&storage->histogram[(key >> shift) & 0xFFu], 1u);
            }
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            // Walk from the largest digit down until the k-th largest falls inside a bin.
            int remaining = storage->remaining;
            int bin = MIXKV_RADIX_BINS - 1;
            for (; bin > 0; --bin) {
                const int in_bin = static_cast<int>(storage->histogram[bin]);
                if (in_bin >= remaining) {
                    break;
                }
                remaining -= in_bin;
            }
            storage->prefix = prefix | (static_cast<unsigned>(bin) << shift);
            storage->remaining = remaining;
        }
        mask |= 0xFFu << shift;
        __syncthreads();
    }
    mixkv_radix_result result;
    result.threshold = storage->prefix;
    result.ties_taken = storage->remaining;
    __syncthreads();
    return result;
}

#endif  // MIXKV_COMMON_RADIX_SELECT_CUH
