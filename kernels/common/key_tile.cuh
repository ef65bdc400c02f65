// The staged key tile shared by the tile kernels (window_mma.cu, window_run.cu): 64 keys of one
// head in shared memory, their fragment-friendly pitch, the loads that fill it, and the per-chunk
// partial sums of the unit keys that head_key_partials would write (so K is read once less).
#ifndef MIXKV_COMMON_KEY_TILE_CUH
#define MIXKV_COMMON_KEY_TILE_CUH

#include "portability.cuh"
#include "dtype.cuh"
#include "mma.cuh"
#include "ldmatrix.cuh"
#include "reduce.cuh"
#include "key_stats.cuh"
#include "common/wgmma.cuh"  // by its name under kernels/: NVRTC resolves no other form for a header no .cu names

#define MIXKV_MMA_KEYS 64   // keys per tile: 8 product columns of 8
#define MIXKV_MMA_WARPS 4   // window_mma.cu: 128 threads per block
// Shared key rows are D + 8 values apart: the eight keys one fragment load touches then start four
// banks apart, so the 32 lanes hit 32 different banks (a pitch of D would put them all on one).
#define MIXKV_MMA_PAD 8
// Probability rows 72 floats apart: a half-warp's 8-byte stores (4 rows x 4 column pairs) then
// cover 32 different banks; 64 apart, the 8 rows of a store all hit the same banks.
#define MIXKV_MMA_PROBABILITY_PITCH (MIXKV_MMA_KEYS + 8)
static_assert(MIXKV_MMA_KEYS == MIXKV_HEAD_STATS_CHUNK, "a key tile doubles as a chunk of the key statistics");

// Where value d of staged key `key` lies in a tile: rows `pitch` values apart (the mma.sync kernels),
// or, for the run kernels' wgmma path, common/wgmma.cuh's core layout. Both are linear in whole
// 8-value pieces, at(k1 + k2, d1 + d2) = at(k1, d1) + at(k2, d2) when k2 and d2 are multiples of 8,
// so a reader forms its lane's address once and adds constant displacements, in either layout.
struct mixkv_row_tile {
    int pitch;
    __device__ __forceinline__ int at(int key, int d) const { return key * pitch + d; }
};

struct mixkv_core_tile {
    __device__ __forceinline__ int at(int key, int d) const { return mixkv_core_offset(key, d, MIXKV_MMA_KEYS); }
};

// The staged key tile of each dtype. 16-bit keys: raw bits, rows D + 8 apart, read by mma fragment
// loads; probabilities of all four warps' rows at once. fp32 keys: floats, rows D + 1 apart (the FMA
// loop reads 8 keys at one dimension: an odd pitch puts them on 8 banks); a tile of 64 fp32 keys
// leaves room for 32 probability rows under 48 KB, so the warps write theirs two by two.
template <typename T>
struct mixkv_tile_traits {
    typedef unsigned short element;
    static __device__ __forceinline__ int pitch(int dim) { return dim + MIXKV_MMA_PAD; }
    static __device__ __forceinline__ mixkv_row_tile layout(int dim) { return {pitch(dim)}; }
    static constexpr int probability_rows = 16 * MIXKV_MMA_WARPS;
    static constexpr int min_blocks = 7;  // 72 registers: no spills (64 spill 8 bytes)
};

template <>
struct mixkv_tile_traits<float> {
    typedef float element;
    static __device__ __forceinline__ int pitch(int dim) { return dim + 1; }
    static __device__ __forceinline__ mixkv_row_tile layout(int dim) { return {pitch(dim)}; }
    static constexpr int probability_rows = 32;
    static constexpr int min_blocks = 4;  // the FMA path keeps 64 sums (two per logit) in registers
};

// One staged key value as fp32.
template <typename T>
__device__ __forceinline__ float mixkv_tile_value(const unsigned short* tile, int index)
{
    T value;
    value.bits = tile[index];
    return mixkv_to_float(value);
}

template <typename T>
__device__ __forceinline__ float mixkv_tile_value(const float* tile, int index)
{
    return tile[index];
}

