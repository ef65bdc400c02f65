// Windowed attention importance (spec section 2) by key tiles: on tensor cores for fp16/bf16 caches
// with D a multiple of 16, on CUDA cores (FMA, same fragment layout) for fp32 caches; D at most 128.
// Same outputs as window_row_stats + window_mass (row_max, row_sum [Hq, W] and raw [Hkv, P]), but a
// block multiplies one tile of 64 keys, staged once in shared memory, with all G·W window rows of
// its KV head (mma.sync, common/mma.cuh, or FMAs), instead of every thread reading its key row
// once per window row (window_scores.cu took 17 ms a kernel for fp32 on an H100 at N = 32768):
//   window_tile_stats   grid (ceil(N/64), Hkv), 128 threads: each row's causal max and Σ exp over
//                       the tile, written per (row, tile); and, from the same staged keys, the
//                       chunk's Σ of unit keys that head_key_partials would write (so K is read
//                       once less).
//   window_stats_merge  grid (ceil(Hq·W/8)), 256 threads: a warp per row merges its tiles (lanes
//                       over tiles, then butterflies; a thread per row walking its tiles alone
//                       took 210 us on an H100 at N = 32768).
//   window_tile_mass    grid (ceil(P/64), Hkv), 128 threads: the logits again, p = exp(l - m) / s,
//                       then one thread per key sums the rows in row order (the mean over the
//                       window, then GQA mean or max), as window_mass does: no float atomics.
// Warp w of a block takes row tiles w, w+4, ... (16 rows each; rows past G·W are zero). The
// scale 1/sqrt(D) multiplies the fp32 product, so the 16-bit operands go in unrounded.
#include "common/portability.cuh"
#include "common/dtype.cuh"
#include "common/mma.cuh"
#include "common/ldmatrix.cuh"
#include "common/reduce.cuh"
#include "common/key_stats.cuh"
#include "common/window_mass_params.cuh"
#include "common/window_tile_params.cuh"
#include "common/window_stats_merge.cuh"
#include "common/dot.cuh"
#include "common/key_tile.cuh"

// The logits of row tile `row_tile` (16 rows of the head's G·W) against the 64 keys of the tile,
// unscaled: acc[c][0..1] are row 16·row_tile + group, acc[c][2..3] row 16·row_tile + group + 8, at
// key columns 8·c + 2·pair + {0, 1} (lane = 4·group + pair).
template <typename T>
__device__ __forceinline__ void mixkv_tile_logits(float acc[8][4], const unsigned short* tile, const T* queries, long long query_head_stride,
                                                  long long query_token_stride, int kv_head, int row_tile, int rows, int window, int groups, int dim)
{
    const T *q0, *q1;
    mixkv_lane_rows(queries, query_head_stride, query_token_stride, kv_head, row_tile, rows, window, groups, &q0, &q1);
    const bool word_rows = mixkv_word_rows(queries, query_head_stride, query_token_stride);
MIXKV_UNROLL
    for (int c = 0; c < 8; ++c) {
        acc[c][0] = acc[c][1] = acc[c][2] = acc[c][3] = 0.0f;
    }
    const mixkv_shared_row lane_keys = mixkv_lane_keys(tile, dim);
    for (int k = 0; k < dim; k += 16) {
        unsigned a[4];
        mixkv_row_fragment(a, q0, q1, k, word_rows);
        mixkv_tile_step<T>(acc, a, lane_keys, k, dim);
    }
}

