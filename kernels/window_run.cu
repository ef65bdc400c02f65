// Windowed attention importance (spec section 2) on tensor cores for the common 16-bit layer: G·W at
// most 128 window rows, W at least 8, D a multiple of 16 up to 128. Same outputs as window_mma.cu's
// window_tile_stats and window_tile_mass (the chunks' unit-key partials, raw [Hkv, P]; the causal
// max and Σ exp per run of tiles instead of per tile, merged by window_stats_merge alike), but a
// block takes a run of key tiles instead of one:
//   - warp w owns window rows 16w..16w+15 for the whole run, as mma A fragments in registers,
//     loaded once per block (the tile kernels load them from global memory for every tile; on an
//     H100, ncu's issue rate times their time came to about 6500 instructions per warp per tile,
//     at 15 % of the memory floor). Staged in shared memory instead (72 registers, three blocks per
//     SM on sm_90) window_run_stats kept its time on an H200 (bench/results/h200-2026-11-26.md), and
//     its ~70 KB blocks fit only two per SM on sm_80 and one on sm_86/89;
//   - key tile t + 1 is staged with cp.async while tile t is multiplied (two buffers);
//   - exp(x·s - m) is 2^(x·s·log2e - m·log2e), one FMA and the hardware's ex2 (common/exp2.cuh);
//   - masks only in the tiles that reach the window (every prefix key is visible to every row).
//   window_run_stats  grid (ceil(tiles / run), Hkv), 32·ceil(G·W/16) threads: each row's max and
//                     Σ exp over the run, each lane's columns merged tile by tile in registers, the
//                     row's four lanes joined at the end and written once (per tile, the scattered
//                     4-byte stores were half of its memory sectors).
//   window_run_mass   grid (ceil(ceil(P/64) / run), Hkv), same threads: each warp sums its rows'
//                     probabilities per query head with a reduce-scatter butterfly (16 rows meet at
//                     most three heads when W >= 8, one when W is a multiple of 16), then four lanes
//                     per key add each head's sums in row-tile order and reduce over the group (mean
//                     or max), one tile behind (after the next tile's barrier). No float atomics.
//   window_merge_key_mean  between the two when they take the K statistics: window_stats_merge's rows
//                     and head_key_mean's μ in one launch.
// Given the outputs, the two also take the key statistics that need K (spec section 3) from the tiles
// they stage, so head_token_stats reads only V and K is read twice in all: window_run_stats the norms
// ||K[n]|| and K's finite check (beside the chunk partials of μ), window_run_mass s[n] = k̂_n·μ once
// head_key_mean has μ (on the tensor cores, μ as one more pair of A rows: mixkv_mean_products).
#include "common/portability.cuh"
#include "common/dtype.cuh"
#include "common/mma.cuh"
#include "common/ldmatrix.cuh"
#include "common/wgmma.cuh"
#include "common/reduce.cuh"
#include "common/key_stats.cuh"
#include "common/key_tile.cuh"
#include "common/async_copy.cuh"
#include "common/exp2.cuh"
#include "common/window_mass_params.cuh"
#include "common/window_tile_params.cuh"
#include "common/window_stats_merge.cuh"
#include "common/key_mean.cuh"

#define MIXKV_RUN_MAX_WARPS 8   // G·W <= 128 rows: one 16-row tile per warp
#define MIXKV_RUN_SEGMENTS 3    // query heads 16 consecutive rows can meet when W >= 8
#define MIXKV_RUN_MAX_GROUPS 16 // G = G·W / W <= 128 / 8

// The A fragments of row tile `row_tile` for every k step (16 dimensions each; steps past D are
// zero and never used), as mixkv_tile_logits loads them one step at a time.
template <typename T>
__device__ __forceinline__ void mixkv_load_row_fragments(unsigned a[8][4], const T* queries, long long query_head_stride, long long query_token_stride,
                                                         int kv_head, int row_tile, int rows, int window, int groups, int dim)
{
    const T *q0, *q1;
    mixkv_lane_rows(queries, query_head_stride, query_token_stride, kv_head, row_tile, rows, window, groups, &q0, &q1);
    const bool word_rows = mixkv_word_rows(queries, query_head_stride, query_token_stride);
MIXKV_UNROLL
    for (int step = 0; step < 8; ++step) {
        if (16 * step < dim) {
            mixkv_row_fragment(a[step], q0, q1, 16 * step, word_rows);
        } else {
            a[step][0] = a[step][1] = a[step][2] = a[step][3] = 0u;
        }
    }
}

// The unscaled logits of the warp's 16 rows against the tile's 64 keys, in mixkv_tile_logits'
// layout: acc[c][0..1] row group, acc[c][2..3] row group + 8, key columns 8·c + 2·pair + {0, 1}.
// D = 128, the common head size, has its own copy with every offset a constant: no test per k step
// and every row offset an immediate of the load. There the next step's B fragments are loaded
// before this step's products: loaded one ldmatrix before its two products, as ptxas kept them
// (the source order, one register quad), each load's latency stood between two pairs of products,
// 32 times per tile.
template <typename T>
__device__ __forceinline__ void mixkv_run_logits(float acc[8][4], const unsigned a[8][4], const unsigned short* tile, int dim)
{
MIXKV_UNROLL
    for (int c = 0; c < 8; ++c) {
        acc[c][0] = acc[c][1] = acc[c][2] = acc[c][3] = 0.0f;
    }
    if (dim == 8 * 16) {
        const mixkv_shared_row lane_keys = mixkv_lane_keys(tile, 8 * 16);
        unsigned b[2][4][4];  // step s's fragments in b[s % 2]
        mixkv_load_step_keys(b[0], lane_keys, 0, 8 * 16);
MIXKV_UNROLL
        for (int step = 0; step < 8; ++step) {
            if (step + 1 < 8) {
                mixkv_load_step_keys(b[(step + 1) % 2], lane_keys, 16 * (step + 1), 8 * 16);
            }
            mixkv_multiply_step<T>(acc, a[step], b[step % 2]);
        }
        return;
    }
    const mixkv_shared_row lane_keys = mixkv_lane_keys(tile, dim);
MIXKV_UNROLL
    for (int step = 0; step < 8; ++step) {
        if (16 * step < dim) {
            mixkv_tile_step<T>(acc, a[step], lane_keys, 16 * step, dim);
        }
    }
}