// Keys [first, first + 64) of one head into shared memory as raw 16-bit values, rows D + 8 apart;
// keys at or past `end` are zeros (their logits are masked or unused). 16-byte loads when the rows
// allow them (D is a multiple of 16, so only the base and the token stride can break alignment);
// the test is the same for every thread, so the branch does not diverge.
template <typename T>
__device__ __forceinline__ void mixkv_load_key_tile(unsigned short* tile, const T* keys, long long token_stride, int first, int end, int dim)
{
    const int pitch = dim + MIXKV_MMA_PAD;
    if (reinterpret_cast<unsigned long long>(keys) % 16 == 0 && (token_stride * sizeof(T)) % 16 == 0) {
        const int words = dim / 8;  // eight 16-bit values per 16-byte word
        for (int i = threadIdx.x; i < MIXKV_MMA_KEYS * words; i += blockDim.x) {
            const int key = i / words, word = i % words;
            const uint4 value = first + key < end ? reinterpret_cast<const uint4*>(keys + (first + key) * token_stride)[word] : make_uint4(0u, 0u, 0u, 0u);
            reinterpret_cast<uint4*>(tile + key * pitch)[word] = value;
        }
        return;
    }
    for (int i = threadIdx.x; i < MIXKV_MMA_KEYS * dim; i += blockDim.x) {
        const int key = i / dim, d = i % dim;
        tile[key * pitch + d] = first + key < end ? keys[(first + key) * token_stride + d].bits : static_cast<unsigned short>(0);
    }
}

// The fp32 form: keys [first, first + 64) as floats, rows D + 1 apart, zeros at or past `end`.
// 16-byte loads when the rows allow them, stored as four floats (the odd pitch has no 16-byte rows).
__device__ __forceinline__ void mixkv_load_key_tile(float* tile, const float* keys, long long token_stride, int first, int end, int dim)
{
    const int pitch = dim + 1;
    if (reinterpret_cast<unsigned long long>(keys) % 16 == 0 && token_stride % 4 == 0 && dim % 4 == 0) {
        const int words = dim / 4;
        for (int i = threadIdx.x; i < MIXKV_MMA_KEYS * words; i += blockDim.x) {
            const int key = i / words, word = i % words;
            const float4 value = first + key < end ? reinterpret_cast<const float4*>(keys + (first + key) * token_stride)[word] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
            float* out = tile + key * pitch + 4 * word;
            out[0] = value.x;
            out[1] = value.y;
            out[2] = value.z;
            out[3] = value.w;
        }
        return;
    }
    for (int i = threadIdx.x; i < MIXKV_MMA_KEYS * dim; i += blockDim.x) {
        const int key = i / dim, d = i % dim;
        tile[key * pitch + d] = first + key < end ? keys[(first + key) * token_stride + d] : 0.0f;
    }
}

// Window row `row` of a KV head's G·W rows (query head kv_head·G + row / W, position row % W), or
// null past the last row: the A operand rows of the tile kernels.
template <typename T>
__device__ __forceinline__ const T* mixkv_window_row(const T* queries, long long query_head_stride, long long query_token_stride, int kv_head, int row, int rows, int window, int groups)
{
    return row < rows ? queries + (kv_head * groups + row / window) * query_head_stride + (row % window) * query_token_stride : nullptr;
}

// Whether every pair (k, k + 1), k even, of the window rows is one aligned 32-bit word: the rows
// start on 4 bytes (the same answer for every lane).
template <typename T>
__device__ __forceinline__ bool mixkv_word_rows(const T* queries, long long query_head_stride, long long query_token_stride)
{
    return reinterpret_cast<unsigned long long>(queries) % 4 == 0 && query_head_stride % 2 == 0 && query_token_stride % 2 == 0;
}

// Values k and k + 1 of a 16-bit row as one fragment register: a single 32-bit load when the row
// allows it, else two 16-bit loads packed.
template <typename T>
__device__ __forceinline__ unsigned mixkv_load_pair(const T* row, int k, bool word_aligned)
{
    return word_aligned ? *reinterpret_cast<const unsigned*>(row + k) : mixkv_pack_pair(row[k].bits, row[k + 1].bits);
}

