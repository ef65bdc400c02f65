// Decode-time append into the flattened cache (spec section 7; the reference code's
// update_flatten_view). Out of place -- segments shift by one row per preceding head, which would
// race in place across blocks -- so the caller double-buffers (or the host copies back):
//   append_rows     grid (blocks, Hkv), 256 threads, warp per destination row, grid-striding:
//                   head h's rows j < len_h move from cu_lens[h] + j to cu_lens[h] + h + j, and the
//                   new row lands at cu_lens[h] + h + len_h. Positions move the same way.
//   append_lengths  grid 1: len_h += 1 and cu_lens recomputed, launched after append_rows on the
//                   same stream (it rewrites the lengths append_rows reads).
// Capacity lives on the host but T lives on the device, so both kernels check T + Hkv <= capacity
// themselves: on overflow nothing is written and *status becomes 1 (spec section 7: an error, not a
// write).
#include "common/portability.cuh"
#include "common/reduce.cuh"

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
    int reserved;
};

struct AppendLengthsParams {
    int* head_lens;
    int* cu_lens;
    int* status;
    int heads;
    int capacity;
};

template <typename W>
__global__ void append_rows(const AppendParams p)
{
    const int warps = blockDim.x / MIXKV_WARP;
    const int lane = threadIdx.x % MIXKV_WARP;
    const int head = blockIdx.y;
    if (p.cu_lens[gridDim.y] + static_cast<int>(gridDim.y) > p.capacity) {
        if (p.status && head == 0 && blockIdx.x == 0 && threadIdx.x == 0) {
            *p.status = 1;
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
    if (threadIdx.x == 0) {
        if (p.cu_lens[p.heads] + p.heads > p.capacity) {
            return;  // append_rows reported the overflow and wrote nothing
        }
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
