// Per-head top-k with a different k per head (spec section 6), over a grid of blocks: each head's
// P scores are cut into spans of 2048, a block per span (one block per head took 54 us on an H100
// at 8 heads of 32K, its radix passes and compaction latency-bound on 8 SMs).
//   select_radix_pass   grid (ceil(P / span), Hkv), 256 threads: digit `pass` of the cap_h-th largest
//                       score, as adakv_radix_pass does it (block histograms added to the grid's with
//                       integer atomics; the next launch replays the bin walks over their sums).
//   select_span_counts  same grid: each span's scores above the threshold and equal to it.
//   select_topk         same grid: a span's first output slot and its share of the ties come from
//                       the spans before it (lowest positions first); then each warp owns a piece of
//                       the span, reads it 32 positions at a time, and ballots rank the kept
//                       positions inside it -- so rows come out ascending with no sort. The first
//                       span's block also writes the window positions P..N-1 after them. Writes
//                       positions[cu_lens[h] .. cu_lens[h+1]).
// Heads that keep every prefix row (cap >= P) or none (cap <= 0) skip the passes.
// kernels/select_candidates.cu is the two-launch alternative for caps whose span candidates fit one
// block; Select.FormFor picks between the two by the H100's measurements.
#include "common/portability.cuh"
#include "common/reduce.cuh"
#include "common/radix_select.cuh"
#include "common/ordered_keep.cuh"

#define MIXKV_SELECT_PASSES MIXKV_RADIX_PASSES

struct SelectParams {
    const float* scores;       // S [Hkv, P] (may be null when P == 0)
    const int* caps;           // [Hkv] device caps, or null: every head keeps uniform_cap
    const int* cu_lens;        // [Hkv + 1]
    int* positions;            // [T]
    const int* status;         // validate.cu's word, or null: non-zero means write nothing
    unsigned* histograms;      // [Hkv, 4, 256]: zeroed before pass 0
    int* span_counts;          // [Hkv, spans, 2]: above the threshold, equal to it
    int prefix;                // P
    int window;                // rows always kept after the selected prefix rows
    int uniform_cap;
    int span;                  // positions per block: blockDim.x * MIXKV_RADIX_BATCH
    int pass;                  // select_radix_pass: 0..3
    int reserved;
};

__device__ __forceinline__ int mixkv_select_cap(const SelectParams& p, int head) { return p.caps ? p.caps[head] : p.uniform_cap; }

// Whether head `head` needs the radix passes: it keeps some but not all of its prefix rows.
__device__ __forceinline__ bool mixkv_select_cuts(const SelectParams& p, int head)
{
    const int cap = mixkv_select_cap(p, head);
    return cap > 0 && cap < p.prefix;
}

__device__ __forceinline__ bool mixkv_select_rejected(const SelectParams& p) { return p.status && *p.status; }

__device__ __forceinline__ unsigned* mixkv_select_histograms(const SelectParams& p, int head)
{
    return p.histograms + static_cast<long long>(head) * MIXKV_SELECT_PASSES * MIXKV_RADIX_BINS;
}

__device__ __forceinline__ int mixkv_select_begin(const SelectParams& p) { return mixkv_span_begin(p.span); }
__device__ __forceinline__ int mixkv_select_end(const SelectParams& p) { return mixkv_span_end(p.span, p.prefix); }

__global__ void __launch_bounds__(32 * MIXKV_RADIX_MAX_WARPS, 4) select_radix_pass(const SelectParams p)
{
    MIXKV_GRID_DEPENDENCY();
    __shared__ mixkv_radix_storage storage;
    const int head = blockIdx.y;
    if (mixkv_select_rejected(p) || !mixkv_select_cuts(p, head)) {
        return;  // the same for every block of the head
    }
    const float* row = p.scores + static_cast<long long>(head) * p.prefix;
    mixkv_radix_grid_pass(mixkv_select_histograms(p, head), p.pass, mixkv_select_cap(p, head), mixkv_select_begin(p), mixkv_select_end(p),
                          [row](int n) { return mixkv_order_key(row[n]); }, &storage);
}

// Every thread of the block calls it (the replay syncs).
__device__ __forceinline__ mixkv_select_cut mixkv_select_find_cut(const SelectParams& p, int head, mixkv_radix_storage* storage)
{
    mixkv_select_cut cut = {0u, 0, mixkv_select_cap(p, head) >= p.prefix};
    if (!cut.all) {
        mixkv_radix_replay(mixkv_select_histograms(p, head), MIXKV_SELECT_PASSES, mixkv_select_cap(p, head), storage);
        cut.threshold = storage->prefix;
        cut.ties = storage->remaining;
    }
    return cut;
}

