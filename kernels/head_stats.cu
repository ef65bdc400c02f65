// Per-KV-head key/value statistics (spec section 3), three launches (head_value_stats replaces
// head_token_stats where the window run kernels take the K statistics from their tiles):
//   head_key_partials  grid (ceil(N/64), Hkv), 256 threads: each warp normalises tokens of its
//                      64-token chunk (norm by warp reduction), then threads sum the unit keys
//                      per dimension over the chunk, in common/key_stats.cuh's order. Writes
//                      partial[Hkv, chunks, D]. One pass over K.
//                      Not launched when the tile kernels run (D <= 128): window_tile_stats
//                      (window_mma.cu) or window_run_stats (window_run.cu) writes the same
//                      partials from the key tiles it stages: with the same arithmetic, but
//                      for bf16 tiles, which sum on the tensor cores (common/key_tile.cuh).
//   head_key_mean      grid Hkv, 1024 threads: mu = (sum of partials) / N in a fixed order (warps
//                      over chunks, then the warps' sums in order; one thread per dimension walking
//                      every chunk took 59 us on an H100 at N = 32768, eight warps 26 us), then
//                      the online redundancy r = clamp((N*||mu||^2 - 1) / (N - 1), 0, 1).
//   head_token_stats   grid (ceil(rows/64), Hkv), 256 threads (a warp per eight tokens): ||K[n]||,
//                      ||V[n]|| and s[n] = k_hat_n*mu for the P prefix tokens. One pass over K and
//                      V. With a status word, rows = N: it also checks every element of K and V
//                      finite (spec section 8) in the same pass, so check_finite need not read
//                      them again (the window's rows past P are only checked).
// Fixed chunking and tree reductions keep every result independent of scheduling.
#include "common/portability.cuh"
#include "common/dtype.cuh"
#include "common/reduce.cuh"
#include "common/key_stats.cuh"
#include "common/key_mean.cuh"

struct HeadKeyPartialsParams {
    const void* keys;          // [Hkv, N, D]
    float* partial;            // [Hkv, chunks, D]
    long long key_head_stride;
    long long key_token_stride;
    int tokens;
    int head_dim;
    int chunks;                // ceil(N / 64)
    int reserved;
};

struct HeadTokenStatsParams {
    const void* keys;
    const void* values;
    const float* mean_key;     // [Hkv, D]
    float* key_norm;           // [Hkv, P]
    float* value_norm;         // [Hkv, P]
    float* similarity;         // [Hkv, P]  s = k_hat*mu
    int* status;               // validate.cu's word, or null: when set, rows 0..N-1 are checked finite
    long long key_head_stride;
    long long key_token_stride;
    long long value_head_stride;
    long long value_token_stride;
    int prefix;
    int tokens;                // N
    int head_dim;
    int key_bit;               // OR-ed into *status for a non-finite element of K
    int value_bit;             // ... of V
    int reserved;
};

template <typename T>
__device__ __forceinline__ float mixkv_warp_row_norm(const T* row, int d)
{
    float sum = 0.0f;
    for (int i = threadIdx.x % MIXKV_WARP; i < d; i += MIXKV_WARP) {
        const float x = mixkv_to_float(row[i]);
        sum += x * x;
    }
    return sqrtf(mixkv_warp_reduce(sum, mixkv_sum_op()));
}

template <typename T>
__global__ void head_key_partials(const HeadKeyPartialsParams p)
{
    MIXKV_GRID_DEPENDENCY();
    __shared__ float inverse_norm[MIXKV_HEAD_STATS_CHUNK];
    const int chunk = blockIdx.x;
    const int head = blockIdx.y;
    const int first = chunk * MIXKV_HEAD_STATS_CHUNK;
    const int count = p.tokens - first < MIXKV_HEAD_STATS_CHUNK ? p.tokens - first : MIXKV_HEAD_STATS_CHUNK;
    const T* keys = static_cast<const T*>(p.keys) + head * p.key_head_stride;
    const int warp = threadIdx.x / MIXKV_WARP;
    const int warps = blockDim.x / MIXKV_WARP;
    for (int t = warp; t < count; t += warps) {
        const float norm = mixkv_warp_row_norm(keys + (first + t) * p.key_token_stride, p.head_dim);
        if (threadIdx.x % MIXKV_WARP == 0) {
            inverse_norm[t] = 1.0f / fmaxf(norm, MIXKV_KEY_NORM_FLOOR);
        }
    }
    __syncthreads();
    for (int i = threadIdx.x; i < p.head_dim; i += blockDim.x) {
        const T* column = keys + first * p.key_token_stride + i;
        const long long stride = p.key_token_stride;
        p.partial[(static_cast<long long>(head) * p.chunks + chunk) * p.head_dim + i] =
            mixkv_chunk_unit_sum(count, inverse_norm, [=](int t) { return mixkv_to_float(column[t * stride]); });
    }
}