// The two window rows a lane feeds into mma A fragments: rows 16·row_tile + group and + 8 of the
// head's G·W (lane = 4·group + pair; null past the last row).
template <typename T>
__device__ __forceinline__ void mixkv_lane_rows(const T* queries, long long query_head_stride, long long query_token_stride, int kv_head, int row_tile, int rows,
                                                int window, int groups, const T** q0, const T** q1)
{
    const int group = (threadIdx.x % MIXKV_WARP) / 4, r0 = 16 * row_tile + group;
    *q0 = mixkv_window_row(queries, query_head_stride, query_token_stride, kv_head, r0, rows, window, groups);
    *q1 = mixkv_window_row(queries, query_head_stride, query_token_stride, kv_head, r0 + 8, rows, window, groups);
}

// The A fragment registers of one k step (dimensions k..k+15) of the lane's rows; a null row gives
// zeros. The staged key rows always hold their pairs as aligned words (even pitch, even k).
template <typename T>
__device__ __forceinline__ void mixkv_row_fragment(unsigned a[4], const T* q0, const T* q1, int k, bool word_rows)
{
    const int lo = k + 2 * (threadIdx.x % 4), hi = lo + 8;
    a[0] = q0 ? mixkv_load_pair(q0, lo, word_rows) : 0u;
    a[1] = q1 ? mixkv_load_pair(q1, lo, word_rows) : 0u;
    a[2] = q0 ? mixkv_load_pair(q0, hi, word_rows) : 0u;
    a[3] = q1 ? mixkv_load_pair(q1, hi, word_rows) : 0u;
}

// The row this lane addresses for the B fragments' ldmatrix (common/ldmatrix.cuh): lanes 8i..8i+7
// give rows 0..7 of matrix i, which holds keys 8·(i / 2)..+7 and dimensions 8·(i % 2)..+7 of a block
// of 16 keys by 16 dimensions. The rows are 16-byte aligned: the tile is, D + 8 is a multiple of 8.
template <typename Layout>
__device__ __forceinline__ mixkv_shared_row mixkv_lane_keys(const unsigned short* tile, Layout layout)
{
    const int lane = threadIdx.x % MIXKV_WARP, matrix = lane / 8;
    return mixkv_shared_row_of(tile + layout.at(8 * (matrix / 2) + lane % 8, 8 * (matrix % 2)));
}

__device__ __forceinline__ mixkv_shared_row mixkv_lane_keys(const unsigned short* tile, int dim) { return mixkv_lane_keys(tile, mixkv_row_tile{dim + MIXKV_MMA_PAD}); }

// The B fragments of k step `k` (dimensions k..k+15) for the tile's eight key columns: one
// ldmatrix.x4 per pair of columns gives both columns' fragments (matrices 0, 1 are keys 8·c.. at
// dimensions k.., k+8.., b[c / 2][0..1]; matrices 2, 3 the same for keys 8·(c+1).., b[c / 2][2..3]).
// `lane_keys` from mixkv_lane_keys. The four loads are issued together so their latencies overlap.
__device__ __forceinline__ void mixkv_load_step_keys(unsigned b[4][4], mixkv_shared_row lane_keys, int k, int dim)
{
MIXKV_UNROLL
    for (int pair = 0; pair < 4; ++pair) {
        mixkv_load_matrices_x4(b[pair], mixkv_shared_row_plus(lane_keys, 16 * pair * (dim + MIXKV_MMA_PAD) + k));
    }
}

// acc[c] += A (16 rows, one k step) times the step's B fragments of key column c.
template <typename T>
__device__ __forceinline__ void mixkv_multiply_step(float acc[8][4], const unsigned a[4], const unsigned b[4][4])
{
MIXKV_UNROLL
    for (int c = 0; c < 8; c += 2) {
        mixkv_mma_m16n8k16<T>(acc[c], a, b[c / 2], acc[c]);
        mixkv_mma_m16n8k16<T>(acc[c + 1], a, b[c / 2] + 2, acc[c + 1]);
    }
}