// μ·k of the tile's 64 keys on the tensor cores. μ is held as two 16-bit rows, hi = T(μ) and
// lo = T(μ - hi) (together ~2^-18 of μ in bf16), which become rows 0 and 8 of an A operand whose other
// rows are zero; against the tile's B fragments, row 0 + row 8 of the product is μ·k in fp32. Warp w
// takes the k steps w, w + warps, ... and leaves each step's sums in partials[step][64]; the column
// pass adds the steps in order. On the CUDA cores this was ~130 instructions per thread per tile;
// here about 45 per warp.
template <typename T, typename Layout>
__device__ __forceinline__ void mixkv_mean_products(const unsigned short* tile, Layout layout, int dim, const unsigned short* hi, const unsigned short* lo, float* partials)
{
    const int lane = threadIdx.x % MIXKV_WARP, group = lane / 4, pair = lane % 4;
    const mixkv_shared_row lane_keys = mixkv_lane_keys(tile, layout);
    for (int step = threadIdx.x / MIXKV_WARP; 16 * step < dim; step += blockDim.x / MIXKV_WARP) {
        unsigned a[4];
        mixkv_split_rows_fragment(a, hi, lo, 16 * step);
        const float zero[4] = {0.0f, 0.0f, 0.0f, 0.0f};
MIXKV_UNROLL
        for (int c = 0; c < 8; c += 2) {
            unsigned b[4];
            mixkv_load_matrices_x4(b, mixkv_shared_row_plus(lane_keys, layout.at(8 * c, 16 * step)));
            float d0[4], d1[4];
            mixkv_mma_m16n8k16<T>(d0, a, b, zero);
            mixkv_mma_m16n8k16<T>(d1, a, b + 2, zero);
            if (group == 0) {
                float* row = partials + step * MIXKV_MMA_KEYS + 8 * c + 2 * pair;  // 8-byte aligned
                *reinterpret_cast<float2*>(row) = make_float2(d0[0] + d0[2], d0[1] + d0[3]);
                *reinterpret_cast<float2*>(row + 8) = make_float2(d1[0] + d1[2], d1[1] + d1[3]);
            }
        }
    }
}

// Whether the block's key rows can be staged with cp.async (16-byte aligned starts).
template <typename T>
__device__ __forceinline__ bool mixkv_async_rows(const T* keys, long long token_stride)
{
    return reinterpret_cast<unsigned long long>(keys) % 16 == 0 && (token_stride * static_cast<long long>(sizeof(T))) % 16 == 0;
}

// A block's run of key tiles [begin, end) of one head, staged in two buffers: tile t + 1's copies
// are in flight while tile t is multiplied. Keys at or past `end_key` stage as zeros.
template <typename T>
struct mixkv_key_run {
    unsigned short* staged;    // two tiles [64, D + 8]
    const T* keys;
    long long token_stride;
    int begin, end, end_key, dim;
    bool async_rows;
    // This thread's 16-byte copies of every tile: word `copy_word` of keys copy_key, copy_key +
    // copy_step, ... (the same for every tile, so the division is done once per block: per copy it
    // was most of the ~60 instructions that made the staging 15 % of window_run_stats' on an H100).
    int copy_key, copy_word, copy_step;
    mixkv_shared_row copy_to;  // this thread's first copy in the first slot

    __device__ __forceinline__ unsigned short* slot(int t) const { return staged + ((t - begin) & 1) * MIXKV_MMA_KEYS * (dim + MIXKV_MMA_PAD); }

    // Keys [64t, 64t + 64) into slot(t), rows D + 8 apart: cp.async when every row starts on 16
    // bytes (the same answer for the whole block), else the synchronous loads of the tile kernels.
    __device__ __forceinline__ void stage(int t) const
    {
        unsigned short* tile = slot(t);
        const int first = t * MIXKV_MMA_KEYS, pitch = dim + MIXKV_MMA_PAD;
        if (!async_rows) {
            mixkv_load_key_tile(tile, keys, token_stride, first, end_key, dim);
            return;
        }
        // Rows are whole 16-byte words here: the token stride and the pitch are multiples of 8 values.
        const T* from_row = keys + (first + copy_key) * token_stride + 8 * copy_word;
        if (first + MIXKV_MMA_KEYS <= end_key) {
            // Every key of the tile exists (all but a head's last tile): no test per copy. With the
            // test and its zero store, each copy took ~20 instructions, 8 % of window_run_stats'
            // executed ones and 16 % of window_run_mass' on an H200.
            const mixkv_shared_row to_row = mixkv_shared_row_plus(copy_to, ((t - begin) & 1) * MIXKV_MMA_KEYS * pitch);
            if (4 * copy_step == MIXKV_MMA_KEYS) {
                // Four copies per thread (256 threads at D = 128), unrolled: as a loop, with 64-bit
                // pointer steps and a test per copy, the staging was 13 % of window_run_stats'
                // executed instructions on an H100. No thread idles here: blockDim / (D / 8) = 16,
                // and as both blockDim and 16·(D / 8) are multiples of 32, blockDim = 16·(D / 8).
MIXKV_UNROLL
                for (int i = 0; i < 4; ++i) {
                    mixkv_copy_16_async_to(mixkv_shared_row_plus(to_row, i * copy_step * pitch), from_row + i * copy_step * token_stride);
                }
                return;
            }
            for (int key = copy_key; key < MIXKV_MMA_KEYS; key += copy_step) {
                mixkv_copy_16_async_to(mixkv_shared_row_plus(to_row, (key - copy_key) * pitch), from_row + (key - copy_key) * token_stride);
            }
            return;
        }
        uint4* to = reinterpret_cast<uint4*>(tile + copy_key * pitch) + copy_word;
        const uint4* from = reinterpret_cast<const uint4*>(from_row);
        const int to_step = copy_step * pitch / 8;
        const long long from_step = copy_step * token_stride / 8;
        for (int key = copy_key; key < MIXKV_MMA_KEYS; key += copy_step, to += to_step, from += from_step) {
            if (first + key < end_key) {
                mixkv_copy_16_async(to, from);
            } else {
                *to = make_uint4(0u, 0u, 0u, 0u);
            }
        }
    }