__global__ void head_key_mean(const HeadKeyMeanParams p)
{
    MIXKV_GRID_DEPENDENCY();
    mixkv_head_key_mean(p, blockIdx.x);
}

// Tokens per warp of head_token_stats: the words of all eight rows of K and V are loaded before any
// is summed (4 KB in flight per warp at D = 128 in 16 bits), and the row setup is paid once per eight
// (with two tokens per warp, ncu showed the kernel issue-bound at 84 % of the SM's rate, most of it
// 64-bit address arithmetic per pair). Their sums reduce two tokens at a time in one eight-slot warp
// reduction.
#define MIXKV_TOKEN_STATS_PER_WARP 8
#define MIXKV_TOKEN_STATS_PAIRS (MIXKV_TOKEN_STATS_PER_WARP / 2)

// The elements of one 8-byte word of T values, as floats.
__device__ __forceinline__ void mixkv_unpack_word(uint2 word, float (&out)[2], float)
{
    out[0] = __uint_as_float(word.x);
    out[1] = __uint_as_float(word.y);
}

template <typename T>
__device__ __forceinline__ void mixkv_unpack_word(uint2 word, float (&out)[4], T)
{
    T element;
    const unsigned halves[4] = {word.x & 0xFFFFu, word.x >> 16, word.y & 0xFFFFu, word.y >> 16};
MIXKV_UNROLL
    for (int e = 0; e < 4; ++e) {
        element.bits = static_cast<unsigned short>(halves[e]);
        out[e] = mixkv_to_float(element);
    }
}

template <typename T>
__device__ __forceinline__ bool mixkv_rows_in_words(const T* head, long long token_stride, int d)
{
    return reinterpret_cast<unsigned long long>(head) % 8 == 0 && (token_stride * sizeof(T)) % 8 == 0 && (d * sizeof(T)) % 8 == 0;
}

// Slot of a statistic in one pair's eight sums: token j of the pair has its sums at 4j + slot.
#define MIXKV_SLOT_KEY_SQUARES 0
#define MIXKV_SLOT_VALUE_SQUARES 1
#define MIXKV_SLOT_KEY_MEAN 2

// One element of K and of V of token j (0..7 of the warp) into its pair's sums.
__device__ __forceinline__ void mixkv_add_token_element(float (&sums)[MIXKV_TOKEN_STATS_PAIRS][8], int j, float k, float v, float mu)
{
    float* slots = sums[j / 2] + 4 * (j % 2);
    slots[MIXKV_SLOT_KEY_SQUARES] += k * k;
    slots[MIXKV_SLOT_VALUE_SQUARES] += v * v;
    slots[MIXKV_SLOT_KEY_MEAN] += k * mu;
}

// The warp's eight tokens of the head's rows (the prefix, or all N when checking finiteness): the
// first, and `last`, the index (0..7) of the last real one; tokens past it read it again, their sums
// never stored. `empty`: the warp has none (uniform across it, so whole warps leave together).
struct mixkv_warp_tokens {
    int first, last;
    bool empty;
};

__device__ __forceinline__ mixkv_warp_tokens mixkv_tokens_of_warp(const HeadTokenStatsParams& p)
{
    const int rows = p.status ? p.tokens : p.prefix;
    mixkv_warp_tokens w;
    w.first = (blockIdx.x * (blockDim.x / MIXKV_WARP) + threadIdx.x / MIXKV_WARP) * MIXKV_TOKEN_STATS_PER_WARP;
    w.last = w.first + MIXKV_TOKEN_STATS_PER_WARP <= rows ? MIXKV_TOKEN_STATS_PER_WARP - 1 : rows - 1 - w.first;
    w.empty = w.first >= rows;
    return w;
}