// One k step of a row tile's product with the staged keys: acc[c] += A (16 rows, dimensions
// k..k+15) times keys 8·c..8·c+7 of the tile, each pair of columns' load just before its products
// (one register quad: the tile kernels of window_mma.cu spill on sm_90 with all four loads first).
template <typename T>
__device__ __forceinline__ void mixkv_tile_step(float acc[8][4], const unsigned a[4], mixkv_shared_row lane_keys, int k, int dim)
{
MIXKV_UNROLL
    for (int c = 0; c < 8; c += 2) {
        unsigned b[4];
        mixkv_load_matrices_x4(b, mixkv_shared_row_plus(lane_keys, 8 * c * (dim + MIXKV_MMA_PAD) + k));
        mixkv_mma_m16n8k16<T>(acc[c], a, b, acc[c]);
        mixkv_mma_m16n8k16<T>(acc[c + 1], a, b + 2, acc[c + 1]);
    }
}

// head_key_partials' arithmetic on the staged tile (see head_stats.cu): each key's norm is the
// butterfly sum (offsets 16, 8, 4, 2, 1) of the lanes' squares over lane-strided dimensions, then
// the unit keys are summed per dimension in common/key_stats.cuh's order, so both kernels write the
// same bits (bf16 tiles: on the tensor cores instead, within ~2^-16; see mixkv_unit_key_sums).
// fp32 tiles: as head_key_partials does it, a warp per key.
template <typename T>
__device__ __forceinline__ void mixkv_tile_key_partials(const float* tile, mixkv_row_tile layout, int count, int dim, float* inverse_norm, float* partial)
{
    const int lane = threadIdx.x % MIXKV_WARP, pitch = layout.pitch;
    for (int t = threadIdx.x / MIXKV_WARP; t < count; t += blockDim.x / MIXKV_WARP) {
        float sum = 0.0f;
        for (int i = lane; i < dim; i += MIXKV_WARP) {
            const float x = tile[t * pitch + i];
            sum += x * x;
        }
        const float norm = sqrtf(mixkv_warp_reduce(sum, mixkv_sum_op()));
        if (lane == 0) {
            inverse_norm[t] = 1.0f / fmaxf(norm, MIXKV_KEY_NORM_FLOOR);
        }
    }
    __syncthreads();
    for (int i = threadIdx.x; i < dim; i += blockDim.x) {
        const float* column = tile + i;
        partial[i] = mixkv_chunk_unit_sum(count, inverse_norm, [=](int t) { return column[t * pitch]; });
    }
}

// The A fragment of k step [k, k + 16) of a matrix whose only rows are 0 = hi and 8 = lo (a value
// split into two 16-bit parts, hi + lo, for one more tensor-core product in fp32); the lanes of the
// other row groups hold zeros. hi and lo in shared memory, k even.
__device__ __forceinline__ void mixkv_split_rows_fragment(unsigned a[4], const unsigned short* hi, const unsigned short* lo, int k)
{
    const int lane = threadIdx.x % MIXKV_WARP;
    a[0] = a[1] = a[2] = a[3] = 0u;
    if (lane / 4 == 0) {
        const int at = k + 2 * lane;
        a[0] = *reinterpret_cast<const unsigned*>(hi + at);
        a[1] = *reinterpret_cast<const unsigned*>(lo + at);
        a[2] = *reinterpret_cast<const unsigned*>(hi + at + 8);
        a[3] = *reinterpret_cast<const unsigned*>(lo + at + 8);
    }
}

// Floats of the `inverse_norm` scratch the 16-bit tile partials take: 1/||k|| of the tile's 64 keys,
// then (bf16) the same split into hi and lo bf16 rows for the tensor-core sums.
#define MIXKV_TILE_NORM_FLOATS (MIXKV_MMA_KEYS + MIXKV_MMA_KEYS)