    // Returns tile t once every thread's copies of it have landed, and issues tile t + 1 (if any)
    // into the other slot. Issued after the barrier, where every thread is done with tile t - 1,
    // whose slot t + 1 takes, the copies need no barrier at the end of each tile (one of the three
    // per tile of window_run_stats and of window_run_mass; ncu put 12-28 % of their stall samples
    // at barriers).
    __device__ __forceinline__ const unsigned short* next(int t) const
    {
        mixkv_async_wait<0>();  // this thread's copies of tile t have landed
        __syncthreads();        // and everyone else's; everyone has left tile t - 1
        if (t + 1 < end) {
            stage(t + 1);
        }
        mixkv_async_commit();
        return slot(t);
    }
};

// The fields every staging of a run has (mixkv_key_run, mixkv_core_key_run): block blockIdx.x's run
// over `tiles` tiles of head blockIdx.y.
template <typename Run>
__device__ __forceinline__ void mixkv_place_run(Run& r, unsigned short* staged, const void* keys, long long head_stride, long long token_stride, int run, int tiles, int end_key)
{
    r.staged = staged;
    r.keys = static_cast<decltype(r.keys)>(keys) + blockIdx.y * head_stride;
    r.token_stride = token_stride;
    r.begin = blockIdx.x * run;
    r.end = r.begin + run < tiles ? r.begin + run : tiles;
    r.end_key = end_key;
    r.async_rows = mixkv_async_rows(r.keys, token_stride);
}

// The run of block blockIdx.x over `tiles` tiles of head blockIdx.y, its first tile's copies issued.
template <typename T>
__device__ __forceinline__ mixkv_key_run<T> mixkv_begin_key_run(unsigned short* staged, const void* keys, long long head_stride, long long token_stride, int run, int tiles, int end_key, int dim)
{
    mixkv_key_run<T> r;
    mixkv_place_run(r, staged, keys, head_stride, token_stride, run, tiles, end_key);
    r.dim = dim;
    const int words = dim / 8;  // 16-byte words per key row (D is a multiple of 16)
    r.copy_step = blockDim.x / words;
    r.copy_key = static_cast<int>(threadIdx.x) / words < r.copy_step ? static_cast<int>(threadIdx.x) / words : MIXKV_MMA_KEYS;
    r.copy_word = threadIdx.x % words;
    r.copy_to = mixkv_shared_row_of(staged + (r.copy_key < MIXKV_MMA_KEYS ? r.copy_key : 0) * (dim + MIXKV_MMA_PAD) + 8 * r.copy_word);
    r.stage(r.begin);
    mixkv_async_commit();
    return r;
}

#if MIXKV_WGMMA
// A block's run of key tiles staged in common/wgmma.cuh's core layout (D = 128, 256 threads), in two
// buffers as mixkv_key_run stages them. Thread (warp w, lane l) copies key l % 8 + 8w of every tile,
// its 16-byte words l / 8, l / 8 + 4, l / 8 + 8 and l / 8 + 12: one copy of a warp then writes four
// core matrices, 128 contiguous bytes each (no bank conflict), and reads 64 contiguous bytes of each
// of eight key rows. Keys at or past `end_key` stage as zeros.
template <typename T>
struct mixkv_core_key_run {
    static constexpr int tile_values = MIXKV_MMA_KEYS * 8 * 16;
    unsigned short* staged;    // two tiles [64, 128], core layout
    const T* keys;
    long long token_stride;
    int begin, end, end_key;
    bool async_rows;
    int copy_key, copy_word;   // the thread's key of every tile and its first word
    mixkv_shared_row copy_to;  // its first copy in the first slot

    __device__ __forceinline__ unsigned short* slot(int t) const { return staged + ((t - begin) & 1) * tile_values; }

    // The thread's four words of tile t: cp.async when the rows start on 16 bytes (the same answer for
    // the whole block), else 16-bit loads stored as words.
    __device__ __forceinline__ void stage(int t) const
    {
        const T* from = keys + (t * MIXKV_MMA_KEYS + copy_key) * token_stride + 8 * copy_word;
        const bool present = t * MIXKV_MMA_KEYS + copy_key < end_key;
        if (async_rows && present) {
            const mixkv_shared_row to = mixkv_shared_row_plus(copy_to, ((t - begin) & 1) * tile_values);
MIXKV_UNROLL
            for (int j = 0; j < 4; ++j) {  // word copy_word + 4j: 32 values on, whole pieces
                mixkv_copy_16_async_to(mixkv_shared_row_plus(to, mixkv_core_offset(0, 32 * j, MIXKV_MMA_KEYS)), from + 32 * j);
            }
            return;
        }
        unsigned short* tile = slot(t);
MIXKV_UNROLL
        for (int j = 0; j < 4; ++j) {
            unsigned pairs[4];
MIXKV_UNROLL
            for (int i = 0; i < 4; ++i) {
                pairs[i] = present ? mixkv_pack_pair(from[32 * j + 2 * i].bits, from[32 * j + 2 * i + 1].bits) : 0u;
            }
            *reinterpret_cast<uint4*>(tile + mixkv_core_offset(copy_key, 8 * copy_word + 32 * j, MIXKV_MMA_KEYS)) = make_uint4(pairs[0], pairs[1], pairs[2], pairs[3]);
        }
    }

    // mixkv_key_run::next, with the tile's copies and stores made visible to wgmma (the async proxy)
    // before the barrier that publishes them.
    __device__ __forceinline__ const unsigned short* next(int t) const
    {
        mixkv_async_wait<0>();
        mixkv_shared_to_wgmma();
        __syncthreads();
        if (t + 1 < end) {
            stage(t + 1);
        }
        mixkv_async_commit();
        return slot(t);
    }
};

template <typename T>
__device__ __forceinline__ mixkv_core_key_run<T> mixkv_begin_core_key_run(unsigned short* staged, const void* keys, long long head_stride, long long token_stride, int run, int tiles,
                                                                           int end_key)
{
    mixkv_core_key_run<T> r;
    mixkv_place_run(r, staged, keys, head_stride, token_stride, run, tiles, end_key);
    const int lane = threadIdx.x % MIXKV_WARP;
    r.copy_key = lane % 8 + 8 * static_cast<int>(threadIdx.x / MIXKV_WARP);
    r.copy_word = lane / 8;
    r.copy_to = mixkv_shared_row_of(staged + mixkv_core_offset(r.copy_key, 8 * r.copy_word, MIXKV_MMA_KEYS));
    r.stage(r.begin);
    mixkv_async_commit();
    return r;
}
#endif

