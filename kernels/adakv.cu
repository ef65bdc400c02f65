// AdaKV's capacities on the device (spec section 5), its two selections spread over a grid of blocks:
// each head's share (the sum of its top `base` scores over the sum of all, when normalising) and the
// allocation (the Hkv·base largest scaled scores over every head, counted per head). One block per
// selection, as before, took 68 and 334 us on an H100 at 8 heads of 32K: four latency-bound radix
// passes on one or eight SMs. Here each radix pass is one launch over the whole score array: blocks
// count their span of keys into a block histogram and add it to the grid's with integer atomics, and
// every block of the next launch replays the bin walks over those sums (mixkv_radix_replay). The
// same walks over the same counts give the threshold one block would find, in any schedule.
//   adakv_radix_pass    grid (ceil(P / span), Hkv), 256 threads: digit `pass` (0 = the top byte).
//                       per_head: a selection per head (k = base, keys A[h]); else one over all heads
//                       (k = Hkv·base, keys A[h]·factor[h]).
//   adakv_share_sums    grid (ceil(P / span), Hkv), 256 threads: each block's sum of its head's scores
//                       above the threshold and of all of them, into share_sums [Hkv, blocks, 2].
//   adakv_share_factor  grid Hkv, 32 threads: those sums in block order; factor = top / all (1 when
//                       not normalising, or when the head has no mass).
//   adakv_head_counts   grid (ceil(P / span), Hkv), 256 threads: per head, its scaled scores above the
//                       allocation's threshold and equal to it (integer atomics into head_counts).
//   adakv_caps          grid 1, 32 threads: ties go to the lower heads first, then
//                       cap_h = round_half_even(count·(1 - alpha) + floor(base·alpha)) clamped to [0, P].
// Where Select.SharesFormFor takes the candidate form (by default with the AdaKV selection's, P <= 8192),
// the shares take two launches instead of six: kernels/select_candidates.cu's select_span_candidates over A with cap =
// base, then
//   adakv_share_merge   grid Hkv, 256 threads: the head's top base from those candidates (as
//                       select_merge takes them), the sum of the kept ones (the ties as the cut value
//                       times their number) and of all the head's scores (the spans' sums that
//                       select_span_candidates wrote), each in a fixed order; factor = top / all (1
//                       when the head has no mass).
#include "common/portability.cuh"
#include "common/reduce.cuh"
#include "common/radix_select.cuh"
#include "common/span_candidates.cuh"

#define MIXKV_ADAKV_PASSES MIXKV_RADIX_PASSES  // 8-bit digits of a 32-bit key

struct AdakvParams {
    const float* attention;    // A [Hkv, P]
    float* factor;             // [Hkv]: the allocation's scale, written by adakv_share_factor
    unsigned* histograms;      // [Hkv + 1, 4, 256]: the heads' shares, then the allocation; zeroed first
    float* share_sums;         // [Hkv, blocks, 2]: above the head's threshold, all; adakv_share_merge reads
                               // select_span_candidates' span sums [Hkv, spans] here
    int* head_counts;          // [Hkv, 2]: above the allocation's threshold, equal to it; zeroed first
    int* caps;                 // [Hkv]
    const int* candidates;     // adakv_share_merge: select_span_candidates' [Hkv, P] at cap = base
    int heads;
    int prefix;                // P >= 1
    int base;                  // budget - W, 1 <= base <= P
    int span;                  // keys of one head per block: blockDim.x * MIXKV_RADIX_BATCH
    int pass;                  // adakv_radix_pass: 0..3
    int per_head;              // adakv_radix_pass: 1 for the shares, 0 for the allocation
    int normalize;
    int floor_keep;            // floor(base * alpha), computed on the host in double like the spec
    int candidate_span;        // adakv_share_merge: select_span_candidates' span
    int reserved;
    double keep_share;         // 1 - alpha
};

// A selection's four histograms: head h's share, or the allocation's (after the Hkv shares).
__device__ __forceinline__ unsigned* mixkv_adakv_histograms(const AdakvParams& p, bool per_head, int head)
{
    return p.histograms + (per_head ? head : p.heads) * MIXKV_ADAKV_PASSES * MIXKV_RADIX_BINS;
}

// How many keys the selection takes: base of one head, or base of each of all heads.
__device__ __forceinline__ int mixkv_adakv_k(const AdakvParams& p, bool per_head)
{
    return per_head ? p.base : p.heads * p.base;
}

// The keys the selection ranks: the head's scores as they are (shares) or scaled (allocation). A
// factor of exactly 1 leaves every score's key as it was.
__device__ __forceinline__ unsigned mixkv_adakv_key(const AdakvParams& p, bool per_head, int head, int n)
{
    const float a = p.attention[static_cast<long long>(head) * p.prefix + n];
    return mixkv_order_key(per_head ? a : a * p.factor[head]);
}

