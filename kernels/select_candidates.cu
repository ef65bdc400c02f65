// Per-head top-k (spec section 6) in two launches, for caps small enough that every span's own top
// cap fits one block: kernels/select.cu's grid form takes eight graph nodes (head_lengths, a histogram
// fill, four radix passes, span counts, the writes), each a dependent launch over a few KB of scores.
//   select_span_candidates  grid (ceil(P / span), Hkv), 256 threads, span 4096: a block finds the
//                           top min(cap, span length) of its span with four digit passes in shared
//                           memory (no launch between them) and writes their positions, ascending, to
//                           the head's row of candidates, the spans' lists end to end
//                           (common/span_candidates.cuh); given span_sums, also its scores' sum there.
//   select_merge            grid (1, Hkv), 256 threads: the head's candidates, span after span, are
//                           its positions in ascending order; the block takes the top cap of them the
//                           same way and writes positions[cu_lens[h] ..], then the window P..N-1 (and,
//                           given head_lens, the lengths that budget.cu's head_lengths would write).
// Exact, ties included: a key among the head's top cap (ties to the lower position) has fewer than
// cap keys ahead of it in the whole head, so fewer in its own span, so it is among its span's top
// min(cap, span length) with the same tie order; and the merge ranks the candidates as the head does.
// The launcher (Select.cs) can take this form when every head's candidates fit the merge's registers,
// (spans - 1) * min(cap, span) + min(cap, last span's length) <= 256 * 32: for a uniform cap by that
// count, for device caps (AdaKV, never above P) when P itself fits; by default it does where an H100
// measured it faster (Select.FormFor: a uniform cap's up to 4096 candidates, AdaKV up to P = 8192).
#include "common/portability.cuh"
#include "common/reduce.cuh"
#include "common/radix_select.cuh"
#include "common/ordered_keep.cuh"
#include "common/span_candidates.cuh"

// Keys each thread of select_span_candidates holds: a span is 256 * 16 positions.
#define MIXKV_SPAN_KEYS 16
// Candidates each thread of select_merge holds: a head's candidates are at most 256 * 32.
#define MIXKV_MERGE_KEYS 32

struct CandidateSelectParams {
    const float* scores;       // S [Hkv, P] (may be null when P == 0)
    const int* caps;           // [Hkv] device caps (P <= 256 * 32 then), or null: every head keeps uniform_cap
    int* cu_lens;              // [Hkv + 1]: read, or with head_lens written
    int* head_lens;            // [Hkv] or null; non-null (uniform cap only): select_merge writes the lengths
                               // cap + W and cu_lens, in place of a head_lengths launch before it
    int* positions;            // [T]
    const int* status;         // validate.cu's word, or null: non-zero means write nothing
    int* candidates;           // [Hkv, P]: span s's candidates at s * min(cap, span) ..
    float* span_sums;          // [Hkv, spans] or null: each span's sum of its scores (adakv_share_merge's total)
    int prefix;                // P
    int window;                // rows always kept after the selected prefix rows
    int uniform_cap;
    int span;                  // positions per select_span_candidates block: blockDim.x * MIXKV_SPAN_KEYS
};

__device__ __forceinline__ int mixkv_candidate_cap(const CandidateSelectParams& p, int head) { return p.caps ? p.caps[head] : p.uniform_cap; }

__device__ __forceinline__ bool mixkv_candidate_rejected(const CandidateSelectParams& p) { return p.status && *p.status; }