// How the run kernels stage and multiply a tile, as a policy of mixkv_run_stats and mixkv_run_mass:
//   mixkv_mma_tiles    rows D + 8 apart (mixkv_key_run); each warp loads the B fragments of its
//                      products with ldmatrix and multiplies with mma.sync, all in finish()
//   mixkv_wgmma_tiles  (sm_90a: D = 128, 256 threads) the core layout (mixkv_core_key_run); start()
//                      issues both warpgroups' products, which run while the block takes the tile's key
//                      statistics, and finish() waits for them. A warp's 16 rows are rows 16(w % 4)..
//                      of its warpgroup's 64, so the A fragments and accumulators are mma.sync's.
template <typename T>
struct mixkv_mma_tiles {
    typedef mixkv_key_run<T> run_type;
    static __device__ __forceinline__ run_type begin(unsigned short* staged, const void* keys, long long head_stride, long long token_stride, int run, int tiles, int end_key,
                                                     int dim)
    {
        return mixkv_begin_key_run<T>(staged, keys, head_stride, token_stride, run, tiles, end_key, dim);
    }
    static __device__ __forceinline__ mixkv_row_tile layout(int dim) { return {dim + MIXKV_MMA_PAD}; }
    static __device__ __forceinline__ void start(float (&)[8][4], const unsigned (&)[8][4], const unsigned short*, int) {}
    static __device__ __forceinline__ void finish(float (&acc)[8][4], const unsigned (&a)[8][4], const unsigned short* tile, int dim) { mixkv_run_logits<T>(acc, a, tile, dim); }
};

#if MIXKV_WGMMA
template <typename T>
struct mixkv_wgmma_tiles {
    typedef mixkv_core_key_run<T> run_type;
    static __device__ __forceinline__ run_type begin(unsigned short* staged, const void* keys, long long head_stride, long long token_stride, int run, int tiles, int end_key, int)
    {
        return mixkv_begin_core_key_run<T>(staged, keys, head_stride, token_stride, run, tiles, end_key);
    }
    static __device__ __forceinline__ mixkv_core_tile layout(int) { return {}; }
    // The first product ignores acc's old values (scale-d off): nothing to clear.
    static __device__ __forceinline__ void start(float (&acc)[8][4], const unsigned (&a)[8][4], const unsigned short* tile, int)
    {
        mixkv_wgmma_hold(acc);
        mixkv_wgmma_fence();
        const mixkv_shared_row keys = mixkv_shared_row_of(tile);
MIXKV_UNROLL
        for (int step = 0; step < 8; ++step) {
            mixkv_wgmma_m64n64k16<T>(acc, a[step], mixkv_wgmma_tile(keys, MIXKV_MMA_KEYS, step), step > 0);
        }
        mixkv_wgmma_commit();
    }
    static __device__ __forceinline__ void finish(float (&acc)[8][4], const unsigned (&)[8][4], const unsigned short*, int) { mixkv_wgmma_wait<0>(acc); }
};
#endif

// The tile's 64 logits of the lane's two rows (acc, in mixkv_run_logits' layout: the lane holds 16
// columns of each) merged into the lane's running (run_max, run_sum) of those rows: run_max in logit
// units, run_sum = Σ 2^((x - run_max)·s·log2e) over the lane's columns so far. The four lanes of a
// row join once per run (mixkv_join_lane_statistics), not once per tile: joined per tile, each tile
// took eight dependent shuffles and two more exponentials per lane. Row P + w sees keys 0..P+w
// (`visible`: keys before it).
__device__ __forceinline__ void mixkv_merge_tile_statistics(float acc[8][4], int first, int prefix, const int visible[2], float log2_scale, float run_max[2], float run_sum[2])
{
    const int pair = threadIdx.x % 4;
    // Row P + w sees keys 0..P+w: a tile that ends at or before P + 1 is visible to every row.
    // In the others a key a row cannot see gets the logit -inf, which the max passes over and
    // whose exponential is 0.
    if (first + MIXKV_MMA_KEYS > prefix + 1) {
MIXKV_UNROLL
        for (int c = 0; c < 8; ++c) {
MIXKV_UNROLL
            for (int i = 0; i < 4; ++i) {
                if (first + 8 * c + 2 * pair + i % 2 >= visible[i / 2]) {
                    acc[c][i] = MIXKV_NEG_INF;
                }
            }
        }
    }
    // Both rows at once and by halving trees, not one row then the other by running sums: the
    // compiler kept that order, so a row's statistics were two chains of 16 dependent operations
    // and the second row's waited for the first's.
MIXKV_UNROLL
    for (int half = 0; half < 2; ++half) {
        float v[16];
MIXKV_UNROLL
        for (int c = 0; c < 8; ++c) {
            v[2 * c] = acc[c][2 * half];
            v[2 * c + 1] = acc[c][2 * half + 1];
        }
        const float merged = fmaxf(run_max[half], mixkv_halving_reduce16(v, mixkv_fmax_op()));
        // The scale is positive, so the largest scaled logit is the largest logit scaled. A lane that
        // has seen no visible key of the row yet (max -inf) shifts by 0: its terms and its old sum's
        // factor are 2^-inf = 0, not NaN.
        const float shift = merged == MIXKV_NEG_INF ? 0.0f : merged * log2_scale;
MIXKV_UNROLL
        for (int c = 0; c < 8; ++c) {
            v[2 * c] = mixkv_exp2(fmaf(acc[c][2 * half], log2_scale, -shift));
            v[2 * c + 1] = mixkv_exp2(fmaf(acc[c][2 * half + 1], log2_scale, -shift));
        }
        run_sum[half] = fmaf(run_sum[half], mixkv_exp2(fmaf(run_max[half], log2_scale, -shift)), mixkv_halving_reduce16(v, mixkv_sum_op()));
        run_max[half] = merged;
    }
}