template <typename T>
__global__ void head_token_stats(const HeadTokenStatsParams p)
{
    MIXKV_GRID_DEPENDENCY();
    const mixkv_warp_tokens tokens = mixkv_tokens_of_warp(p);
    if (tokens.empty) {
        return;
    }
    const int lane = threadIdx.x % MIXKV_WARP, head = blockIdx.y, first = tokens.first, last = tokens.last;
    const T* keys = static_cast<const T*>(p.keys) + head * p.key_head_stride + first * p.key_token_stride;
    const T* values = static_cast<const T*>(p.values) + head * p.value_head_stride + first * p.value_token_stride;
    const float* mean = p.mean_key + head * p.head_dim;
    const bool words = mixkv_rows_in_words(keys, p.key_token_stride, p.head_dim) && mixkv_rows_in_words(values, p.value_token_stride, p.head_dim);
    float sums[MIXKV_TOKEN_STATS_PAIRS][8] = {};
    unsigned bad_keys = 0u, bad_values = 0u;
    if (words) {
        // 8-byte words, four 16-bit or two fp32 elements: a warp reads 256 contiguous bytes per load
        // (element loads of 16-bit rows read 64). The finite test works on the words' bits.
        constexpr int per_word = 8 / static_cast<int>(sizeof(T));
        const long long key_row_words = p.key_token_stride / per_word, value_row_words = p.value_token_stride / per_word;
        const uint2* key_words = reinterpret_cast<const uint2*>(keys);
        const uint2* value_words = reinterpret_cast<const uint2*>(values);
        for (int w = lane; w < p.head_dim / per_word; w += MIXKV_WARP) {
            uint2 k_words[MIXKV_TOKEN_STATS_PER_WARP], v_words[MIXKV_TOKEN_STATS_PER_WARP];
MIXKV_UNROLL
            for (int j = 0; j < MIXKV_TOKEN_STATS_PER_WARP; ++j) {
                const int row = j < last ? j : last;
                k_words[j] = key_words[row * key_row_words + w];
                v_words[j] = value_words[row * value_row_words + w];
            }
            float mu[per_word];
MIXKV_UNROLL
            for (int e = 0; e < per_word; ++e) {
                mu[e] = mean[w * per_word + e];
            }
MIXKV_UNROLL
            for (int j = 0; j < MIXKV_TOKEN_STATS_PER_WARP; ++j) {
                bad_keys |= mixkv_nonfinite_bits<T>(k_words[j].x) | mixkv_nonfinite_bits<T>(k_words[j].y);
                bad_values |= mixkv_nonfinite_bits<T>(v_words[j].x) | mixkv_nonfinite_bits<T>(v_words[j].y);
                float k[per_word], v[per_word];
                mixkv_unpack_word(k_words[j], k, T());
                mixkv_unpack_word(v_words[j], v, T());
MIXKV_UNROLL
                for (int e = 0; e < per_word; ++e) {
                    mixkv_add_token_element(sums, j, k[e], v[e], mu[e]);
                }
            }
        }
    } else {
        for (int i = lane; i < p.head_dim; i += MIXKV_WARP) {
            const float mu = mean[i];
MIXKV_UNROLL
            for (int j = 0; j < MIXKV_TOKEN_STATS_PER_WARP; ++j) {
                const int row = j < last ? j : last;
                const T key = keys[row * p.key_token_stride + i], value = values[row * p.value_token_stride + i];
                bad_keys |= mixkv_is_finite(key) ? 0u : 1u;
                bad_values |= mixkv_is_finite(value) ? 0u : 1u;
                mixkv_add_token_element(sums, j, mixkv_to_float(key), mixkv_to_float(value), mu);
            }
        }
    }
MIXKV_UNROLL
    for (int pair = 0; pair < MIXKV_TOKEN_STATS_PAIRS; ++pair) {
        // Lane l holds the total of slot (l >> 2) & 7: token (l >> 4) & 1 of the pair, statistic
        // (l >> 2) & 3. The lanes of ||k||^2 and k*mu of one token are 8 apart.
        const float total = mixkv_warp_reduce_scatter8(sums[pair]);
        const float partner = __shfl_xor_sync(MIXKV_FULL_MASK, total, 8);
        const int n = first + 2 * pair + ((lane >> 4) & 1), statistic = (lane >> 2) & 3;
        if (lane % 4 == 0 && n < p.prefix) {
            const long long at = static_cast<long long>(head) * p.prefix + n;
            if (statistic == MIXKV_SLOT_KEY_SQUARES) {
                p.key_norm[at] = sqrtf(total);
            } else if (statistic == MIXKV_SLOT_VALUE_SQUARES) {
                p.value_norm[at] = sqrtf(total);
            } else if (statistic == MIXKV_SLOT_KEY_MEAN) {
                p.similarity[at] = total / fmaxf(sqrtf(partner), MIXKV_KEY_NORM_FLOOR);
            }
        }
    }
    if (p.status) {
        const int bits = (__any_sync(MIXKV_FULL_MASK, bad_keys != 0u) ? p.key_bit : 0) | (__any_sync(MIXKV_FULL_MASK, bad_values != 0u) ? p.value_bit : 0);
        if (bits != 0 && lane == 0) {
            atomicOr(p.status, bits);
        }
    }
}