// The fp32 form on CUDA cores, in the same fragment layout (the rest of the kernels cannot tell):
// each lane forms its 32 logits (rows group and group + 8, key columns 8·c + 2·pair + {0, 1}) with
// fmaf per dimension in dimension order, by blocks of 16 as window_scores.cu's mixkv_dot, the
// window rows read from global memory (L1), the keys from the tile.
__device__ __forceinline__ void mixkv_tile_logits(float acc[8][4], const float* tile, const float* queries, long long query_head_stride,
                                                  long long query_token_stride, int kv_head, int row_tile, int rows, int window, int groups, int dim)
{
    const int pair = threadIdx.x % 4;
    const float *q0, *q1;
    mixkv_lane_rows(queries, query_head_stride, query_token_stride, kv_head, row_tile, rows, window, groups, &q0, &q1);
    const int pitch = dim + 1;
MIXKV_UNROLL
    for (int c = 0; c < 8; ++c) {
        acc[c][0] = acc[c][1] = acc[c][2] = acc[c][3] = 0.0f;
    }
    // Blocks of MIXKV_DOT_BLOCK dimensions summed apart, then added up: mixkv_dot's arithmetic
    // (common/dot.cuh), lane by lane.
    for (int first = 0; first < dim; first += MIXKV_DOT_BLOCK) {
        const int end = first + MIXKV_DOT_BLOCK < dim ? first + MIXKV_DOT_BLOCK : dim;
        float block[8][4];
MIXKV_UNROLL
        for (int c = 0; c < 8; ++c) {
            block[c][0] = block[c][1] = block[c][2] = block[c][3] = 0.0f;
        }
        for (int d = first; d < end; ++d) {
            const float a0 = q0 ? q0[d] : 0.0f, a1 = q1 ? q1[d] : 0.0f;
MIXKV_UNROLL
            for (int c = 0; c < 8; ++c) {
                const float* key = tile + (8 * c + 2 * pair) * pitch + d;
                const float b0 = key[0], b1 = key[pitch];
                block[c][0] = fmaf(a0, b0, block[c][0]);
                block[c][1] = fmaf(a0, b1, block[c][1]);
                block[c][2] = fmaf(a1, b0, block[c][2]);
                block[c][3] = fmaf(a1, b1, block[c][3]);
            }
        }
MIXKV_UNROLL
        for (int c = 0; c < 8; ++c) {
            acc[c][0] += block[c][0];
            acc[c][1] += block[c][1];
            acc[c][2] += block[c][2];
            acc[c][3] += block[c][3];
        }
    }
}

template <typename T>
__global__ void __launch_bounds__(128, mixkv_tile_traits<T>::min_blocks) window_tile_stats(const WindowTileStatsParams p)
{
    MIXKV_GRID_DEPENDENCY();
    typedef typename mixkv_tile_traits<T>::element element;
    MIXKV_DYNAMIC_SHARED(unsigned short, staged);  // [64, pitch] keys (mixkv_tile_traits)
    element* tile = reinterpret_cast<element*>(staged);
    __shared__ float inverse_norm[MIXKV_TILE_NORM_FLOATS];
    const int tile_index = blockIdx.x, kv_head = blockIdx.y;
    const int first = tile_index * MIXKV_MMA_KEYS, rows = p.groups * p.window, prefix = p.tokens - p.window;
    mixkv_load_key_tile(tile, static_cast<const T*>(p.keys) + kv_head * p.key_head_stride, p.key_token_stride, first, p.tokens, p.head_dim);
    __syncthreads();
    if (p.key_partials) {
        const int count = p.tokens - first < MIXKV_MMA_KEYS ? p.tokens - first : MIXKV_MMA_KEYS;
        mixkv_tile_key_partials<T>(tile, mixkv_tile_traits<T>::layout(p.head_dim), count, p.head_dim, inverse_norm,
                                   p.key_partials + (static_cast<long long>(kv_head) * p.tiles + tile_index) * p.head_dim);
    }

    const int lane = threadIdx.x % MIXKV_WARP, warp = threadIdx.x / MIXKV_WARP, group = lane / 4, pair = lane % 4;
    for (int row_tile = warp; 16 * row_tile < rows; row_tile += MIXKV_MMA_WARPS) {
        float acc[8][4];
        mixkv_tile_logits(acc, tile, static_cast<const T*>(p.queries), p.query_head_stride, p.query_token_stride, kv_head, row_tile, rows, p.window, p.groups, p.head_dim);
        for (int half = 0; half < 2; ++half) {
            const int row = 16 * row_tile + group + 8 * half;
            // Causal: the row at position P + w sees keys 0..P+w (and none past N).
            const int visible = row < rows ? prefix + (row % p.window) + 1 : 0;
            float m = MIXKV_NEG_INF;
MIXKV_UNROLL
            for (int c = 0; c < 8; ++c) {
                for (int j = 0; j < 2; ++j) {
                    const int key = first + 8 * c + 2 * pair + j;
                    if (key < visible) {
                        m = fmaxf(m, acc[c][2 * half + j] * p.scale);
                    }
                }
            }
            m = fmaxf(m, __shfl_xor_sync(MIXKV_FULL_MASK, m, 1));
            m = fmaxf(m, __shfl_xor_sync(MIXKV_FULL_MASK, m, 2));
            float l = 0.0f;
MIXKV_UNROLL
            for (int c = 0; c < 8; ++c) {
                for (int j = 0; j < 2; ++j) {
                    const int key = first + 8 * c + 2 * pair + j;
                    if (key < visible) {
                        l += expf(acc[c][2 * half + j] * p.scale - m);
                    }
                }
            }
            l += __shfl_xor_sync(MIXKV_FULL_MASK, l, 1);
            l += __shfl_xor_sync(MIXKV_FULL_MASK, l, 2);
            if (pair == 0 && row < rows) {
                const long long at = (static_cast<long long>(kv_head) * rows + row) * p.tiles + tile_index;
                p.tile_max[at] = m;
                p.tile_sum[at] = l;
            }
        }
    }
}

