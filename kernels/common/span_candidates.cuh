// The candidates of a head's top `cap` that kernels/select_candidates.cu's select_span_candidates
// writes (each span's top min(cap, span length), positions ascending, the spans' lists end to end in
// the head's row of a [Hkv, P] buffer), and the block-wide cut over keys a block holds. Read by select_merge and by
// kernels/adakv.cu's adakv_share_merge.
#ifndef MIXKV_COMMON_SPAN_CANDIDATES_CUH
#define MIXKV_COMMON_SPAN_CANDIDATES_CUH

#include "portability.cuh"
#include "radix_select.cuh"
#include "common/ordered_keep.cuh"  // by its name under kernels/: NVRTC resolves no other form for a header no .cu names

// A head's candidates: span s's top min(cap, span) positions, ascending, at s * min(cap, span) of the
// head's row, so that the spans' lists lie end to end and candidate c is positions[c] (no division
// by the span's share in the merges' loads). Ascending c is ascending position.
struct mixkv_span_candidates {
    const int* positions;      // the head's row of the candidates buffer
    int count;

    __device__ __forceinline__ int position(int c) const { return positions[c]; }
};

// Where span `span_index` of a head writes its candidates in the head's row, at cap `cap`.
__device__ __forceinline__ int mixkv_span_candidates_offset(int span_index, int span, int cap) { return span_index * min(cap, span); }

// The candidates of one head's top `cap` of `prefix` keys (0 < cap < prefix), spans of `span`.
__device__ __forceinline__ mixkv_span_candidates mixkv_head_candidates(const int* positions, int prefix, int span, int cap)
{
    const int last_span = (prefix - 1) / span;
    return {positions, mixkv_span_candidates_offset(last_span, span, cap) + min(cap, prefix - last_span * span)};
}

// The cut of the top `take` of the `count` keys the block holds (every key when take >= count, with
// no passes). Every thread of the block calls it.
template <int B>
__device__ __forceinline__ mixkv_select_cut mixkv_block_cut(const unsigned (&keys)[B], unsigned held, int take, int count, mixkv_radix_storage* storage)
{
    mixkv_select_cut cut = {0u, 0, take >= count};
    if (!cut.all) {
        mixkv_radix_block_select(keys, held, take, storage);
        cut.threshold = storage->prefix;
        cut.ties = storage->remaining;
    }
    return cut;
}

#endif  // MIXKV_COMMON_SPAN_CANDIDATES_CUH