__device__ __forceinline__ void mixkv_store_scale_rows(float* inverse_norm, int t, float inverse, mixkv_bf16)
{
    unsigned short* hi = reinterpret_cast<unsigned short*>(inverse_norm + MIXKV_MMA_KEYS);
    mixkv_split16(inverse, hi + t, hi + MIXKV_MMA_KEYS + t, mixkv_bf16());
}

template <typename T>
__device__ __forceinline__ void mixkv_store_scale_rows(float*, int, float, T)
{
    // fp16 tiles sum on the CUDA cores from inverse_norm alone.
}

// The sums of squares of a warp's eight staged keys base..base+7 (16-bit tiles, D a multiple of 16,
// at most 128; keys past the tile's count are zeros): the lane's key in *key, and whether the lane
// is the one that writes it. fp16 tiles add in mixkv_warp_row_norm's order (head_stats.cu: dimensions
// lane, lane + 32, ... per lane, then mixkv_warp_reduce's tree), so their norms and partials are
// head_key_partials' bits: each lane squares its dimensions of all eight keys, and
// mixkv_warp_reduce_scatter8 sums them at once (lane l ends with key l / 4).
template <typename T, typename Layout>
__device__ __forceinline__ float mixkv_eight_key_squares(const unsigned short* tile, Layout layout, int dim, int base, int* key, bool* writer, T)
{
    const int lane = threadIdx.x % MIXKV_WARP;
    const int whole = dim / MIXKV_WARP * MIXKV_WARP;  // dimensions every lane has
    float s[8] = {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f};
    const unsigned short* column = tile + layout.at(base, lane);  // base and d are whole pieces
    for (int d = 0; d < whole; d += MIXKV_WARP) {
MIXKV_UNROLL
        for (int k = 0; k < 8; ++k) {
            const float x = mixkv_tile_value<T>(column, layout.at(k, d));
            s[k] += x * x;
        }
    }
    if (lane < dim - whole) {
MIXKV_UNROLL
        for (int k = 0; k < 8; ++k) {
            const float x = mixkv_tile_value<T>(column, layout.at(k, whole));
            s[k] += x * x;
        }
    }
    *key = base + lane / 4;
    *writer = lane % 4 == 0;
    return mixkv_warp_reduce_scatter8(s);
}

// bf16 tiles (their partials are the tensor cores' anyway, not head_key_partials' bits): 16-byte
// loads. Lane l takes key base + l % 8 and its 16-byte words l / 8, l / 8 + 4, ...: the eight lanes
// of a load phase read eight keys, whose rows start one 16-byte bank group apart (pitch D + 8), so no
// two share a bank (in the core layout, a load phase reads one core matrix). Two butterflies join the
// four lanes of a key. With a 16-bit load and its address per element, these sums were ~15 % of
// window_run_stats' executed instructions on an H200. On the tensor cores instead (the diagonal of
// K·Kᵀ from ldmatrix fragments, 1f1daac and 8652a65) they cut 13 % of its instructions and no time on
// an H200, and slowed CI's ThreadSanitizer step from 5 to 8 minutes (emulated ldmatrix): reverted.
template <typename Layout>
__device__ __forceinline__ float mixkv_eight_key_squares(const unsigned short* tile, Layout layout, int dim, int base, int* key, bool* writer, mixkv_bf16)
{
    const int lane = threadIdx.x % MIXKV_WARP, words = dim / 8;
    const unsigned short* row = tile + layout.at(base + lane % 8, 8 * (lane / 8));
    float low = 0.0f, high = 0.0f;  // two chains: the lower and upper halves of the words
    auto add = [&](const uint4 w) {
        const unsigned parts[4] = {w.x, w.y, w.z, w.w};
MIXKV_UNROLL
        for (int j = 0; j < 4; ++j) {
            const float a = __uint_as_float(parts[j] << 16), b = __uint_as_float(parts[j] & 0xFFFF0000u);
            low = fmaf(a, a, low);
            high = fmaf(b, b, high);
        }
    };
    // Word lane / 8 + 4i of the row: 32 values on, a displacement of whole pieces.
    auto word = [&](int i) { return *reinterpret_cast<const uint4*>(row + layout.at(0, 32 * i)); };
    if (words == 16) {  // D = 128: four words per lane, no tests
MIXKV_UNROLL
        for (int i = 0; i < 4; ++i) {
            add(word(i));
        }
    } else {
MIXKV_UNROLL
        for (int i = 0; i < 4; ++i) {  // at most 16 words: D <= 128
            if (lane / 8 + 4 * i < words) {
                add(word(i));
            }
        }
    }
    float s = low + high;
    s += __shfl_xor_sync(MIXKV_FULL_MASK, s, 8);
    s += __shfl_xor_sync(MIXKV_FULL_MASK, s, 16);
    *key = base + lane % 8;
    *writer = lane < 8;
    return s;
}

