// Row copies into the output layouts of spec section 7. grid (blocks, Hkv), or (blocks, Hkv, 2) for K
// and V together (gather_rows_pair), 256 threads: a warp per output row, lanes over the row's words
// (16-byte words when row size, strides and pointers allow -- the host picks the widest word W that
// divides them all), grid-striding over rows so the launch shape never depends on device-resident
// lengths (AdaKV caps stay on the device).
// Source rows come either from the cache at `positions` (gather) or from a packed [T, D] workspace
// (the copy-back half of an in-place compression); destinations are flattened [T, D] or dense
// [Hkv, len, D] with the caller's strides. Traffic: one read and one write of every kept row.
// Lengths, offsets and positions come from the selection kernels, so a bad one is a kernel bug; it
// traps rather than copy from or to another allocation (on a GPU such a copy need not fault, and on
// the CPU runtime it crashed the test host): one test per head and one per row, warp-uniform.
#include "common/portability.cuh"
#include "common/reduce.cuh"

struct GatherParams {
    const void* source;
    void* destination;
    const int* positions;          // [T] source token per output row, or null: source is packed [T, row]
    const int* head_lens;          // [Hkv]
    const int* cu_lens;            // [Hkv + 1]
    const int* status;             // validate.cu's word, or null: non-zero means write nothing
    long long source_head_stride;  // words; used with positions
    long long source_token_stride; // words
    long long dest_head_stride;    // words; used when dest_flattened == 0
    long long dest_token_stride;   // words
    int source_tokens;             // tokens per head of the source; used with positions
    int max_head_rows;             // rows a head keeps on average: every row lies in [0, gridDim.y *
                                   // max_head_rows) (AdaKV's heads differ); at most this many a head
                                   // into a dense destination (uniform caps only)
    int row_words;                 // words per row
    int dest_flattened;            // 1: destination row = cu_lens[h] + j, packed
};

// The rows of one tensor: the body of both kernels below.
template <typename W>
__device__ __forceinline__ void mixkv_gather_rows(const GatherParams& p)
{
    const int warps = blockDim.x / MIXKV_WARP;
    const int lane = threadIdx.x % MIXKV_WARP;
    if (p.status && *p.status) {
        return;
    }
    const int head = blockIdx.y;
    const int length = p.head_lens[head];
    const int first = p.cu_lens[head];
    if (length < 0 || first < 0 || first + static_cast<long long>(length) > static_cast<long long>(gridDim.y) * p.max_head_rows
        || (!p.dest_flattened && length > p.max_head_rows)) {
        __trap();
    }
    for (int j = blockIdx.x * warps + threadIdx.x / MIXKV_WARP; j < length; j += gridDim.x * warps) {
        const long long row = first + j;
        const int position = p.positions ? p.positions[row] : 0;
        if (p.positions && static_cast<unsigned>(position) >= static_cast<unsigned>(p.source_tokens)) {
            __trap();
        }
        const W* src = p.positions
            ? static_cast<const W*>(p.source) + head * p.source_head_stride + position * p.source_token_stride
            : static_cast<const W*>(p.source) + row * p.row_words;
        W* dst = p.dest_flattened
            ? static_cast<W*>(p.destination) + row * p.row_words
            : static_cast<W*>(p.destination) + head * p.dest_head_stride + j * p.dest_token_stride;
        // Not unrolled: rows of up to 32 words (512 bytes in 16-byte words: D 128 in fp32, 256 in
        // fp16) take one pass a lane, and the unrolled copies' registers (46 with the index checks,
        // 40 before) cost blocks: 32 or fewer here, eight blocks an SM on sm_80/sm_90/sm_90a.
MIXKV_NO_UNROLL
        for (int i = lane; i < p.row_words; i += MIXKV_WARP) {
            dst[i] = src[i];
        }
    }
}

template <typename W>
__global__ void gather_rows(const GatherParams p)
{
    MIXKV_GRID_DEPENDENCY();
    mixkv_gather_rows<W>(p);
}

// K and V of a layer in one launch, blockIdx.z = 0 for K and 1 for V (their row words alike): the
// last two launches of a layer were the same shape, and at small N each launch is most of its time.
struct GatherPairParams {
    GatherParams keys;
    GatherParams values;
};

template <typename W>
__global__ void gather_rows_pair(const GatherPairParams p)
{
    MIXKV_GRID_DEPENDENCY();
    mixkv_gather_rows<W>(blockIdx.z == 0 ? p.keys : p.values);
}

MIXKV_KERNEL_INSTANCE("gather_rows<uint4>", gather_rows<uint4>, GatherParams)
MIXKV_KERNEL_INSTANCE("gather_rows<unsigned int>", gather_rows<unsigned int>, GatherParams)
MIXKV_KERNEL_INSTANCE("gather_rows<unsigned short>", gather_rows<unsigned short>, GatherParams)
MIXKV_KERNEL_INSTANCE("gather_rows_pair<uint4>", gather_rows_pair<uint4>, GatherPairParams)
MIXKV_KERNEL_INSTANCE("gather_rows_pair<unsigned int>", gather_rows_pair<unsigned int>, GatherPairParams)
MIXKV_KERNEL_INSTANCE("gather_rows_pair<unsigned short>", gather_rows_pair<unsigned short>, GatherPairParams)