// The four lanes of each of the lane's two rows (lanes 4g..4g+3 hold its 64 columns) joined into the
// row's statistics over the run, in the natural-log units window_stats_merge reads: max = m·s, and Σ
// exp relative to it. Every lane of the warp calls it and gets its rows' answer; a row that saw no
// key of the run keeps (-inf, 0).
__device__ __forceinline__ void mixkv_join_lane_statistics(float scale, float run_max[2], float run_sum[2])
{
    const float log2_scale = scale * MIXKV_LOG2E;
    float row_max[2], sum[2];
MIXKV_UNROLL
    for (int half = 0; half < 2; ++half) {
        row_max[half] = run_max[half];
    }
MIXKV_UNROLL
    for (int offset = 1; offset <= 2; offset *= 2) {
MIXKV_UNROLL
        for (int half = 0; half < 2; ++half) {
            row_max[half] = fmaxf(row_max[half], __shfl_xor_sync(MIXKV_FULL_MASK, row_max[half], offset));
        }
    }
MIXKV_UNROLL
    for (int half = 0; half < 2; ++half) {
        const float shift = row_max[half] == MIXKV_NEG_INF ? 0.0f : row_max[half] * log2_scale;
        sum[half] = run_sum[half] * mixkv_exp2(fmaf(run_max[half], log2_scale, -shift));
    }
MIXKV_UNROLL
    for (int offset = 1; offset <= 2; offset *= 2) {
MIXKV_UNROLL
        for (int half = 0; half < 2; ++half) {
            sum[half] += __shfl_xor_sync(MIXKV_FULL_MASK, sum[half], offset);
        }
    }
MIXKV_UNROLL
    for (int half = 0; half < 2; ++half) {
        run_max[half] = row_max[half] * scale;
        run_sum[half] = sum[half];
    }
}

// window_run_stats' block at head size `dim`, staging and multiplying as `Tiles` says: the kernel
// passes D = 128 as a constant.
template <typename T, typename Tiles>
__device__ __forceinline__ void mixkv_run_stats(const WindowTileStatsParams& p, int dim, unsigned short* staged, float* inverse_norm)
{
    const int kv_head = blockIdx.y, rows = p.groups * p.window, prefix = p.tokens - p.window;
    const typename Tiles::run_type run = Tiles::begin(staged, p.keys, p.key_head_stride, p.key_token_stride, p.run, p.tiles, p.tokens, dim);

    const int lane = threadIdx.x % MIXKV_WARP, warp = threadIdx.x / MIXKV_WARP, group = lane / 4;
    unsigned a[8][4];
    mixkv_load_row_fragments(a, static_cast<const T*>(p.queries), p.query_head_stride, p.query_token_stride, kv_head, warp, rows, p.window, p.groups, dim);
    // The window rows' finite check (spec section 8), where they are held, in place of a check_finite
    // launch: every block of the head holds the same rows, so its first block answers for them.
    if (p.query_bit != 0 && p.status != nullptr && blockIdx.x == 0) {
        unsigned bad = 0u;
MIXKV_UNROLL
        for (int step = 0; step < 8; ++step) {
MIXKV_UNROLL
            for (int i = 0; i < 4; ++i) {
                bad |= mixkv_nonfinite_bits<T>(a[step][i]);  // steps past D hold zeros
            }
        }
        if (__any_sync(MIXKV_FULL_MASK, bad != 0u) && lane == 0) {
            atomicOr(p.status, p.query_bit);
        }
    }
    // Keys the lane's two rows see: row P + w sees keys 0..P+w (none past G·W). Worked out once: in
    // the tile loop the division by W cost ~25 instructions per row per tile.
    int visible[2];
MIXKV_UNROLL
    for (int half = 0; half < 2; ++half) {
        const int row = 16 * warp + group + 8 * half;
        visible[half] = row < rows ? prefix + (row % p.window) + 1 : 0;
    }
    // The lane's running statistics of its columns of its two rows (mixkv_merge_tile_statistics).
    const float log2_scale = p.scale * MIXKV_LOG2E;
    float run_max[2] = {MIXKV_NEG_INF, MIXKV_NEG_INF}, run_sum[2] = {0.0f, 0.0f};
    bool nonfinite_keys = false;
    for (int t = run.begin; t < run.end; ++t) {
        const unsigned short* tile = run.next(t);
        const int first = t * MIXKV_MMA_KEYS;
        float acc[8][4];
        Tiles::start(acc, a, tile, dim);
        if (p.key_partials) {
            const int count = p.tokens - first < MIXKV_MMA_KEYS ? p.tokens - first : MIXKV_MMA_KEYS;
            float* norms = p.key_norm != nullptr && first < prefix ? p.key_norm + static_cast<long long>(kv_head) * prefix + first : nullptr;
            nonfinite_keys |= mixkv_tile_key_partials<T>(tile, Tiles::layout(dim), count, dim, inverse_norm, p.key_partials + (static_cast<long long>(kv_head) * p.tiles + t) * dim,
                                                         norms, prefix - first);
        }
        Tiles::finish(acc, a, tile, dim);
        mixkv_merge_tile_statistics(acc, first, prefix, visible, log2_scale, run_max, run_sum);
    }
    mixkv_join_lane_statistics(p.scale, run_max, run_sum);
MIXKV_UNROLL
    for (int half = 0; half < 2; ++half) {
        const int row = 16 * warp + group + 8 * half;
        if (lane % 4 == 0 && row < rows) {
            const long long at = (static_cast<long long>(kv_head) * rows + row) * gridDim.x + blockIdx.x;
            p.tile_max[at] = run_max[half];
            p.tile_sum[at] = run_sum[half];
        }
    }
    if (p.status != nullptr && __any_sync(MIXKV_FULL_MASK, nonfinite_keys) && lane == 0) {
        atomicOr(p.status, p.key_bit);
    }
}

// D = 128, the common head size, runs a copy of the block with the dimension a constant, so the
// pitch, the copies per thread, the key statistics' steps and every row offset fold into their
// instructions: with D read at run time, the staging and the key statistics were 54 % of the
// kernel's executed instructions on an H100 (Nsight's source page, 2026-11-27), most of it address
// arithmetic; with it constant, 22 % fewer instructions and 70.8 -> 66.2 us at the issue's layer.
template <typename T>
__global__ void __launch_bounds__(32 * MIXKV_RUN_MAX_WARPS, 2) window_run_stats(const WindowTileStatsParams p)
{
    MIXKV_GRID_DEPENDENCY();
    MIXKV_DYNAMIC_SHARED(unsigned short, staged);  // two key tiles [64, D + 8]
    __shared__ float inverse_norm[MIXKV_TILE_NORM_FLOATS];
    if (p.head_dim == 8 * 16) {
        mixkv_run_stats<T, mixkv_mma_tiles<T>>(p, 8 * 16, staged, inverse_norm);
    } else {
        mixkv_run_stats<T, mixkv_mma_tiles<T>>(p, p.head_dim, staged, inverse_norm);
    }
}