__global__ void __launch_bounds__(32 * MIXKV_RADIX_MAX_WARPS, 4) select_span_counts(const SelectParams p)
{
    MIXKV_GRID_DEPENDENCY();
    __shared__ mixkv_radix_storage storage;
    __shared__ int scratch[MIXKV_WARP];
    const int head = blockIdx.y;
    if (mixkv_select_rejected(p) || mixkv_select_cap(p, head) <= 0) {
        return;
    }
    const float* row = p.scores + static_cast<long long>(head) * p.prefix;
    auto key_of = [row](int n) { return mixkv_order_key(row[n]); };
    const int first = mixkv_select_begin(p) + static_cast<int>(threadIdx.x);
    unsigned keys[MIXKV_RADIX_BATCH];
    mixkv_load_batch(first, mixkv_select_end(p), blockDim.x, key_of, keys);  // in flight during the replay
    const mixkv_select_cut cut = mixkv_select_find_cut(p, head, &storage);
    int above = 0, tied = 0;
    mixkv_batched_after(keys, first, mixkv_select_end(p), blockDim.x, key_of,
                        [&](int, unsigned key) {
                            above += cut.all || key > cut.threshold ? 1 : 0;
                            tied += !cut.all && key == cut.threshold ? 1 : 0;
                        });
    mixkv_block_sum_pair(above, tied, p.span_counts + (static_cast<long long>(head) * gridDim.x + blockIdx.x) * 2, scratch);
}

__global__ void __launch_bounds__(32 * MIXKV_RADIX_MAX_WARPS, 4) select_topk(const SelectParams p)
{
    MIXKV_GRID_DEPENDENCY();
    __shared__ mixkv_radix_storage storage;
    __shared__ int scan_scratch[MIXKV_WARP + 1];
    __shared__ int span_slot, span_ties;
    if (mixkv_select_rejected(p)) {
        return;
    }
    const int head = blockIdx.y;
    const int cap = mixkv_select_cap(p, head);
    int* out = p.positions + p.cu_lens[head];
    if (blockIdx.x == 0) {
        for (int w = threadIdx.x; w < p.window; w += blockDim.x) {
            out[cap + w] = p.prefix + w;
        }
    }
    if (cap <= 0) {
        return;
    }
    // The warp's piece of the span is one batch (the span is blockDim.x · MIXKV_RADIX_BATCH): its
    // keys are loaded here, in flight during the replay, and both the counts and the writes below
    // take them from registers.
    const float* row = p.scores + static_cast<long long>(head) * p.prefix;
    auto key_of = [row](int n) { return mixkv_order_key(row[n]); };
    int begin, end;
    mixkv_warp_piece(mixkv_select_begin(p), mixkv_select_end(p), &begin, &end);
    unsigned keys[MIXKV_RADIX_BATCH];
    mixkv_load_piece(begin, end, key_of, keys);
    const mixkv_select_cut cut = mixkv_select_find_cut(p, head, &storage);
    // The spans before this one: their kept rows come first, and they take the ties first. Taken in
    // span order, min(tied_b, ties left) per span adds up to min(Σ tied_b, ties), so two warp sums give
    // this span's first slot and the ties it may still take (one thread walking the spans made a chain
    // of loads as long as the head's spans for the last block).
    if (threadIdx.x < MIXKV_WARP) {
        const int* counts = p.span_counts + static_cast<long long>(head) * gridDim.x * 2;
        int above = 0, tied = 0;
        for (int b = threadIdx.x; b < static_cast<int>(blockIdx.x); b += MIXKV_WARP) {
            above += counts[2 * b];
            tied += counts[2 * b + 1];
        }
        above = mixkv_warp_reduce(above, mixkv_sum_op());
        tied = mixkv_warp_reduce(tied, mixkv_sum_op());
        if (threadIdx.x == 0) {
            const int taken = min(tied, cut.ties);
            span_slot = above + taken;
            span_ties = cut.ties - taken;
        }
    }
    __syncthreads();
    mixkv_keep_in_order(keys, begin, end, cut, span_slot, span_ties, scan_scratch, [out](int n, int slot) { out[slot] = n; });
}

MIXKV_KERNEL_INSTANCE("select_radix_pass", select_radix_pass, SelectParams)
MIXKV_KERNEL_INSTANCE("select_span_counts", select_span_counts, SelectParams)
MIXKV_KERNEL_INSTANCE("select_topk", select_topk, SelectParams)