__global__ void window_stats_merge(const WindowStatsMergeParams p)
{
    MIXKV_GRID_DEPENDENCY();
    mixkv_merge_row_statistics(p, blockIdx.x * (blockDim.x / MIXKV_WARP) + threadIdx.x / MIXKV_WARP);
}

template <typename T>
__global__ void __launch_bounds__(128, mixkv_tile_traits<T>::min_blocks) window_tile_mass(const WindowMassParams p)
{
    MIXKV_GRID_DEPENDENCY();
    typedef mixkv_tile_traits<T> traits;
    typedef typename traits::element element;
    MIXKV_DYNAMIC_SHARED(unsigned short, staged);  // [64, pitch] keys, then [probability_rows, 64 keys] fp32 probabilities, rows 72 apart
    element* tile = reinterpret_cast<element*>(staged);
    float* probabilities = reinterpret_cast<float*>(tile + MIXKV_MMA_KEYS * traits::pitch(p.head_dim));
    const int kv_head = blockIdx.y, first = blockIdx.x * MIXKV_MMA_KEYS, rows = p.groups * p.window;
    mixkv_load_key_tile(tile, static_cast<const T*>(p.keys) + kv_head * p.key_head_stride, p.key_token_stride, first, p.prefix, p.head_dim);
    __syncthreads();

    const int lane = threadIdx.x % MIXKV_WARP, warp = threadIdx.x / MIXKV_WARP, group = lane / 4, pair = lane % 4;
    // Thread `column` (< 64) owns key first + column: the running sum of the current query head's
    // window rows, folded into `reduced` when the rows move to the next query head.
    const int column = threadIdx.x;
    int current = 0;
    float running = 0.0f, reduced = p.gqa_max ? MIXKV_NEG_INF : 0.0f;
    // Each warp's 16 rows go to the probability buffer when their pass comes: one pass of all four
    // warps for 16-bit keys, two passes of two for fp32 (traits::probability_rows).
    const int writers = traits::probability_rows / 16;
    for (int base = 0; base < rows; base += 16 * MIXKV_MMA_WARPS) {
        const int row_tile = base / 16 + warp;
        float acc[8][4];
        if (16 * row_tile < rows) {
            mixkv_tile_logits(acc, tile, static_cast<const T*>(p.queries), p.query_head_stride, p.query_token_stride, kv_head, row_tile, rows, p.window, p.groups, p.head_dim);
        }
        for (int pass = 0; pass < MIXKV_MMA_WARPS / writers; ++pass) {
            const int pass_base = base + pass * traits::probability_rows;
            if (warp / writers == pass && 16 * row_tile < rows) {
                for (int half = 0; half < 2; ++half) {
                    const int row = 16 * row_tile + group + 8 * half;
                    const int q = kv_head * p.groups + (row < rows ? row / p.window : 0), w = row < rows ? row % p.window : 0;
                    const float m = row < rows ? p.row_max[q * p.window + w] : 0.0f, l = row < rows ? p.row_sum[q * p.window + w] : 1.0f;
                    float* out = probabilities + (16 * (warp % writers) + group + 8 * half) * MIXKV_MMA_PROBABILITY_PITCH + 2 * pair;
                    // One division per row, a multiply per key (an IEEE division is a dozen instructions).
                    const float inverse = row < rows ? 1.0f / l : 0.0f;
MIXKV_UNROLL
                    for (int c = 0; c < 8; ++c) {
                        const float p0 = row < rows ? expf(acc[c][2 * half] * p.scale - m) * inverse : 0.0f;
                        const float p1 = row < rows ? expf(acc[c][2 * half + 1] * p.scale - m) * inverse : 0.0f;
                        *reinterpret_cast<float2*>(out + 8 * c) = make_float2(p0, p1);
                    }
                }
            }
            __syncthreads();
            if (column < MIXKV_MMA_KEYS) {
                // Row by row in row order, a run of rows of one query head at a time: the head's
                // number is worked out once per run, not divided out of every row.
                const int limit = rows - pass_base < traits::probability_rows ? rows - pass_base : traits::probability_rows;
                for (int r = 0; r < limit;) {
                    const int g = (pass_base + r) / p.window;
                    if (g != current) {
                        const float mass = running / static_cast<float>(p.window);
                        reduced = p.gqa_max ? fmaxf(reduced, mass) : reduced + mass;
                        running = 0.0f;
                        current = g;
                    }
                    const int run_end = (g + 1) * p.window - pass_base < limit ? (g + 1) * p.window - pass_base : limit;
                    for (; r < run_end; ++r) {
                        running += probabilities[r * MIXKV_MMA_PROBABILITY_PITCH + column];
                    }
                }
            }
            __syncthreads();
        }
    }
    const int key = first + column;
    if (column < MIXKV_MMA_KEYS && key < p.prefix) {
        const float mass = running / static_cast<float>(p.window);
        reduced = p.gqa_max ? fmaxf(reduced, mass) : reduced + mass;
        p.raw[static_cast<long long>(kv_head) * p.prefix + key] = p.gqa_max ? reduced : reduced / static_cast<float>(p.groups);
    }
}

MIXKV_KERNEL_INSTANCE("window_tile_stats<float>", window_tile_stats<float>, WindowTileStatsParams)
MIXKV_KERNEL_INSTANCE("window_tile_stats<mixkv_f16>", window_tile_stats<mixkv_f16>, WindowTileStatsParams)
MIXKV_KERNEL_INSTANCE("window_tile_stats<mixkv_bf16>", window_tile_stats<mixkv_bf16>, WindowTileStatsParams)
MIXKV_KERNEL_INSTANCE("window_stats_merge", window_stats_merge, WindowStatsMergeParams)
MIXKV_KERNEL_INSTANCE("window_tile_mass<float>", window_tile_mass<float>, WindowMassParams)
MIXKV_KERNEL_INSTANCE("window_tile_mass<mixkv_f16>", window_tile_mass<mixkv_f16>, WindowMassParams)
MIXKV_KERNEL_INSTANCE("window_tile_mass<mixkv_bf16>", window_tile_mass<mixkv_bf16>, WindowMassParams)