// The key of window_run_mass' column pass that thread takes in `round`: four lanes per key, so a
// block covers blockDim / 4 keys of the tile per round.
__device__ __forceinline__ int mixkv_column_of(int round)
{
    return round * static_cast<int>(blockDim.x / 4) + static_cast<int>(threadIdx.x / 4);
}

// The four lanes of a key joined, (P0 + P1) + (P2 + P3) (or their max): every lane of the warp calls it.
__device__ __forceinline__ float mixkv_join_parts(float value, bool take_max)
{
MIXKV_UNROLL
    for (int offset = 1; offset <= 2; offset *= 2) {
        const float other = __shfl_xor_sync(MIXKV_FULL_MASK, value, offset);
        value = take_max ? fmaxf(value, other) : value + other;
    }
    return value;
}

// Head-sum segments per warp in window_run_mass: a query head per 16-row tile when W is a multiple of
// 16 (head boundaries fall on tile boundaries), else up to three. The launcher sizes the shared
// memory by the same rule (WindowScores.RunSegmentsFor).
__device__ __forceinline__ int mixkv_run_segments(int window) { return window % 16 == 0 ? 1 : MIXKV_RUN_SEGMENTS; }

// window_run_mass' tables of where head g's sums lie: its rows gW..gW+W-1 fill row tiles
// head_tiles[g][0] .. head_tiles[g][1], in whose segments it is number g - tile_first_head[tile].
struct mixkv_mass_heads {
    int head_tiles[MIXKV_RUN_MAX_GROUPS][2];
    int tile_first_head[MIXKV_RUN_MAX_WARPS];
};

// The column pass of key tile t: raw[n] (and s[n]) of its keys from the warps' head sums
// (`segments`, `per_warp` segments each) and the k steps' μ·k (`mean_partials`). Four lanes per key:
// lane part = lane % 4 of key mixkv_column_of(round) takes the groups part, part + 4, ... and the k
// steps part, part + 4, ...; two butterflies join the parts as (P0 + P1) + (P2 + P3). With a thread
// per key, two warps took the mass and two the similarities while the other four waited at the
// closing barrier (18 % of the stall samples sat there on an H200). `norms`: ||k|| of the keys of
// the first two rounds, loaded ahead.
__device__ __forceinline__ void mixkv_mass_columns(const WindowMassParams& p, int dim, int t, const float* segments, int per_warp, const float* mean_partials,
                                                   const mixkv_mass_heads& heads, const float norms[2])
{
    const int kv_head = blockIdx.y, part = threadIdx.x % 4;
    for (int round = 0; round * static_cast<int>(blockDim.x / 4) < MIXKV_MMA_KEYS; ++round) {  // the same trips for every lane
        const int column = mixkv_column_of(round);
        const bool kept = column < MIXKV_MMA_KEYS && t * MIXKV_MMA_KEYS + column < p.prefix;
        const long long at = static_cast<long long>(kv_head) * p.prefix + t * MIXKV_MMA_KEYS + column;
        float reduced = p.gqa_max ? MIXKV_NEG_INF : 0.0f;
        if (kept) {
            for (int g = part; g < p.groups; g += 4) {
                float sum = 0.0f;
                for (int rt = heads.head_tiles[g][0]; rt <= heads.head_tiles[g][1]; ++rt) {
                    sum += segments[(rt * per_warp + g - heads.tile_first_head[rt]) * MIXKV_MMA_KEYS + column];
                }
                const float mass = sum / static_cast<float>(p.window);
                reduced = p.gqa_max ? fmaxf(reduced, mass) : reduced + mass;
            }
        }
        reduced = mixkv_join_parts(reduced, p.gqa_max);
        if (kept && part == 0) {
            p.raw[at] = p.gqa_max ? reduced : reduced / static_cast<float>(p.groups);
        }
        // k̂·μ = (Σ over the steps' μ·k) / max(||k||, 1e-12).
        if (p.similarity != nullptr) {
            float dot = 0.0f;
            if (kept) {
                for (int step = part; step < dim / 16; step += 4) {
                    dot += mean_partials[step * MIXKV_MMA_KEYS + column];
                }
            }
            dot = mixkv_join_parts(dot, false);
            if (kept && part == 0) {
                const float norm = round == 0 ? norms[0] : round == 1 ? norms[1] : p.key_norm[at];
                p.similarity[at] = dot / fmaxf(norm, MIXKV_KEY_NORM_FLOOR);
            }
        }
    }
}