__global__ void __launch_bounds__(32 * MIXKV_RADIX_MAX_WARPS, 4) select_span_candidates(const CandidateSelectParams p)
{
    MIXKV_GRID_DEPENDENCY();
    __shared__ mixkv_radix_storage storage;
    __shared__ int scan_scratch[MIXKV_WARP + 1];
    __shared__ float sum_scratch[MIXKV_WARP];
    const int head = blockIdx.y;
    const int cap = mixkv_candidate_cap(p, head);
    if (mixkv_candidate_rejected(p) || (!p.span_sums && (cap <= 0 || cap >= p.prefix))) {
        return;  // select_merge writes these heads without candidates
    }
    const int span_begin = static_cast<int>(blockIdx.x) * p.span;
    const int span_end = min(span_begin + p.span, p.prefix);
    const float* row = p.scores + static_cast<long long>(head) * p.prefix;
    int begin, end;
    mixkv_warp_piece(span_begin, span_end, &begin, &end);
    unsigned keys[MIXKV_SPAN_KEYS];
    mixkv_load_piece(begin, end, [row](int n) { return mixkv_order_key(row[n]); }, keys);
    const unsigned held = mixkv_piece_mask<MIXKV_SPAN_KEYS>(begin, end);
    if (p.span_sums) {
        // The scores back from their keys (finite ones exactly; -0 as +0, which adds the same), each
        // lane's in position order, then the block's tree: a fixed order.
        float sum = 0.0f;
MIXKV_UNROLL
        for (int j = 0; j < MIXKV_SPAN_KEYS; ++j) {
            if ((held >> j) & 1u) {
                sum += mixkv_key_to_float(keys[j]);
            }
        }
        sum = mixkv_block_reduce(sum, mixkv_sum_op(), 0.0f, sum_scratch);
        if (threadIdx.x == 0) {
            p.span_sums[static_cast<long long>(head) * gridDim.x + blockIdx.x] = sum;
        }
        if (cap <= 0 || cap >= p.prefix) {
            return;
        }
    }
    const int length = span_end - span_begin;
    const int take = min(cap, length);
    const mixkv_select_cut cut = mixkv_block_cut(keys, held, take, length, &storage);
    int* out = p.candidates + static_cast<long long>(head) * p.prefix + mixkv_span_candidates_offset(blockIdx.x, p.span, cap);
    mixkv_keep_in_order(keys, begin, end, cut, 0, cut.ties, scan_scratch, [out](int n, int slot) { out[slot] = n; });
}

// One block per head: no occupancy to keep, so its 32 keys a thread may take the registers they need
// (at four blocks an SM, ptxas spilled them).
__global__ void __launch_bounds__(32 * MIXKV_RADIX_MAX_WARPS) select_merge(const CandidateSelectParams p)
{
    MIXKV_GRID_DEPENDENCY();
    __shared__ mixkv_radix_storage storage;
    __shared__ int scan_scratch[MIXKV_WARP + 1];
    if (mixkv_candidate_rejected(p)) {
        return;
    }
    const int head = blockIdx.y;
    const int cap = mixkv_candidate_cap(p, head);
    if (p.head_lens && threadIdx.x == 0) {
        p.head_lens[head] = cap + p.window;
        p.cu_lens[head + 1] = (head + 1) * (cap + p.window);
        if (head == 0) {
            p.cu_lens[0] = 0;
        }
    }
    int* out = p.positions + (p.head_lens ? head * (cap + p.window) : p.cu_lens[head]);
    for (int w = threadIdx.x; w < p.window; w += blockDim.x) {
        out[cap + w] = p.prefix + w;
    }
    if (cap <= 0) {
        return;
    }
    if (cap >= p.prefix) {
        for (int n = threadIdx.x; n < p.prefix; n += blockDim.x) {
            out[n] = n;
        }
        return;
    }
    const mixkv_span_candidates candidates = mixkv_head_candidates(p.candidates + static_cast<long long>(head) * p.prefix, p.prefix, p.span, cap);
    const float* row = p.scores + static_cast<long long>(head) * p.prefix;
    int begin, end;
    mixkv_warp_piece(0, candidates.count, &begin, &end);
    unsigned keys[MIXKV_MERGE_KEYS];
    mixkv_load_piece(begin, end, [row, candidates](int c) { return mixkv_order_key(row[candidates.position(c)]); }, keys);
    const mixkv_select_cut cut = mixkv_block_cut(keys, mixkv_piece_mask<MIXKV_MERGE_KEYS>(begin, end), cap, candidates.count, &storage);
    mixkv_keep_in_order(keys, begin, end, cut, 0, cut.ties, scan_scratch, [out, candidates](int c, int slot) { out[slot] = candidates.position(c); });
}

MIXKV_KERNEL_INSTANCE("select_span_candidates", select_span_candidates, CandidateSelectParams)
MIXKV_KERNEL_INSTANCE("select_merge", select_merge, CandidateSelectParams)
