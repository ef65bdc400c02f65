// Radix select over a grid: the k-th largest 32-bit key of a sequence, in four 8-bit digit passes
// (CUB's BlockRadixRank idea, reduced to selection). No sort: each pass builds a 256-bin histogram
// of the keys that still match the prefix found so far and walks it from the top. The pieces here
// are the per-block ones: blocks count their keys (mixkv_radix_count), add their histogram to the
// grid's, and the next launch's blocks replay the walks over the grid's sums (mixkv_radix_replay).
//
// The result is the exact threshold key t (the prefix after four walks) and how many keys equal to
// t belong to the top k (what remains to take): callers keep every key > t plus that many keys == t
// in their own tie order (lowest position first, spec section 6). Histogram counts use integer
// atomics, whose order does not change the counts, so the result is schedule-independent.
#ifndef MIXKV_COMMON_RADIX_SELECT_CUH
#define MIXKV_COMMON_RADIX_SELECT_CUH

#include "portability.cuh"
#include "reduce.cuh"

#define MIXKV_RADIX_BINS 256

// Maps a float to an unsigned key with the same order (larger float -> larger key), ranked as the
// reference ranks scores (Reference.Select): -0 equals +0 (both key as +0, so the lower position
// wins the tie), and every NaN keys 0, below -inf. Validated inputs carry no NaN; unvalidated ones
// (CheckFinite off) then select what the reference selects.
__device__ __forceinline__ unsigned mixkv_order_key(float value)
{
    if (value != value) {
        return 0u;
    }
    const unsigned bits = __float_as_uint(value) == 0x80000000u ? 0u : __float_as_uint(value);
    return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

__device__ __forceinline__ float mixkv_key_to_float(unsigned key)
{
    return __uint_as_float((key & 0x80000000u) ? (key & 0x7FFFFFFFu) : ~key);
}

// Warps of a counting block (kernels/adakv.cu and select.cu count with 256 threads).
#define MIXKV_RADIX_MAX_WARPS 8
// Values each thread loads at once in mixkv_batched (registers).
#define MIXKV_RADIX_BATCH 8

// The values of one batch of positions, first, first + stride, ... (V() at or past `end`),
// loaded together: the loads are independent, so a warp waits for memory once per batch.
template <typename V, int B, typename Load>
__device__ __forceinline__ void mixkv_load_batch(int first, int end, int stride, Load load, V (&values)[B])
{
MIXKV_UNROLL
    for (int j = 0; j < B; ++j) {
        const int n = first + j * stride;
        values[j] = n < end ? load(n) : V();
    }
}

// Calls use(n, load(n)) for n = first, first + stride, ... below `end`, in that order, a batch of
// MIXKV_RADIX_BATCH positions loaded before any is used (when a block per head made the passes
// latency-bound, this took the H100's select_topk from 106 to 96 us at 8 heads of 32K).
template <typename Load, typename Use>
__device__ __forceinline__ void mixkv_batched(int first, int end, int stride, Load load, Use use)
{
    typedef decltype(load(first)) value_type;
    for (int base = first; base < end; base += MIXKV_RADIX_BATCH * stride) {
        value_type values[MIXKV_RADIX_BATCH];
        mixkv_load_batch(base, end, stride, load, values);
MIXKV_UNROLL
        for (int j = 0; j < MIXKV_RADIX_BATCH; ++j) {
            if (base + j * stride < end) {
                use(base + j * stride, values[j]);
            }
        }
    }
}

// mixkv_batched whose first batch the caller loaded already (mixkv_load_batch with the same first,
// end and stride). The kernels load it before the replay of the earlier passes, which the values do
// not depend on: the spans of the selection kernels are one batch per thread (blockDim.x ·
// MIXKV_RADIX_BATCH), so their reads of the scores then overlap the replay's reads and barriers
// instead of following them.
template <typename V, typename Load, typename Use>
__device__ __forceinline__ void mixkv_batched_after(const V (&first_batch)[MIXKV_RADIX_BATCH], int first, int end, int stride, Load load, Use use)
{
MIXKV_UNROLL
    for (int j = 0; j < MIXKV_RADIX_BATCH; ++j) {
        if (first + j * stride < end) {
            use(first + j * stride, first_batch[j]);
        }
    }
    mixkv_batched(first + MIXKV_RADIX_BATCH * stride, end, stride, load, use);
}

// Shared storage of one selection; declare it __shared__ in the kernel. Each warp counts into its
// own histogram (a skewed digit, as the first one of scores in a narrow range is, would otherwise
// queue every warp's atomics on the same few words), summed per bin before the walk.
struct mixkv_radix_storage {
    unsigned histogram[MIXKV_RADIX_MAX_WARPS][MIXKV_RADIX_BINS];
    unsigned prefix;
    int remaining;
};

// Digit passes of a 32-bit key.
#define MIXKV_RADIX_PASSES 4

// Warp 0 finds the bin of the digit that holds the `remaining`-th largest key: lane l owns the
// eight bins 255 - 8l down to 248 - 8l (`counts`, in that order, already in registers), an
// exclusive scan over lanes gives the count above its bins, and the one lane whose bins hold it
// walks them.
__device__ __forceinline__ void mixkv_radix_find_bin(const unsigned (&counts)[8], int shift, mixkv_radix_storage* storage)
{
    const int lane = threadIdx.x % MIXKV_WARP;
    const int top = MIXKV_RADIX_BINS - 1 - 8 * lane;
    int own = 0;
MIXKV_UNROLL
    for (int j = 0; j < 8; ++j) {
        own += static_cast<int>(counts[j]);
    }
    int inclusive = own;
    for (int offset = 1; offset < MIXKV_WARP; offset *= 2) {
        const int other = __shfl_up_sync(MIXKV_FULL_MASK, inclusive, offset);
        if (lane >= offset) {
            inclusive += other;
        }
    }
    const int above = inclusive - own;
    const int remaining = storage->remaining;
    const unsigned prefix = storage->prefix;
    __syncwarp();
    // Exactly one lane holds it while the bins count at least `remaining` keys; if none did, bin 0
    // takes it, as a walk from the top that never breaks would.
    const bool mine = (above < remaining && remaining <= inclusive) || (lane == MIXKV_WARP - 1 && inclusive < remaining);
    if (mine) {
        int left = remaining - above;
        int bin = top;
        bool found = false;
MIXKV_UNROLL
        for (int j = 0; j < 7; ++j) {
            if (!found) {
                if (static_cast<int>(counts[j]) >= left) {
                    found = true;
                } else {
                    left -= static_cast<int>(counts[j]);
                    --bin;
                }
            }
        }
        storage->prefix = prefix | (static_cast<unsigned>(bin) << shift);
        storage->remaining = left;
    }
}

// Zeroes the calling block's per-warp histograms (the caller syncs before counting into them).
__device__ __forceinline__ void mixkv_radix_clear(mixkv_radix_storage* storage)
{
    const int warps = blockDim.x / MIXKV_WARP;
    for (int i = threadIdx.x; i < warps * MIXKV_RADIX_BINS; i += blockDim.x) {
        storage->histogram[i / MIXKV_RADIX_BINS][i % MIXKV_RADIX_BINS] = 0;
    }
}

// Counts, into the calling warp's histogram, the digit at `shift` of every key among key_at(n) for n
// in [begin, end) (the block's threads at stride blockDim.x, the first batch in `keys`) whose bits
// under `mask` equal `prefix`.
template <typename KeyAt>
__device__ __forceinline__ void mixkv_radix_count(const unsigned (&keys)[MIXKV_RADIX_BATCH], int begin, int end, KeyAt key_at, unsigned mask, unsigned prefix, int shift,
                                                  mixkv_radix_storage* storage)
{
    unsigned* mine = storage->histogram[threadIdx.x / MIXKV_WARP];
    mixkv_batched_after(keys, begin + static_cast<int>(threadIdx.x), end, blockDim.x, key_at, [&](int, unsigned key) {
        if ((key & mask) == prefix) {
            atomicAdd(&mine[(key >> shift) & 0xFFu], 1u);
        }
    });
}

// Warp 0's histogram becomes the sum of every warp's (integer sums: any order gives the same counts).
// Call after a barrier; the caller syncs before reading it.
__device__ __forceinline__ void mixkv_radix_sum_warps(mixkv_radix_storage* storage)
{
    const int warps = blockDim.x / MIXKV_WARP;
    for (int bin = threadIdx.x; bin < MIXKV_RADIX_BINS; bin += blockDim.x) {
        unsigned total = 0;
        for (int w = 0; w < warps; ++w) {
            total += storage->histogram[w][bin];
        }
        storage->histogram[0][bin] = total;
    }
}

// The digit mask of the passes before the one at `shift` (24, 16, 8, 0).
__device__ __forceinline__ unsigned mixkv_radix_mask_above(int shift)
{
    return shift == 24 ? 0u : 0xFFFFFFFFu << (shift + 8);
}

// Replays the first `passes` bin walks over histograms summed by a grid of blocks
// (histograms[pass][256]): afterwards every thread reads the prefix found so far and the keys still
// to take in storage (k-th largest, 1 <= k). Every thread of the block calls it. Warp 0 loads every
// pass's bins at once: walking each pass's bins from global memory made up to eight dependent L2
// reads a pass, and the four replayed passes of select_topk waited on them one after another.
__device__ __forceinline__ void mixkv_radix_replay(const unsigned* histograms, int passes, int k, mixkv_radix_storage* storage)
{
    if (threadIdx.x < MIXKV_WARP) {
        const int top = MIXKV_RADIX_BINS - 1 - 8 * static_cast<int>(threadIdx.x);
        unsigned counts[MIXKV_RADIX_PASSES][8];
MIXKV_UNROLL
        for (int pass = 0; pass < MIXKV_RADIX_PASSES; ++pass) {
MIXKV_UNROLL
            for (int j = 0; j < 8; ++j) {
                counts[pass][j] = pass < passes ? histograms[pass * MIXKV_RADIX_BINS + top - j] : 0u;
            }
        }
        if (threadIdx.x == 0) {
            storage->prefix = 0;
            storage->remaining = k;
        }
        __syncwarp();
MIXKV_UNROLL
        for (int pass = 0; pass < MIXKV_RADIX_PASSES; ++pass) {
            if (pass < passes) {
                mixkv_radix_find_bin(counts[pass], 24 - 8 * pass, storage);
                __syncwarp();
            }
        }
    }
    __syncthreads();
}

// The k-th largest of the keys the block's threads hold (keys[j] counts where bit j of `held` is
// set), all four digit passes in one block over its shared histograms: afterwards every thread
// reads that key in storage->prefix, and in storage->remaining how many keys equal to it are among
// the k largest. 1 <= k <= the keys held; at most MIXKV_RADIX_MAX_WARPS warps. Every thread calls it.
template <int B>
__device__ __forceinline__ void mixkv_radix_block_select(const unsigned (&keys)[B], unsigned held, int k, mixkv_radix_storage* storage)
{
    if (threadIdx.x == 0) {
        storage->prefix = 0u;
        storage->remaining = k;
    }
    unsigned* mine = storage->histogram[threadIdx.x / MIXKV_WARP];
    for (int pass = 0; pass < MIXKV_RADIX_PASSES; ++pass) {
        const int shift = 24 - 8 * pass;
        mixkv_radix_clear(storage);
        __syncthreads();  // also publishes the prefix of the pass before
        const unsigned prefix = storage->prefix;
        const unsigned mask = mixkv_radix_mask_above(shift);
MIXKV_UNROLL
        for (int j = 0; j < B; ++j) {
            if (((held >> j) & 1u) && (keys[j] & mask) == prefix) {
                atomicAdd(&mine[(keys[j] >> shift) & 0xFFu], 1u);
            }
        }
        __syncthreads();
        mixkv_radix_sum_warps(storage);
        __syncthreads();
        if (threadIdx.x < MIXKV_WARP) {
            const int top = MIXKV_RADIX_BINS - 1 - 8 * static_cast<int>(threadIdx.x);
            unsigned counts[8];
MIXKV_UNROLL
            for (int j = 0; j < 8; ++j) {
                counts[j] = storage->histogram[0][top - j];
            }
            mixkv_radix_find_bin(counts, shift, storage);
        }
        __syncthreads();
    }
}

// The keys of one head that block blockIdx.x of a grid selection covers: [begin, end) of `length`,
// `span` per block.
__device__ __forceinline__ int mixkv_span_begin(int span) { return blockIdx.x * span; }
__device__ __forceinline__ int mixkv_span_end(int span, int length) { return min(static_cast<int>(blockIdx.x + 1) * span, length); }

// One block's part of a grid's radix pass `pass`: the digit of its keys key_at(n), n in [begin, end),
// that match the prefix the earlier passes found (replayed from `histograms`), counted and added to
// histograms[pass] with integer atomics. Every thread of the block calls it.
template <typename KeyAt>
__device__ __forceinline__ void mixkv_radix_grid_pass(unsigned* histograms, int pass, int k, int begin, int end, KeyAt key_at, mixkv_radix_storage* storage)
{
    unsigned keys[MIXKV_RADIX_BATCH];
    mixkv_load_batch(begin + static_cast<int>(threadIdx.x), end, blockDim.x, key_at, keys);
    mixkv_radix_replay(histograms, pass, k, storage);
    const unsigned prefix = storage->prefix;
    const int shift = 24 - 8 * pass;
    mixkv_radix_clear(storage);
    __syncthreads();
    mixkv_radix_count(keys, begin, end, key_at, mixkv_radix_mask_above(shift), prefix, shift, storage);
    __syncthreads();
    mixkv_radix_sum_warps(storage);
    __syncthreads();
    for (int bin = threadIdx.x; bin < MIXKV_RADIX_BINS; bin += blockDim.x) {
        const unsigned count = storage->histogram[0][bin];
        if (count != 0u) {
            atomicAdd(&histograms[pass * MIXKV_RADIX_BINS + bin], count);
        }
    }
}

#endif  // MIXKV_COMMON_RADIX_SELECT_CUH