// 16-bit tiles (D a multiple of 16, at most 128), the same sums with far fewer instructions (the
// warp-per-key form was about half of window_run_stats' instructions on an H100):
//   - a warp takes eight keys at once (mixkv_eight_key_squares), so the square root and the
//     division run once per eight keys instead of once per key;
//   - the per-dimension sums: mixkv_unit_key_sums.
//
// Optionally, from the same sums: the norms of the first `norm_count` keys into `norms` (null: none),
// and whether any key holds a NaN or Inf (the return value, on the lanes that found one). A key's
// sum of squares is finite when all its elements are (16-bit squares summed over D <= 128 overflow
// fp32 only for bf16 elements past 1.8e19); only a key whose sum is not is read again, element by
// element.
template <typename T, typename Layout>
__device__ __forceinline__ bool mixkv_tile_key_partials(const unsigned short* tile, Layout layout, int count, int dim, float* inverse_norm, float* partial,
                                                        float* norms = nullptr, int norm_count = 0)
{
    const int warp = threadIdx.x / MIXKV_WARP, warps = blockDim.x / MIXKV_WARP;
    bool nonfinite = false;
    for (int base = 8 * warp; base < count; base += 8 * warps) {
        int t;
        bool writer;
        const float z = mixkv_eight_key_squares(tile, layout, dim, base, &t, &writer, T());
        if (writer && t < count) {
            const float norm = sqrtf(z);
            const float inverse = 1.0f / fmaxf(norm, MIXKV_KEY_NORM_FLOOR);
            inverse_norm[t] = inverse;
            mixkv_store_scale_rows(inverse_norm, t, inverse, T());
            if (norms != nullptr && t < norm_count) {
                norms[t] = norm;
            }
            if (!mixkv_is_finite(z)) {
                const unsigned short* row = tile + layout.at(t, 0);
                for (int i = 0; i < dim / 2; ++i) {
                    nonfinite = nonfinite || mixkv_nonfinite_bits<T>(*reinterpret_cast<const unsigned*>(row + layout.at(0, 2 * i))) != 0u;
                }
            }
        }
    }
    for (int t = count + threadIdx.x; t < MIXKV_MMA_KEYS; t += blockDim.x) {
        mixkv_store_scale_rows(inverse_norm, t, 0.0f, T());  // the tail's zero rows weigh nothing
    }
    __syncthreads();
    mixkv_unit_key_sums(tile, layout, count, dim, inverse_norm, partial, T());
    return nonfinite;
}

