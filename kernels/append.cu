// Decode-time append into the flattened cache (spec section 7; the reference code's
// update_flatten_view). Out of place -- segments shift by one row per preceding head, which would
// race in place across blocks -- so the caller double-buffers (or the host copies back):
//   append_rows     grid (blocks, Hkv), 256 threads, warp per destination row, grid-striding:
//                   head h's rows j < len_h move from cu_lens[h] + j to cu_lens[h] + h + j, and the
//                   new row lands at cu_lens[h] + h + len_h. Positions move the same way.
//   append_lengths  grid 1, one warp: len_h += 1 and cu_lens recomputed, launched after append_rows
//                   on the same stream (it rewrites the lengths append_rows reads).
// Capacity lives on the host but T lives on the device, so both kernels check T + Hkv <= capacity
// themselves: on overflow nothing is written and *status becomes 1 (spec section 7: an error, not a
// write). The cache's lengths are the caller's device data, so they are checked the same way before
// any row moves: cu_lens must be the exclusive prefix sum of head_lens >= 0 with T within the cache's
// capacity, or nothing is written and *status becomes 2 (Device/AppendStatus.cs names both).
#include "common/portability.cuh"
#include "common/reduce.cuh"

#define MIXKV_APPEND_OVERFLOW 1
#define MIXKV_APPEND_BAD_LENGTHS 2

struct AppendParams {
    const void* source;            // [T, row] old flattened rows
    void* destination;             // [T + Hkv, row] (capacity checked on the host)
    const void* new_rows;          // [Hkv, row]
    const int* head_lens;          // [Hkv] before the append
    const int* cu_lens;            // [Hkv + 1] before the append
    const int* source_positions;   // [T]
    int* destination_positions;    // [T + Hkv]
    int* status;                   // set to 1 on overflow (may be null)
    int row_words;
    int position;                  // original position of the appended token
    int capacity;                  // rows the destination holds
    int source_capacity;           // rows the cache holds
};

struct AppendLengthsParams {
    int* head_lens;
    int* cu_lens;
    int* status;
    int heads;
    int capacity;
    int source_capacity;
};

// 0 when the cache's lengths describe rows it holds and the destination takes them plus a row a
// head; else the status. Each warp works it out alone, lanes over the heads, so no block waits; every
// lane of the warp must call it.
__device__ __forceinline__ int mixkv_append_refusal(const int* head_lens, const int* cu_lens, int heads, int source_capacity, int capacity)
{
    const int lane = threadIdx.x % MIXKV_WARP;
    const int total = cu_lens[heads];
    // Lengths >= 0 summed from cu_lens[0] = 0: every head's rows lie in [0, T), T within the cache.
    bool bad = (lane == 0 && cu_lens[0] != 0) || total > source_capacity;
    for (int h = lane; h < heads; h += MIXKV_WARP) {
        const int length = head_lens[h];
        bad |= length < 0 || static_cast<long long>(cu_lens[h]) + length != cu_lens[h + 1];
    }
    if (__any_sync(MIXKV_FULL_MASK, bad)) {
        return MIXKV_APPEND_BAD_LENGTHS;
    }
    return static_cast<long long>(total) + heads > capacity ? MIXKV_APPEND_OVERFLOW : 0;
}

template <typename W>
__global__ void append_rows(const AppendParams p)
{
    MIXKV_GRID_DEPENDENCY();
    const int warps = blockDim.x / MIXKV_WARP;
    const int lane = threadIdx.x % MIXKV_WARP;
    const int head = blockIdx.y;
    const int refusal = mixkv_append_refusal(p.head_lens, p.cu_lens, gridDim.y, p.source_capacity, p.capacity);
    if (refusal != 0) {
        if (p.status && head == 0 && blockIdx.x == 0 && threadIdx.x == 0) {
            *p.status = refusal;
        }
        return;
    }
    const int length = p.head_lens[head];
    const int first = p.cu_lens[head];
    for (int j = blockIdx.x * warps + threadIdx.x / MIXKV_WARP; j <= length; j += gridDim.x * warps) {
        const long long to = static_cast<long long>(first) + head + j;
        const W* src = j < length
            ? static_cast<const W*>(p.source) + (static_cast<long long>(first) + j) * p.row_words
            : static_cast<const W*>(p.new_rows) + static_cast<long long>(head) * p.row_words;
        W* dst = static_cast<W*>(p.destination) + to * p.row_words;
        for (int i = lane; i < p.row_words; i += MIXKV_WARP) {
            dst[i] = src[i];
        }
        if (lane == 0) {
            p.destination_positions[to] = j < length ? p.source_positions[first + j] : p.position;
        }
    }
}

__global__ void append_lengths(const AppendLengthsParams p)
{
    MIXKV_GRID_DEPENDENCY();
    if (mixkv_append_refusal(p.head_lens, p.cu_lens, p.heads, p.source_capacity, p.capacity) != 0) {
        return;  // append_rows reported it and wrote nothing
    }
    __syncwarp();  // every lane's reads of the lengths before lane 0 rewrites them (a vote orders no memory)
    if (threadIdx.x == 0) {
        int offset = 0;
        p.cu_lens[0] = 0;
        for (int h = 0; h < p.heads; ++h) {
            p.head_lens[h] += 1;
            offset += p.head_lens[h];
            p.cu_lens[h + 1] = offset;
        }
    }
}

MIXKV_KERNEL_INSTANCE("append_rows<uint4>", append_rows<uint4>, AppendParams)
MIXKV_KERNEL_INSTANCE("append_rows<unsigned int>", append_rows<unsigned int>, AppendParams)
MIXKV_KERNEL_INSTANCE("append_rows<unsigned short>", append_rows<unsigned short>, AppendParams)
MIXKV_KERNEL_INSTANCE("append_lengths", append_lengths, AppendLengthsParams)