// The words of one group of eight tokens that a lane reads: word w of each token's row (token `last`
// repeated past the group's end, as head_token_stats does).
__device__ __forceinline__ void mixkv_load_group_words(uint2 (&out)[MIXKV_TOKEN_STATS_PER_WARP], const uint2* words, long long row_words, int w, int last)
{
MIXKV_UNROLL
    for (int j = 0; j < MIXKV_TOKEN_STATS_PER_WARP; ++j) {
        out[j] = words[(j < last ? j : last) * row_words + w];
    }
}

// Adds the squares of the words' elements to the eight tokens' sums and their non-finite bits to `bad`.
template <typename T>
__device__ __forceinline__ void mixkv_add_group_squares(float (&squares)[MIXKV_TOKEN_STATS_PER_WARP], unsigned& bad, const uint2 (&words)[MIXKV_TOKEN_STATS_PER_WARP])
{
    constexpr int per_word = 8 / static_cast<int>(sizeof(T));
MIXKV_UNROLL
    for (int j = 0; j < MIXKV_TOKEN_STATS_PER_WARP; ++j) {
        bad |= mixkv_nonfinite_bits<T>(words[j].x) | mixkv_nonfinite_bits<T>(words[j].y);
        float v[per_word];
        mixkv_unpack_word(words[j], v, T());
MIXKV_UNROLL
        for (int e = 0; e < per_word; ++e) {
            squares[j] += v[e] * v[e];
        }
    }
}

// ||V[n]|| of a group's eight tokens from the lanes' sums (every lane calls it; lane l writes token
// (l >> 2) & 7), and the sums cleared for the next group.
__device__ __forceinline__ void mixkv_store_value_norms(const HeadTokenStatsParams& p, int head, int first, float (&squares)[MIXKV_TOKEN_STATS_PER_WARP])
{
    const int lane = threadIdx.x % MIXKV_WARP;
    const float total = mixkv_warp_reduce_scatter8(squares);
    const int n = first + ((lane >> 2) & 7);
    if (lane % 4 == 0 && n < p.prefix) {
        p.value_norm[static_cast<long long>(head) * p.prefix + n] = sqrtf(total);
    }
MIXKV_UNROLL
    for (int j = 0; j < MIXKV_TOKEN_STATS_PER_WARP; ++j) {
        squares[j] = 0.0f;
    }
}

