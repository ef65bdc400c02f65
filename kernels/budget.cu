// Per-head capacities on the device (spec section 5), so AdaKV never makes the host wait:
//   adakv_head_share  grid Hkv, 512 threads: radix-select the base-th largest A[h] and sum the top
//                     base values (ties included once each); factor = top / all when normalising.
//   adakv_allocate    grid 1, 1024 threads: radix-select the (Hkv*base)-th largest scaled score
//                     over all heads, count per head (ties: lower head first), then
//                     cap_h = round_half_even(count*(1 - alpha) + floor(base*alpha)) clamped to [0, P].
//   head_lengths      grid 1, 32 threads: len_h = cap_h + W (caps from the device, or one uniform
//                     cap for SnapKV/PyramidKV), cu_lens = exclusive prefix sum.
// Reads A twice per radix pass (four passes); no sort of any head.
#include "common/portability.cuh"
#include "common/reduce.cuh"
#include "common/radix_select.cuh"

#define MIXKV_MAX_HEADS 256

struct AdakvHeadShareParams {
    const float* attention;    // A [Hkv, P]
    float* factor;             // [Hkv]
    int prefix;
    int base;                  // budget - W, 1 <= base <= P
    int normalize;
    int reserved;
};

struct AdakvAllocateParams {
    const float* attention;    // A [Hkv, P]
    const float* factor;       // [Hkv]
    int* caps;                 // [Hkv]
    int heads;
    int prefix;
    int base;
    int floor_keep;            // floor(base * alpha), computed on the host in double like the spec
    double keep_share;         // 1 - alpha
};

struct HeadLengthsParams {
    const int* caps;           // [Hkv] or null: every head uses uniform_cap
    const int* status;         // validate.cu's word, or null: non-zero means write nothing
    int* head_lens;            // [Hkv]
    int* cu_lens;              // [Hkv + 1]
    int heads;
    int uniform_cap;
    int window;                // rows always kept after the cap
    int reserved;
};

__global__ void adakv_head_share(const AdakvHeadShareParams p)
{
    __shared__ mixkv_radix_storage storage;
    __shared__ float scratch[MIXKV_WARP];
    const int head = blockIdx.x;
    const float* row = p.attention + static_cast<long long>(head) * p.prefix;
    if (!p.normalize) {
        if (threadIdx.x == 0) {
            p.factor[head] = 1.0f;
        }
        return;
    }
    const mixkv_radix_result top = mixkv_block_radix_select(
        p.prefix, p.base, [row](int i) { return mixkv_order_key(row[i]); }, &storage);
    // Each thread adds its values in position order, loads batched as in the radix passes.
    float above = 0.0f, all = 0.0f;
    mixkv_batched(
        threadIdx.x, p.prefix, blockDim.x, [row](int n) { return row[n]; },
        [&](int, float a) {
            all += a;
            if (mixkv_order_key(a) > top.threshold) {
                above += a;
            }
        });
    above = mixkv_block_reduce(above, mixkv_sum_op(), 0.0f, scratch);
    all = mixkv_block_reduce(all, mixkv_sum_op(), 0.0f, scratch);
    if (threadIdx.x == 0) {
        const float top_sum = above + static_cast<float>(top.ties_taken) * mixkv_key_to_float(top.threshold);
        // A head without attention mass has nothing to rescale (the reference's choice).
        p.factor[head] = all > 0.0f ? top_sum / all : 1.0f;
    }
}

__global__ void adakv_allocate(const AdakvAllocateParams p)
{
    __shared__ mixkv_radix_storage storage;
    __shared__ int above[MIXKV_MAX_HEADS];
    __shared__ int ties[MIXKV_MAX_HEADS];
    const float* attention = p.attention;
    const float* factor = p.factor;
    const int prefix = p.prefix;
    auto key_at = [attention, factor, prefix](int head, int n) { return mixkv_order_key(attention[static_cast<long long>(head) * prefix + n] * factor[head]); };
    const mixkv_radix_result cut = mixkv_block_radix_select_rows(p.heads, prefix, p.heads * p.base, key_at, &storage);
    for (int h = threadIdx.x; h < p.heads; h += blockDim.x) {
        above[h] = 0;
        ties[h] = 0;
    }
    __syncthreads();
    // Per head: each thread counts its keys, warps add their lanes, lane 0 adds to the head's
    // counter (integer sums: the same in any order).
    for (int h = 0; h < p.heads; ++h) {
        int mine_above = 0, mine_ties = 0;
        mixkv_batched(
            threadIdx.x, prefix, blockDim.x, [&](int n) { return key_at(h, n); },
            [&](int, unsigned key) {
                mine_above += key > cut.threshold ? 1 : 0;
                mine_ties += key == cut.threshold ? 1 : 0;
            });
        mine_above = mixkv_warp_reduce(mine_above, mixkv_sum_op());
        mine_ties = mixkv_warp_reduce(mine_ties, mixkv_sum_op());
        if (threadIdx.x % MIXKV_WARP == 0) {
            atomicAdd(&above[h], mine_above);
            atomicAdd(&ties[h], mine_ties);
        }
    }
    __syncthreads();
    if (threadIdx.x == 0) {
        int ties_left = cut.ties_taken;
        for (int h = 0; h < p.heads; ++h) {
            const int tied = ties[h] < ties_left ? ties[h] : ties_left;  // lower head first
            ties_left -= tied;
            const double wanted = static_cast<double>(above[h] + tied) * p.keep_share + static_cast<double>(p.floor_keep);
            int cap = static_cast<int>(rint(wanted));  // round half to even (default rounding mode)
            cap = cap < 0 ? 0 : (cap > p.prefix ? p.prefix : cap);
            p.caps[h] = cap;
        }
    }
}

__global__ void head_lengths(const HeadLengthsParams p)
{
    if (p.status && *p.status) {
        return;
    }
    if (threadIdx.x == 0) {
        int offset = 0;
        p.cu_lens[0] = 0;
        for (int h = 0; h < p.heads; ++h) {
            const int len = (p.caps ? p.caps[h] : p.uniform_cap) + p.window;
            p.head_lens[h] = len;
            offset += len;
            p.cu_lens[h + 1] = offset;
        }
    }
}

MIXKV_KERNEL_INSTANCE("adakv_head_share", adakv_head_share, AdakvHeadShareParams)
MIXKV_KERNEL_INSTANCE("adakv_allocate", adakv_allocate, AdakvAllocateParams)
MIXKV_KERNEL_INSTANCE("head_lengths", head_lengths, HeadLengthsParams)
