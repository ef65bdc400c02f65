// Per-head top-k with a different k per head (spec section 6). grid Hkv, 1024 threads:
// radix-select the cap_h-th largest score (four digit passes over P floats), then one ordered
// compaction: each thread owns a run of consecutive positions, two block scans give each run its
// ties' rank and its first output slot -- so rows come out ascending with no sort, and among equal
// scores at the threshold the lowest positions are the ones kept. The window positions P..N-1
// follow. Writes positions[cu_lens[h] .. cu_lens[h+1]). (Two scans per 512 positions instead of
// two per run took the kernel to 95 us on an H100 at P = 32736, with the serial bin walk.)
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
        // Thread t owns positions [t·per, (t+1)·per): it counts its keys above the cut and its ties,
        // one block scan ranks its ties among all (lowest positions first), a second gives its
        // first output slot, and it writes its kept positions in ascending order.
        const bool all = cap >= p.prefix;
        const int per = (p.prefix + blockDim.x - 1) / blockDim.x;
        const int begin = static_cast<int>(threadIdx.x) * per < p.prefix ? static_cast<int>(threadIdx.x) * per : p.prefix;
        const int end = begin + per < p.prefix ? begin + per : p.prefix;
        auto key_of = [row](int n) { return mixkv_order_key(row[n]); };
        int above = 0, tied = 0;
        mixkv_batched(begin, end, 1, key_of, [&](int, unsigned key) {
            above += all || key > cut.threshold ? 1 : 0;
            tied += !all && key == cut.threshold ? 1 : 0;
        });
        int total = 0;
        const int ties_before = mixkv_block_exclusive_scan(tied, &total, scan_scratch);
        int ties_mine = cut.ties_taken - ties_before;
        ties_mine = ties_mine < 0 ? 0 : (ties_mine > tied ? tied : ties_mine);
        int slot = mixkv_block_exclusive_scan(above + ties_mine, &total, scan_scratch);
        mixkv_batched(begin, end, 1, key_of, [&](int n, unsigned key) {
            bool keep = all || key > cut.threshold;
            if (!keep && key == cut.threshold && ties_mine > 0) {
                keep = true;
                --ties_mine;
            }
            if (keep) {
                out[slot++] = n;
            }
        });
    }
    for (int w = threadIdx.x; w < p.window; w += blockDim.x) {
        out[cap + w] = p.prefix + w;
    }
}

MIXKV_KERNEL_INSTANCE("select_topk", select_topk, SelectParams)