// This block's keys of head blockIdx.y: [begin, end).
__device__ __forceinline__ int mixkv_adakv_begin(const AdakvParams& p) { return mixkv_span_begin(p.span); }
__device__ __forceinline__ int mixkv_adakv_end(const AdakvParams& p) { return mixkv_span_end(p.span, p.prefix); }

__global__ void __launch_bounds__(32 * MIXKV_RADIX_MAX_WARPS, 4) adakv_radix_pass(const AdakvParams p)
{
    MIXKV_GRID_DEPENDENCY();
    __shared__ mixkv_radix_storage storage;
    const int head = blockIdx.y;
    const bool per_head = p.per_head != 0;
    mixkv_radix_grid_pass(mixkv_adakv_histograms(p, per_head, head), p.pass, mixkv_adakv_k(p, per_head), mixkv_adakv_begin(p), mixkv_adakv_end(p),
                          [&](int n) { return mixkv_adakv_key(p, per_head, head, n); }, &storage);
}

__global__ void __launch_bounds__(32 * MIXKV_RADIX_MAX_WARPS, 4) adakv_share_sums(const AdakvParams p)
{
    MIXKV_GRID_DEPENDENCY();
    __shared__ mixkv_radix_storage storage;
    __shared__ float scratch[MIXKV_WARP];
    const int head = blockIdx.y;
    const float* row = p.attention + static_cast<long long>(head) * p.prefix;
    auto value_of = [row](int n) { return row[n]; };
    const int first = mixkv_adakv_begin(p) + static_cast<int>(threadIdx.x);
    float values[MIXKV_RADIX_BATCH];
    mixkv_load_batch(first, mixkv_adakv_end(p), blockDim.x, value_of, values);  // in flight during the replay
    mixkv_radix_replay(mixkv_adakv_histograms(p, true, head), MIXKV_ADAKV_PASSES, p.base, &storage);
    const unsigned threshold = storage.prefix;
    // Each thread adds its values in position order, then the block's tree: a fixed order.
    float above = 0.0f, all = 0.0f;
    mixkv_batched_after(values, first, mixkv_adakv_end(p), blockDim.x, value_of,
                        [&](int, float a) {
                            all += a;
                            if (mixkv_order_key(a) > threshold) {
                                above += a;
                            }
                        });
    mixkv_block_sum_pair(above, all, p.share_sums + (static_cast<long long>(head) * gridDim.x + blockIdx.x) * 2, scratch);
}

__global__ void adakv_share_factor(const AdakvParams p)
{
    MIXKV_GRID_DEPENDENCY();
    __shared__ mixkv_radix_storage storage;
    const int head = blockIdx.x;
    if (!p.normalize) {
        if (threadIdx.x == 0) {
            p.factor[head] = 1.0f;
        }
        return;
    }
    mixkv_radix_replay(mixkv_adakv_histograms(p, true, head), MIXKV_ADAKV_PASSES, p.base, &storage);
    if (threadIdx.x == 0) {
        const int blocks = (p.prefix + p.span - 1) / p.span;
        const float* sums = p.share_sums + static_cast<long long>(head) * blocks * 2;
        float above = 0.0f, all = 0.0f;
        for (int b = 0; b < blocks; ++b) {
            above += sums[2 * b];
            all += sums[2 * b + 1];
        }
        const float top = above + static_cast<float>(storage.remaining) * mixkv_key_to_float(storage.prefix);
        // A head without attention mass has nothing to rescale (the reference's choice).
        p.factor[head] = all > 0.0f ? top / all : 1.0f;
    }
}

// Candidates each thread of adakv_share_merge holds: 256 * 32, select_merge's.
#define MIXKV_SHARE_MERGE_KEYS 32