// head_token_stats' work on V alone, for the layers whose window run kernels (window_run.cu) take the
// K statistics from their tiles: ||V[n]|| for the P prefix tokens and, with a status word, every
// element of V checked finite (rows = N). Each warp takes groups of eight tokens, grid-strided over
// blockIdx.x (HeadStats.ValueGroupsPerWarp of them at the launch's grid): a group's words are loaded
// first, their eight sums reduced at once (lane l ends with token (l >> 2) & 7), in the order
// head_token_stats adds them; the next group's words are loaded before this group's sums (with one group
// per warp, the loads waited alone: ncu on an H200 put 77 % of stalls on them, at 39 % of the copy
// rate). Rows of at most 32 words, a word per lane: D <= 128 (HeadStats.EnqueueValues checks it).
template <typename T>
__global__ void head_value_stats(const HeadTokenStatsParams p)
{
    MIXKV_GRID_DEPENDENCY();
    const int lane = threadIdx.x % MIXKV_WARP, head = blockIdx.y;
    const int rows = p.status ? p.tokens : p.prefix;
    const int stride = gridDim.x * (blockDim.x / MIXKV_WARP);  // groups
    int group = blockIdx.x * (blockDim.x / MIXKV_WARP) + threadIdx.x / MIXKV_WARP;
    const T* values = static_cast<const T*>(p.values) + head * p.value_head_stride;
    float squares[MIXKV_TOKEN_STATS_PER_WARP] = {};
    unsigned bad = 0u;
    auto last_of = [rows](int first) { return first + MIXKV_TOKEN_STATS_PER_WARP <= rows ? MIXKV_TOKEN_STATS_PER_WARP - 1 : rows - 1 - first; };
    constexpr int per_word = 8 / static_cast<int>(sizeof(T));
    const int row_word_count = p.head_dim / per_word;
    if (mixkv_rows_in_words(values, p.value_token_stride, p.head_dim)) {
        const long long row_words = p.value_token_stride / per_word;
        const uint2* words = reinterpret_cast<const uint2*>(values);
        const bool has_word = lane < row_word_count;  // lanes without one add zero words
        uint2 current[MIXKV_TOKEN_STATS_PER_WARP] = {};
        if (has_word && MIXKV_TOKEN_STATS_PER_WARP * group < rows) {
            mixkv_load_group_words(current, words + MIXKV_TOKEN_STATS_PER_WARP * group * row_words, row_words, lane, last_of(MIXKV_TOKEN_STATS_PER_WARP * group));
        }
        for (; MIXKV_TOKEN_STATS_PER_WARP * group < rows; group += stride) {  // the same trips for the whole warp
            const int next_first = MIXKV_TOKEN_STATS_PER_WARP * (group + stride);
            uint2 next[MIXKV_TOKEN_STATS_PER_WARP] = {};
            if (has_word && next_first < rows) {
                mixkv_load_group_words(next, words + next_first * row_words, row_words, lane, last_of(next_first));
            }
            mixkv_add_group_squares<T>(squares, bad, current);
            mixkv_store_value_norms(p, head, MIXKV_TOKEN_STATS_PER_WARP * group, squares);
MIXKV_UNROLL
            for (int j = 0; j < MIXKV_TOKEN_STATS_PER_WARP; ++j) {
                current[j] = next[j];
            }
        }
    } else {
        for (; MIXKV_TOKEN_STATS_PER_WARP * group < rows; group += stride) {
            const int first = MIXKV_TOKEN_STATS_PER_WARP * group, last = last_of(first);
            for (int i = lane; i < p.head_dim; i += MIXKV_WARP) {
MIXKV_UNROLL
                for (int j = 0; j < MIXKV_TOKEN_STATS_PER_WARP; ++j) {
                    const T value = values[(first + (j < last ? j : last)) * p.value_token_stride + i];
                    bad |= mixkv_is_finite(value) ? 0u : 1u;
                    const float v = mixkv_to_float(value);
                    squares[j] += v * v;
                }
            }
            mixkv_store_value_norms(p, head, first, squares);
        }
    }
    if (p.status && __any_sync(MIXKV_FULL_MASK, bad != 0u) && lane == 0) {
        atomicOr(p.status, p.value_bit);
    }
}

MIXKV_KERNEL_INSTANCE("head_key_partials<float>", head_key_partials<float>, HeadKeyPartialsParams)
MIXKV_KERNEL_INSTANCE("head_key_partials<mixkv_f16>", head_key_partials<mixkv_f16>, HeadKeyPartialsParams)
MIXKV_KERNEL_INSTANCE("head_key_partials<mixkv_bf16>", head_key_partials<mixkv_bf16>, HeadKeyPartialsParams)
MIXKV_KERNEL_INSTANCE("head_key_mean", head_key_mean, HeadKeyMeanParams)
MIXKV_KERNEL_INSTANCE("head_token_stats<float>", head_token_stats<float>, HeadTokenStatsParams)
MIXKV_KERNEL_INSTANCE("head_token_stats<mixkv_f16>", head_token_stats<mixkv_f16>, HeadTokenStatsParams)
MIXKV_KERNEL_INSTANCE("head_token_stats<mixkv_bf16>", head_token_stats<mixkv_bf16>, HeadTokenStatsParams)
MIXKV_KERNEL_INSTANCE("head_value_stats<mixkv_f16>", head_value_stats<mixkv_f16>, HeadTokenStatsParams)
MIXKV_KERNEL_INSTANCE("head_value_stats<mixkv_bf16>", head_value_stats<mixkv_bf16>, HeadTokenStatsParams)
