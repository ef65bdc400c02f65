// The last step of a top-k selection (spec section 6): given the cut a radix select found, a block
// writes the kept indices in ascending order, ties to the lowest index, with no sort. Each warp owns
// a contiguous piece of the indices and holds its keys in registers, lane l the keys of indices
// piece_begin + j * 32 + l; per-warp counts and two block scans give each warp its first slot and
// its share of the ties, and ballots rank the kept keys inside the warp.
// Used by kernels/select.cu (a span per block) and kernels/select_candidates.cu.
#ifndef MIXKV_COMMON_ORDERED_KEEP_CUH
#define MIXKV_COMMON_ORDERED_KEEP_CUH

#include "portability.cuh"
#include "reduce.cuh"
#include "radix_select.cuh"

// A selection's cut: every key above `threshold` is kept, and the first `ties` keys equal to it;
// with `all`, every key.
struct mixkv_select_cut {
    unsigned threshold;
    int ties;
    bool all;
};

// The calling warp's piece of [first, last): [*begin, *end), a whole number of 32-index rows each,
// consecutive warps on consecutive pieces. A piece spans ceil((last - first) / blockDim.x) rows, so
// a block of T threads holding B keys each covers up to T * B indices.
__device__ __forceinline__ void mixkv_warp_piece(int first, int last, int* begin, int* end)
{
    const int warps = blockDim.x / MIXKV_WARP;
    const int piece = MIXKV_WARP * ((last - first + MIXKV_WARP * warps - 1) / (MIXKV_WARP * warps));
    *begin = min(first + static_cast<int>(threadIdx.x / MIXKV_WARP) * piece, last);
    *end = min(*begin + piece, last);
}

// Loads the calling lane's keys of its warp's piece: keys[j] = key_of(begin + j * 32 + lane), 0 at
// or past `end` (those never count: the callers test the index), as one batch (mixkv_load_batch).
template <int B, typename KeyOf>
__device__ __forceinline__ void mixkv_load_piece(int begin, int end, KeyOf key_of, unsigned (&keys)[B])
{
    mixkv_load_batch(begin + static_cast<int>(threadIdx.x % MIXKV_WARP), end, MIXKV_WARP, key_of, keys);
}

// Bit j set when the calling lane's keys[j] lies inside its warp's piece [begin, end).
template <int B>
__device__ __forceinline__ unsigned mixkv_piece_mask(int begin, int end)
{
    const int lane = threadIdx.x % MIXKV_WARP;
    unsigned mask = 0u;
MIXKV_UNROLL
    for (int j = 0; j < B; ++j) {
        mask |= (begin + j * MIXKV_WARP + lane < end ? 1u : 0u) << j;
    }
    return mask;
}

// Keeps, of the keys the block holds (mixkv_load_piece over each warp's [begin, end)), those the
// cut keeps, taking at most `ties` of the keys equal to its threshold (the lowest indices first),
// and calls keep(index, slot) for each kept one with slots first_slot, first_slot + 1, ... in index
// order. Every thread of the block calls it; scan_scratch is MIXKV_WARP + 1 ints of shared memory.
template <int B, typename Keep>
__device__ __forceinline__ void mixkv_keep_in_order(const unsigned (&keys)[B], int begin, int end, const mixkv_select_cut& cut, int first_slot, int ties, int* scan_scratch,
                                                    Keep keep)
{
    const int lane = threadIdx.x % MIXKV_WARP;
    int above = 0, tied = 0;
MIXKV_UNROLL
    for (int j = 0; j < B; ++j) {
        if (begin + j * MIXKV_WARP + lane < end) {
            above += cut.all || keys[j] > cut.threshold ? 1 : 0;
            tied += !cut.all && keys[j] == cut.threshold ? 1 : 0;
        }
    }
    above = mixkv_warp_reduce(above, mixkv_sum_op());
    tied = mixkv_warp_reduce(tied, mixkv_sum_op());
    // The scans see one value per warp (lane 0's); lane 0's prefix is the warps' before it.
    int total = 0;
    const int ties_before = __shfl_sync(MIXKV_FULL_MASK, mixkv_block_exclusive_scan(lane == 0 ? tied : 0, &total, scan_scratch), 0);
    int ties_left = min(max(ties - ties_before, 0), tied);
    int slot = first_slot + __shfl_sync(MIXKV_FULL_MASK, mixkv_block_exclusive_scan(lane == 0 ? above + ties_left : 0, &total, scan_scratch), 0);
    const unsigned lanes_below = (1u << lane) - 1u;
MIXKV_UNROLL
    for (int j = 0; j < B; ++j) {
        const int n = begin + j * MIXKV_WARP + lane;
        const bool tie = n < end && !cut.all && keys[j] == cut.threshold;
        const unsigned tie_lanes = __ballot_sync(MIXKV_FULL_MASK, tie);
        const bool kept = n < end && (cut.all || keys[j] > cut.threshold || (tie && __popc(tie_lanes & lanes_below) < ties_left));
        const unsigned kept_lanes = __ballot_sync(MIXKV_FULL_MASK, kept);
        if (kept) {
            keep(n, slot + __popc(kept_lanes & lanes_below));
        }
        slot += __popc(kept_lanes);
        ties_left -= __popc(tie_lanes);
    }
}

#endif  // MIXKV_COMMON_ORDERED_KEEP_CUH
