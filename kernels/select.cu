// Per-head top-k with a different k per head (spec section 6). grid Hkv, 1024 threads:
// radix-select the cap_h-th largest score (four digit passes over P floats), then one ordered
// compaction: each warp owns a span of consecutive positions and reads it 32 at a time, two block
// scans over the warps' counts give each span its ties' share and its first output slot, and ballots
// rank the kept positions inside the span -- so rows come out ascending with no sort, and among
// equal scores at the threshold the lowest positions are the ones kept. The window positions
// P..N-1 follow. Writes positions[cu_lens[h] .. cu_lens[h+1]). (A run of consecutive positions per
// thread, as before, made each warp load touch 32 cache lines.)
#include "common/portability.cuh"
#include "common/reduce.cuh"
#include "common/radix_select.cuh"

struct SelectParams {
    const float* scores;       // S [Hkv, P] (may be null when P == 0)
    const int* caps;           // [Hkv] device caps, or null: every head keeps uniform_cap
    const int* cu_lens;        // [Hkv + 1]
    int* positions;            // [T]
    const int* status;         // validate.cu's word, or null: non-zero means write nothing
    int prefix;                // P
    int window;                // rows always kept after the selected prefix rows
    int uniform_cap;
    int reserved;
};

__global__ void select_topk(const SelectParams p)
{
    __shared__ mixkv_radix_storage storage;
    __shared__ int scan_scratch[MIXKV_WARP + 1];
    if (p.status && *p.status) {
        return;
    }
    const int head = blockIdx.x;
    const int cap = p.caps ? p.caps[head] : p.uniform_cap;
    int* out = p.positions + p.cu_lens[head];
    const float* row = p.scores + static_cast<long long>(head) * p.prefix;

    if (cap > 0) {
        mixkv_radix_result cut;
        if (cap < p.prefix) {
            cut = mixkv_block_radix_select(p.prefix, cap, [row](int i) { return mixkv_order_key(row[i]); }, &storage);
        } else {
            cut.threshold = 0u;    // every prefix key is >= the smallest key: keep all
            cut.ties_taken = p.prefix + 1;
        }
        const bool all = cap >= p.prefix;
        auto key_of = [row](int n) { return mixkv_order_key(row[n]); };
        const int lane = threadIdx.x % MIXKV_WARP, warps = blockDim.x / MIXKV_WARP;
        const int span = MIXKV_WARP * ((p.prefix + MIXKV_WARP * warps - 1) / (MIXKV_WARP * warps));
        const int begin = min(static_cast<int>(threadIdx.x / MIXKV_WARP) * span, p.prefix);
        const int end = min(begin + span, p.prefix);
        int above = 0, tied = 0;
        mixkv_batched(begin + lane, end, MIXKV_WARP, key_of, [&](int, unsigned key) {
            above += all || key > cut.threshold ? 1 : 0;
            tied += !all && key == cut.threshold ? 1 : 0;
        });
        above = mixkv_warp_reduce(above, mixkv_sum_op());
        tied = mixkv_warp_reduce(tied, mixkv_sum_op());
        // The scans see one value per warp (lane 0's); lane 0's prefix is the warps' before it.
        int total = 0;
        const int ties_before = __shfl_sync(MIXKV_FULL_MASK, mixkv_block_exclusive_scan(lane == 0 ? tied : 0, &total, scan_scratch), 0);
        int ties_left = min(max(cut.ties_taken - ties_before, 0), tied);
        int slot = __shfl_sync(MIXKV_FULL_MASK, mixkv_block_exclusive_scan(lane == 0 ? above + ties_left : 0, &total, scan_scratch), 0);
        const unsigned lanes_below = (1u << lane) - 1u;
        for (int base = begin; base < end; base += MIXKV_RADIX_BATCH * MIXKV_WARP) {  // the same trips for the whole warp
            unsigned keys[MIXKV_RADIX_BATCH];
MIXKV_UNROLL
            for (int j = 0; j < MIXKV_RADIX_BATCH; ++j) {
                const int n = base + j * MIXKV_WARP + lane;
                keys[j] = n < end ? key_of(n) : 0u;
            }
MIXKV_UNROLL
            for (int j = 0; j < MIXKV_RADIX_BATCH; ++j) {
                const int n = base + j * MIXKV_WARP + lane;
                const bool tie = n < end && !all && keys[j] == cut.threshold;
                const unsigned ties = __ballot_sync(MIXKV_FULL_MASK, tie);
                const bool keep = n < end && (all || keys[j] > cut.threshold || (tie && __popc(ties & lanes_below) < ties_left));
                const unsigned kept = __ballot_sync(MIXKV_FULL_MASK, keep);
                if (keep) {
                    out[slot + __popc(kept & lanes_below)] = n;
                }
                slot += __popc(kept);
                ties_left -= __popc(ties);
            }
        }
    }
    for (int w = threadIdx.x; w < p.window; w += blockDim.x) {
        out[cap + w] = p.prefix + w;
    }
}

MIXKV_KERNEL_INSTANCE("select_topk", select_topk, SelectParams)