// bf16 tiles: the sums as one more tensor-core product, 1/||k|| (split into hi and lo bf16 rows, rows
// 0 and 8 of A) times the tile with k running over keys (B by ldmatrix.trans). Warp w takes the pairs
// of 8-dimension column tiles w, w + warps, ...; about 35 instructions per warp per tile where the
// CUDA-core sums below took ~130. The result is within ~2^-16 of those sums, not their bits.
// fp16 tiles keep the CUDA cores: fp16 cannot hold 1/||k|| of a key near zero.
template <typename Layout>
__device__ __forceinline__ void mixkv_unit_key_sums(const unsigned short* tile, Layout layout, int count, int dim, const float* inverse_norm, float* partial, mixkv_bf16)
{
    const int lane = threadIdx.x % MIXKV_WARP, group = lane / 4, pair = lane % 4;
    const unsigned short* hi = reinterpret_cast<const unsigned short*>(inverse_norm + MIXKV_MMA_KEYS);
    const unsigned short* lo = hi + MIXKV_MMA_KEYS;
    // Matrix i = lane / 8 of a load: keys k0 + 8·(i % 2) + lane % 8, dimensions n0 + 8·(i / 2).
    const mixkv_shared_row lane_rows = mixkv_shared_row_of(tile + layout.at(8 * ((lane / 8) % 2) + lane % 8, 8 * (lane / 16)));
    const int steps = (count + 15) / 16;  // k steps of 16 keys; the rest are zero rows
    for (int n0 = 16 * (threadIdx.x / MIXKV_WARP); n0 < dim; n0 += 16 * (blockDim.x / MIXKV_WARP)) {
        float d0[4] = {0.0f, 0.0f, 0.0f, 0.0f}, d1[4] = {0.0f, 0.0f, 0.0f, 0.0f};
        for (int step = 0; step < steps; ++step) {
            unsigned a[4];
            mixkv_split_rows_fragment(a, hi, lo, 16 * step);
            unsigned b[4];
            mixkv_load_matrices_x4_trans(b, mixkv_shared_row_plus(lane_rows, layout.at(16 * step, n0)));
            mixkv_mma_m16n8k16<mixkv_bf16>(d0, a, b, d0);
            mixkv_mma_m16n8k16<mixkv_bf16>(d1, a, b + 2, d1);
        }
        if (group == 0) {  // row 0 (hi) + row 8 (lo), dimensions n0 + 2·pair + {0, 1} and + 8
            *reinterpret_cast<float2*>(partial + n0 + 2 * pair) = make_float2(d0[0] + d0[2], d0[1] + d0[3]);
            *reinterpret_cast<float2*>(partial + n0 + 8 + 2 * pair) = make_float2(d1[0] + d1[2], d1[1] + d1[3]);
        }
    }
}

// Every warp takes 16 dimensions at a time: lane 8q + j sums dimensions 2j, 2j + 1 (one 32-bit
// word) over quarter q's tokens (common/key_stats.cuh), then two butterflies join the quarters
// as (Q0 + Q1) + (Q2 + Q3). A step's 32 words then lie on 32 banks (rows 2q + {0, 1} + 8i are
// 4 banks apart per row), and no warp sums more than its share.
template <typename T, typename Layout>
__device__ __forceinline__ void mixkv_unit_key_sums(const unsigned short* tile, Layout layout, int count, int dim, const float* inverse_norm, float* partial, T)
{
    const int lane = threadIdx.x % MIXKV_WARP, warp = threadIdx.x / MIXKV_WARP, warps = blockDim.x / MIXKV_WARP;
    const int quarter = lane / 8, word = lane % 8;
    for (int i = 16 * warp + 2 * word; i < dim; i += 16 * warps) {
        const unsigned short* column = tile + layout.at(0, i);
        float low = 0.0f, high = 0.0f;
        for (int j = 0;; ++j) {
            const int t = mixkv_quarter_token(quarter, j);
            if (t >= count) {
                break;
            }
            const unsigned pair = *reinterpret_cast<const unsigned*>(column + layout.at(t, 0));
            T first, second;
            first.bits = static_cast<unsigned short>(pair & 0xFFFFu);
            second.bits = static_cast<unsigned short>(pair >> 16);
            const float inverse = inverse_norm[t];
            low += mixkv_to_float(first) * inverse;
            high += mixkv_to_float(second) * inverse;
        }
        low += __shfl_xor_sync(MIXKV_FULL_MASK, low, 8);
        high += __shfl_xor_sync(MIXKV_FULL_MASK, high, 8);
        low += __shfl_xor_sync(MIXKV_FULL_MASK, low, 16);
        high += __shfl_xor_sync(MIXKV_FULL_MASK, high, 16);
        if (quarter == 0) {
            *reinterpret_cast<float2*>(partial + i) = make_float2(low, high);  // D and i even: 8-byte aligned
        }
    }
}

#endif  // MIXKV_COMMON_KEY_TILE_CUH