// window_run_mass' block at head size `dim`, staging and multiplying as `Tiles` says (see window_run_stats).
template <typename T, typename Tiles>
__device__ __forceinline__ void mixkv_run_mass(const WindowMassParams& p, int dim, unsigned short* staged, mixkv_mass_heads& heads)
{
    // Two key tiles [64, D + 8]; two buffers of head sums [warps, segments, 64]; two of μ·k per k step
    // and key [D / 16, 64] and μ as hi and lo rows (see mixkv_mean_products), all 16-byte aligned.
    // Tile t's sums and μ·k go to buffer t % 2 and their column pass runs after the next tile's
    // barrier (mixkv_key_run::next), so one barrier a tile orders it all: with the pass in the same
    // tile, a barrier before it and one after (before the buffers were written again) made three.
    // The head tables: divisions by W, once per block (per key they were most of the column pass's
    // instructions).
    const int kv_head = blockIdx.y, rows = p.groups * p.window, per_warp = mixkv_run_segments(p.window);
    for (int g = threadIdx.x; g < p.groups; g += blockDim.x) {
        heads.head_tiles[g][0] = g * p.window / 16;
        heads.head_tiles[g][1] = (g * p.window + p.window - 1) / 16;
    }
    for (int rt = threadIdx.x; rt < static_cast<int>(blockDim.x / MIXKV_WARP); rt += blockDim.x) {
        heads.tile_first_head[rt] = 16 * rt / p.window;
    }  // visible after the first tile's barrier (mixkv_key_run::next)
    const int segment_floats = blockDim.x / MIXKV_WARP * per_warp * MIXKV_MMA_KEYS, mean_floats = dim / 16 * MIXKV_MMA_KEYS;
    float* segments = reinterpret_cast<float*>(staged + 2 * MIXKV_MMA_KEYS * (dim + MIXKV_MMA_PAD));
    float* mean_partials = segments + 2 * segment_floats;
    unsigned short* mean_hi = reinterpret_cast<unsigned short*>(mean_partials + 2 * mean_floats);
    unsigned short* mean_lo = mean_hi + dim;
    if (p.similarity != nullptr) {
        for (int i = threadIdx.x; i < dim; i += blockDim.x) {
            mixkv_split16(p.mean_key[kv_head * dim + i], mean_hi + i, mean_lo + i, T());
        }
    }  // visible after the first tile's barrier, as the head tables
    const int tiles = (p.prefix + MIXKV_MMA_KEYS - 1) / MIXKV_MMA_KEYS;
    const typename Tiles::run_type run = Tiles::begin(staged, p.keys, p.key_head_stride, p.key_token_stride, p.run, tiles, p.prefix, dim);

    const int lane = threadIdx.x % MIXKV_WARP, warp = threadIdx.x / MIXKV_WARP, group = lane / 4, pair = lane % 4;
    unsigned a[8][4];
    mixkv_load_row_fragments(a, static_cast<const T*>(p.queries), p.query_head_stride, p.query_token_stride, kv_head, warp, rows, p.window, p.groups, dim);
    // The lane's two rows: their query head in the group (-1 past G·W) and the exp2 shift that also
    // divides by Σ: exp(x - m) / Σ = 2^(x·log2e - m·log2e - log2 Σ), one FMA and one ex2 per term
    // (a multiply by 1 / Σ per term was 32 instructions per warp per tile). Rows past G·W shift by
    // +inf: their zero logits give 2^-inf = 0.
    int head[2];
    float shift[2];
MIXKV_UNROLL
    for (int half = 0; half < 2; ++half) {
        const int row = 16 * warp + group + 8 * half;
        const bool valid = row < rows;
        const int at = (kv_head * p.groups + (valid ? row / p.window : 0)) * p.window + (valid ? row % p.window : 0);
        head[half] = valid ? row / p.window : -1;
        shift[half] = valid ? p.row_max[at] * MIXKV_LOG2E + log2f(p.row_sum[at]) : -MIXKV_NEG_INF;
    }
    const int first_head = 16 * warp / p.window;
    const int last_row = 16 * warp + 15 < rows - 1 ? 16 * warp + 15 : rows - 1;
    const int heads_met = last_row / p.window - first_head + 1;  // 1..per_warp, the same for the whole warp
    const float log2_scale = p.scale * MIXKV_LOG2E;
    float norms[2] = {1.0f, 1.0f};  // ||k|| of the first two rounds of the column pass pending
    for (int t = run.begin; t < run.end; ++t) {
        // This tile's norms, loaded a whole tile before its column pass divides by them.
        float next_norms[2] = {1.0f, 1.0f};
        if (p.similarity != nullptr) {
MIXKV_UNROLL
            for (int round = 0; round < 2; ++round) {
                const int column = mixkv_column_of(round);
                if (column < MIXKV_MMA_KEYS && t * MIXKV_MMA_KEYS + column < p.prefix) {
                    next_norms[round] = p.key_norm[static_cast<long long>(kv_head) * p.prefix + t * MIXKV_MMA_KEYS + column];
                }
            }
        }
        const unsigned short* tile = run.next(t);  // after its barrier, tile t - 1's sums are complete
        float acc[8][4];
        Tiles::start(acc, a, tile, dim);  // wgmma: runs during tile t - 1's column pass
        if (t > run.begin) {
            const int previous = (t - 1) % 2;
            mixkv_mass_columns(p, dim, t - 1, segments + previous * segment_floats, per_warp, mean_partials + previous * mean_floats, heads, norms);
        }
        norms[0] = next_norms[0];
        norms[1] = next_norms[1];
        float* tile_segments = segments + (t % 2) * segment_floats;
        Tiles::finish(acc, a, tile, dim);
        if (p.similarity != nullptr) {
            mixkv_mean_products<T>(tile, Tiles::layout(dim), dim, mean_hi, mean_lo, mean_partials + (t % 2) * mean_floats);
        }
MIXKV_UNROLL
        for (int c = 0; c < 8; ++c) {
MIXKV_UNROLL
            for (int i = 0; i < 4; ++i) {
                acc[c][i] = mixkv_exp2(fmaf(acc[c][i], log2_scale, -shift[i / 2]));
            }
        }
        // Per query head met by the warp's rows: the column sums of its rows (lanes of one pair
        // hold the same columns, 8 row groups apart), scattered so each lane stores two columns.
        for (int s = 0; s < heads_met; ++s) {
            const int h = first_head + s;
            float rows_of_head[8][2];
            if (heads_met == 1) {
                // Every row of the warp is head h's or past G·W, whose probabilities are already
                // 0 (shift +inf): the same sums without the selects (64 per warp per tile).
MIXKV_UNROLL
                for (int c = 0; c < 8; ++c) {
MIXKV_UNROLL
                    for (int j = 0; j < 2; ++j) {
                        rows_of_head[c][j] = acc[c][j] + acc[c][2 + j];
                    }
                }
            } else {
MIXKV_UNROLL
                for (int c = 0; c < 8; ++c) {
MIXKV_UNROLL
                    for (int j = 0; j < 2; ++j) {
                        rows_of_head[c][j] = (head[0] == h ? acc[c][j] : 0.0f) + (head[1] == h ? acc[c][2 + j] : 0.0f);
                    }
                }
            }
            // Columns 8·group + 2·pair + {0, 1}: 8-byte aligned (the segments start on 16 bytes).
            *reinterpret_cast<float2*>(tile_segments + (warp * per_warp + s) * MIXKV_MMA_KEYS + 8 * group + 2 * pair) = mixkv_warp_column_sums(rows_of_head);
        }
    }
    if (run.end > run.begin) {  // the last tile's column pass, once its sums are complete
        __syncthreads();
        const int last = (run.end - 1) % 2;
        mixkv_mass_columns(p, dim, run.end - 1, segments + last * segment_floats, per_warp, mean_partials + last * mean_floats, heads, norms);
    }
}

