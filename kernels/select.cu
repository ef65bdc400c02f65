// Per-head top-k with a different k per head (spec section 6). grid Hkv, 512 threads:
// radix-select the cap_h-th largest score (four digit passes over P floats), then one ordered
// compaction pass: positions are visited in ascending order, chunk by chunk, and block scans give
// each kept position its output slot -- so rows come out ascending with no sort, and among equal
// scores at the threshold the lowest positions are the ones kept. The window positions P..N-1
// follow. Writes positions[cu_lens[h] .. cu_lens[h+1]).
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
        int written = 0, ties_seen = 0;
        for (int chunk = 0; chunk < p.prefix; chunk += blockDim.x) {
            const int n = chunk + threadIdx.x;
            const unsigned key = n < p.prefix ? mixkv_order_key(row[n]) : 0u;
            const bool valid = n < p.prefix;
            const bool above = valid && (key > cut.threshold || cap >= p.prefix);
            const bool tie = valid && !above && key == cut.threshold;
            int tie_total = 0;
            const int tie_rank = ties_seen + mixkv_block_exclusive_scan(tie ? 1 : 0, &tie_total, scan_scratch);
            const bool keep = above || (tie && tie_rank < cut.ties_taken);
            int kept_total = 0;
            const int slot = written + mixkv_block_exclusive_scan(keep ? 1 : 0, &kept_total, scan_scratch);
            if (keep) {
                out[slot] = n;
            }
            written += kept_total;
            ties_seen += tie_total;
        }
    }
    for (int w = threadIdx.x; w < p.window; w += blockDim.x) {
        out[cap + w] = p.prefix + w;
    }
}

MIXKV_KERNEL_INSTANCE("select_topk", select_topk, SelectParams)