// One block per head, no occupancy to keep: the 32 keys a thread holds take the registers they need.
__global__ void __launch_bounds__(32 * MIXKV_RADIX_MAX_WARPS) adakv_share_merge(const AdakvParams p)
{
    MIXKV_GRID_DEPENDENCY();
    __shared__ mixkv_radix_storage storage;
    __shared__ float scratch[MIXKV_WARP];
    const int head = blockIdx.x;
    const float* row = p.attention + static_cast<long long>(head) * p.prefix;
    const int spans = (p.prefix + p.candidate_span - 1) / p.candidate_span;
    float all = 0.0f;
    for (int s = threadIdx.x; s < spans; s += blockDim.x) {
        all += p.share_sums[static_cast<long long>(head) * spans + s];
    }
    all = mixkv_block_reduce(all, mixkv_sum_op(), 0.0f, scratch);
    float top = all;  // base >= P: the top base is every score
    if (p.base < p.prefix) {
        const mixkv_span_candidates candidates = mixkv_head_candidates(p.candidates + static_cast<long long>(head) * p.prefix, p.prefix, p.candidate_span, p.base);
        int begin, end;
        mixkv_warp_piece(0, candidates.count, &begin, &end);
        unsigned keys[MIXKV_SHARE_MERGE_KEYS];
        mixkv_load_piece(begin, end, [row, candidates](int c) { return mixkv_order_key(row[candidates.position(c)]); }, keys);
        const unsigned held = mixkv_piece_mask<MIXKV_SHARE_MERGE_KEYS>(begin, end);
        const mixkv_select_cut cut = mixkv_block_cut(keys, held, p.base, candidates.count, &storage);
        // A's scores are finite, so each key maps back to its score (a -0 to +0, which adds the same).
        float above = 0.0f;
MIXKV_UNROLL
        for (int j = 0; j < MIXKV_SHARE_MERGE_KEYS; ++j) {
            if (((held >> j) & 1u) && (cut.all || keys[j] > cut.threshold)) {
                above += mixkv_key_to_float(keys[j]);
            }
        }
        above = mixkv_block_reduce(above, mixkv_sum_op(), 0.0f, scratch);
        top = cut.all ? above : above + static_cast<float>(cut.ties) * mixkv_key_to_float(cut.threshold);
    }
    if (threadIdx.x == 0) {
        // A head without attention mass has nothing to rescale (the reference's choice).
        p.factor[head] = all > 0.0f ? top / all : 1.0f;
    }
}

__global__ void __launch_bounds__(32 * MIXKV_RADIX_MAX_WARPS, 4) adakv_head_counts(const AdakvParams p)
{
    MIXKV_GRID_DEPENDENCY();
    __shared__ mixkv_radix_storage storage;
    __shared__ int scratch[MIXKV_WARP];
    const int head = blockIdx.y;
    auto key_of = [&](int n) { return mixkv_adakv_key(p, false, head, n); };
    const int first = mixkv_adakv_begin(p) + static_cast<int>(threadIdx.x);
    unsigned keys[MIXKV_RADIX_BATCH];
    mixkv_load_batch(first, mixkv_adakv_end(p), blockDim.x, key_of, keys);  // in flight during the replay
    mixkv_radix_replay(mixkv_adakv_histograms(p, false, head), MIXKV_ADAKV_PASSES, mixkv_adakv_k(p, false), &storage);
    const unsigned threshold = storage.prefix;
    int above = 0, tied = 0;
    mixkv_batched_after(keys, first, mixkv_adakv_end(p), blockDim.x, key_of,
                        [&](int, unsigned key) {
                            above += key > threshold ? 1 : 0;
                            tied += key == threshold ? 1 : 0;
                        });
    above = mixkv_block_reduce(above, mixkv_sum_op(), 0, scratch);
    tied = mixkv_block_reduce(tied, mixkv_sum_op(), 0, scratch);
    if (threadIdx.x == 0) {
        atomicAdd(&p.head_counts[2 * head], above);
        atomicAdd(&p.head_counts[2 * head + 1], tied);
    }
}

__global__ void adakv_caps(const AdakvParams p)
{
    MIXKV_GRID_DEPENDENCY();
    __shared__ mixkv_radix_storage storage;
    mixkv_radix_replay(mixkv_adakv_histograms(p, false, 0), MIXKV_ADAKV_PASSES, mixkv_adakv_k(p, false), &storage);
    if (threadIdx.x == 0) {
        int ties_left = storage.remaining;
        for (int h = 0; h < p.heads; ++h) {
            const int tied = p.head_counts[2 * h + 1] < ties_left ? p.head_counts[2 * h + 1] : ties_left;  // lower head first
            ties_left -= tied;
            const double wanted = static_cast<double>(p.head_counts[2 * h] + tied) * p.keep_share + static_cast<double>(p.floor_keep);
            int cap = static_cast<int>(rint(wanted));  // round half to even (default rounding mode)
            cap = cap < 0 ? 0 : (cap > p.prefix ? p.prefix : cap);
            p.caps[h] = cap;
        }
    }
}

MIXKV_KERNEL_INSTANCE("adakv_radix_pass", adakv_radix_pass, AdakvParams)
MIXKV_KERNEL_INSTANCE("adakv_share_sums", adakv_share_sums, AdakvParams)
MIXKV_KERNEL_INSTANCE("adakv_share_factor", adakv_share_factor, AdakvParams)
MIXKV_KERNEL_INSTANCE("adakv_share_merge", adakv_share_merge, AdakvParams)
MIXKV_KERNEL_INSTANCE("adakv_head_counts", adakv_head_counts, AdakvParams)
MIXKV_KERNEL_INSTANCE("adakv_caps", adakv_caps, AdakvParams)