// D = 128 with the dimension a constant as in window_run_stats, on sm_90 and later (and the CPU
// runtime): 21 % fewer executed instructions, 72.8 -> 68.3 us on an H200. On sm_80 that copy spills
// at this kernel's 128 registers, so there the block reads D; so does an sm_90a build, where D = 128
// over two warpgroups goes to window_run_mass_wgmma and CUDA 12.4's ptxas spills 8 bytes in this copy.
// Beside that copy the other D (multiples of 16 up to 128: WindowScores.UsesTensorCores) are at most
// 112, and saying so lets the compiler drop the eighth k step's query fragments (four registers) from
// the copy that reads D: without the bound the H100's driver (580, CUDA 13.0) JIT-compiled it with 32
// bytes of spills, 7 loads and 2 stores a tile (window_run_mass 63.5 -> 59.4 us at D 64, N 32K, bf16,
// two runs each; D 128 unchanged), and 12.4's ptxas with 8.
template <typename T>
__global__ void __launch_bounds__(32 * MIXKV_RUN_MAX_WARPS, 2) window_run_mass(const WindowMassParams p)
{
    MIXKV_GRID_DEPENDENCY();
    MIXKV_DYNAMIC_SHARED(unsigned short, staged);
    __shared__ mixkv_mass_heads heads;
#if !defined(__CUDA_ARCH__) || (__CUDA_ARCH__ >= 900 && !defined(__CUDA_ARCH_FEAT_SM90_ALL))
    if (p.head_dim == 8 * 16) {
        mixkv_run_mass<T, mixkv_mma_tiles<T>>(p, 8 * 16, staged, heads);
        return;
    }
    mixkv_run_mass<T, mixkv_mma_tiles<T>>(p, p.head_dim < 7 * 16 ? p.head_dim : 7 * 16, staged, heads);  // D <= 112 here
#else
    mixkv_run_mass<T, mixkv_mma_tiles<T>>(p, p.head_dim, staged, heads);
#endif
}

// The wgmma forms of the two (mixkv_wgmma_tiles), for D = 128 over two full warpgroups (G·W 113 to 128,
// 256 threads), which the launcher picks where the kernels were built for sm_90a (and the CPU runtime
// when asked). Kernels of their own: in one function with the mma.sync copies, ptxas 12.4 spilled
// window_run_mass, which neither form does alone. Other builds hold no wgmma and trap.
template <typename T>
__global__ void __launch_bounds__(32 * MIXKV_RUN_MAX_WARPS, 2) window_run_stats_wgmma(const WindowTileStatsParams p)
{
    MIXKV_GRID_DEPENDENCY();
#if MIXKV_WGMMA
    MIXKV_DYNAMIC_SHARED(unsigned short, staged);  // two key tiles [64, 128], core layout
    __shared__ float inverse_norm[MIXKV_TILE_NORM_FLOATS];
    mixkv_run_stats<T, mixkv_wgmma_tiles<T>>(p, 8 * 16, staged, inverse_norm);
#else
    __trap();
#endif
}

template <typename T>
__global__ void __launch_bounds__(32 * MIXKV_RUN_MAX_WARPS, 2) window_run_mass_wgmma(const WindowMassParams p)
{
    MIXKV_GRID_DEPENDENCY();
#if MIXKV_WGMMA
    MIXKV_DYNAMIC_SHARED(unsigned short, staged);
    __shared__ mixkv_mass_heads heads;
    mixkv_run_mass<T, mixkv_wgmma_tiles<T>>(p, 8 * 16, staged, heads);
#else
    __trap();
#endif
}

struct WindowMergeKeyMeanParams {
    WindowStatsMergeParams merge;
    HeadKeyMeanParams mean;
    int merge_blocks;          // blocks [0, merge_blocks) merge rows; block merge_blocks + h takes head h's μ
    int reserved;
};

// window_stats_merge and head_key_mean in one launch between the two run kernels, when the run
// kernels take the K statistics: both read only what window_run_stats wrote and window_run_mass
// needs both, so they were two launches in a row on the layer's critical path. Blocks [0,
// merge_blocks) merge 32 rows each, a warp per row; block merge_blocks + h computes μ and r_h of
// head h. The block's choice is uniform, so head_key_mean's barriers hold. No __launch_bounds__, as
// head_key_mean has none: 32 registers at 1024 threads (with the bound, ptxas 11.8 spilled 8 bytes).
__global__ void window_merge_key_mean(const WindowMergeKeyMeanParams p)
{
    MIXKV_GRID_DEPENDENCY();
    if (static_cast<int>(blockIdx.x) < p.merge_blocks) {
        mixkv_merge_row_statistics(p.merge, blockIdx.x * (blockDim.x / MIXKV_WARP) + threadIdx.x / MIXKV_WARP);
    } else {
        mixkv_head_key_mean(p.mean, blockIdx.x - p.merge_blocks);
    }
}

MIXKV_KERNEL_INSTANCE("window_run_stats<mixkv_f16>", window_run_stats<mixkv_f16>, WindowTileStatsParams)
MIXKV_KERNEL_INSTANCE("window_run_stats<mixkv_bf16>", window_run_stats<mixkv_bf16>, WindowTileStatsParams)
MIXKV_KERNEL_INSTANCE("window_run_mass<mixkv_f16>", window_run_mass<mixkv_f16>, WindowMassParams)
MIXKV_KERNEL_INSTANCE("window_run_mass<mixkv_bf16>", window_run_mass<mixkv_bf16>, WindowMassParams)
MIXKV_KERNEL_INSTANCE("window_run_stats_wgmma<mixkv_f16>", window_run_stats_wgmma<mixkv_f16>, WindowTileStatsParams)
MIXKV_KERNEL_INSTANCE("window_run_stats_wgmma<mixkv_bf16>", window_run_stats_wgmma<mixkv_bf16>, WindowTileStatsParams)
MIXKV_KERNEL_INSTANCE("window_run_mass_wgmma<mixkv_f16>", window_run_mass_wgmma<mixkv_f16>, WindowMassParams)
MIXKV_KERNEL_INSTANCE("window_run_mass_wgmma<mixkv_bf16>", window_run_mass_wgmma<mixkv_bf16>, WindowMassParams)
MIXKV_KERNEL_INSTANCE("window_merge_key_mean", window_merge_key_mean, WindowMergeKeyMeanParams)
