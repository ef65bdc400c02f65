// Final scores S[h, n] of the six modes (spec sections 3 and 4), in two kernels over the same grid
// (ceil(P / chunk), Hkv), 512 threads, a block per chunk of a head:
//   mix_partials  the chunk's sum of A, its sums of value norms, -key norms and -s above their
//                 minima, and min/max of the last three, written to partials[h, block, 10]; given the
//                 raw mass, it pools A as it reads it and writes it (window_pool's work, one launch
//                 fewer in the pipeline);
//   mix_scores    every block reduces its head's partials (a thread per block, one tree: the same
//                 bits in every block), then writes S over its chunk.
// The mean of a min-max-normalised score follows from the raw score's mean above its minimum, so
// fit() needs no pass over the normalised scores. Traffic: ~4 reads + 1 write of P floats per head
// from memory (mix_partials reads its chunk's three scores a second time, from cache). (One block
// per head, walking all P, took 83 us on an H100 at N = 32768: 8 blocks cannot keep the memory busy.)
#include "common/portability.cuh"
#include "common/reduce.cuh"
#include "common/pool.cuh"
#include "common/rounding_spread.cuh"

// Mode numbers, equal to the C# ScoreMode enum values.
#define MIXKV_MODE_ATTENTION 0
#define MIXKV_MODE_KEYDIFF 1
#define MIXKV_MODE_VNORM 2
#define MIXKV_MODE_KNORM 3
#define MIXKV_MODE_MIXKV 4
#define MIXKV_MODE_MIXKV_UNIFORM 5

// Spec section 3 and 4 constants.
#define MIXKV_FIT_EPSILON 1e-8f
#define MIXKV_DIVERSITY_RANGE_EPSILON 1e-8f
#define MIXKV_UNIFORM_WEIGHT 0.33f

struct MixParams {
    float* attention;          // A [Hkv, P]: read, or with raw written by mix_partials
    const float* raw;          // [Hkv, P] the unpooled mass, or null: A is pooled already (window_pool)
    const float* key_norm;     // [Hkv, P]
    const float* value_norm;   // [Hkv, P]
    const float* similarity;   // [Hkv, P]
    const float* redundancy;   // [Hkv] r_h (online estimate or one row of the offline table)
    float* scores;             // S [Hkv, P]
    float* partials;           // [Hkv, blocks, MIXKV_MIX_FIELDS]
    int prefix;
    int mode;
    int blocks;                // per head, at most the block size
    int chunk;                 // prefix tokens per block
    int pool_kernel;           // with raw: window_pool's kernel (odd) and kind (1: max)
    int pool_max;
};

// Fields of a partial: the sum of A, the sums of v, -||k||, -s above the block's minima (mixkv_mix_chunk);
// then min and max of v, -||k|| and -s.
#define MIXKV_MIX_FIELDS 10

struct MixStats {
    float mean_a;
    float vnorm_min, vnorm_range, vnorm_fit;   // fit factor = mean(A) / (mean(normalised) + eps)
    float knorm_min, knorm_range, knorm_fit;   // over -||k||
    float div_min, div_range, div_fit;         // over d = -s, range includes its 1e-8
};

// Min-max normalisation, with the spec deviation: a constant score normalises to 0.
__device__ __forceinline__ float mixkv_normalise(float x, float min, float range)
{
    return range > 0.0f ? (x - min) / range : 0.0f;
}

// The reduction of field f: sums for the first four, then min and max alternately; its identity.
__device__ __forceinline__ float mixkv_mix_combine(int f, float a, float b)
{
    return f < 4 ? mixkv_sum_op()(a, b) : f % 2 == 0 ? mixkv_min_op()(a, b) : mixkv_max_op()(a, b);
}

__device__ __forceinline__ float mixkv_mix_identity(int f) { return f < 4 ? 0.0f : f % 2 == 0 ? 3.0e38f : -3.0e38f; }

// Block reductions of the ten fields (every thread gets them), each in mixkv_block_reduce's tree (the
// warps' butterflies, then one over the warps' results), so the same bits, but all ten at once: two
// barriers instead of twenty, and ten independent butterflies in flight instead of one.
// `scratch` holds MIXKV_MIX_FIELDS * 32 floats.
__device__ void mixkv_mix_reduce(float sum_a, float sum_v, float sum_k, float sum_d, float min_v, float max_v, float min_k, float max_k, float min_d, float max_d,
                                 float fields[MIXKV_MIX_FIELDS], float* scratch)
{
    const int lane = threadIdx.x % MIXKV_WARP, warp = threadIdx.x / MIXKV_WARP, warps = blockDim.x / MIXKV_WARP;
    float v[MIXKV_MIX_FIELDS] = {sum_a, sum_v, sum_k, sum_d, min_v, max_v, min_k, max_k, min_d, max_d};
    for (int offset = MIXKV_WARP / 2; offset > 0; offset /= 2) {
MIXKV_UNROLL
        for (int f = 0; f < MIXKV_MIX_FIELDS; ++f) {
            v[f] = mixkv_mix_combine(f, v[f], __shfl_xor_sync(MIXKV_FULL_MASK, v[f], offset));
        }
    }
    if (lane == 0) {
MIXKV_UNROLL
        for (int f = 0; f < MIXKV_MIX_FIELDS; ++f) {
            scratch[f * MIXKV_WARP + warp] = v[f];
        }
    }
    __syncthreads();
MIXKV_UNROLL
    for (int f = 0; f < MIXKV_MIX_FIELDS; ++f) {
        fields[f] = lane < warps ? scratch[f * MIXKV_WARP + lane] : mixkv_mix_identity(f);
    }
    for (int offset = MIXKV_WARP / 2; offset > 0; offset /= 2) {
MIXKV_UNROLL
        for (int f = 0; f < MIXKV_MIX_FIELDS; ++f) {
            fields[f] = mixkv_mix_combine(f, fields[f], __shfl_xor_sync(MIXKV_FULL_MASK, fields[f], offset));
        }
    }
    __syncthreads();  // scratch may be reused at once
}

// The ten fields over tokens [begin, end) of a head, reduced over the block (every thread gets them):
// the sum of A; the sums of v - min_v, k - min_k and d - min_d over the chunk's own minima; the minima
// and maxima. fit() needs mean(x) - min(x) of each raw score: summed as raw values, that difference of
// two near-equal numbers keeps only ~6e-8 · |min| / (mean - min) of relative precision, 1e-5 and worse
// when most tokens sit near the minimum (a few keys far from the rest); summed above the minimum,
// every term is >= 0 and the sum keeps fp32's. Hence two loops: the minima first, then the sums (the
// second reads the chunk's v, -||k||, -s again, from L1/L2).
__device__ void mixkv_mix_chunk(const MixParams& p, long long base, int begin, int end, float fields[MIXKV_MIX_FIELDS], float* scratch)
{
    float sum_a = 0.0f;
    float min_v = 3.0e38f, max_v = -3.0e38f, min_k = 3.0e38f, max_k = -3.0e38f, min_d = 3.0e38f, max_d = -3.0e38f;
    for (int n = begin + threadIdx.x; n < end; n += blockDim.x) {
        float a;
        if (p.raw) {
            a = mixkv_pool_at(p.raw + base, p.prefix, n, p.pool_kernel, p.pool_max != 0);
            p.attention[base + n] = a;
        } else {
            a = p.attention[base + n];
        }
        const float v = p.value_norm[base + n];
        const float k = -p.key_norm[base + n];
        const float d = -p.similarity[base + n];
        sum_a += a;
        min_v = fminf(min_v, v); max_v = fmaxf(max_v, v);
        min_k = fminf(min_k, k); max_k = fmaxf(max_k, k);
        min_d = fminf(min_d, d); max_d = fmaxf(max_d, d);
    }
    mixkv_mix_reduce(sum_a, 0.0f, 0.0f, 0.0f, min_v, max_v, min_k, max_k, min_d, max_d, fields, scratch);
    float above_v = 0.0f, above_k = 0.0f, above_d = 0.0f;
    for (int n = begin + threadIdx.x; n < end; n += blockDim.x) {
        above_v += p.value_norm[base + n] - fields[4];
        above_k += -p.key_norm[base + n] - fields[6];
        above_d += -p.similarity[base + n] - fields[8];
    }
    float sums[MIXKV_MIX_FIELDS];
    mixkv_mix_reduce(0.0f, above_v, above_k, above_d, 3.0e38f, -3.0e38f, 3.0e38f, -3.0e38f, 3.0e38f, -3.0e38f, sums, scratch);
    fields[1] = sums[1];
    fields[2] = sums[2];
    fields[3] = sums[3];
}

__global__ void mix_partials(const MixParams p)
{
    MIXKV_GRID_DEPENDENCY();
    __shared__ float scratch[MIXKV_MIX_FIELDS * MIXKV_WARP];
    const int head = blockIdx.y, begin = blockIdx.x * p.chunk;
    const int end = p.prefix - begin < p.chunk ? p.prefix : begin + p.chunk;
    float fields[MIXKV_MIX_FIELDS];
    mixkv_mix_chunk(p, static_cast<long long>(head) * p.prefix, begin, end, fields, scratch);
    if (threadIdx.x == 0) {
        float* out = p.partials + (static_cast<long long>(head) * p.blocks + blockIdx.x) * MIXKV_MIX_FIELDS;
MIXKV_UNROLL
        for (int i = 0; i < MIXKV_MIX_FIELDS; ++i) {
            out[i] = fields[i];
        }
    }
}

// The head's statistics from its blocks' partials: thread i holds block i's, one tree over all; then
// each block's sums above its own minima, moved above the head's (n_b · (min_b - min) >= 0 added), in
// a second tree: mean_above_x is mean(x) - min(x), what fit() needs.
__device__ void mixkv_mix_stats(const MixParams& p, int head, MixStats* stats, float* scratch)
{
    const float* partial = p.partials + (static_cast<long long>(head) * p.blocks + threadIdx.x) * MIXKV_MIX_FIELDS;
    const bool mine = static_cast<int>(threadIdx.x) < p.blocks;
    float f[MIXKV_MIX_FIELDS];
    mixkv_mix_reduce(mine ? partial[0] : 0.0f, 0.0f, 0.0f, 0.0f,
                     mine ? partial[4] : 3.0e38f, mine ? partial[5] : -3.0e38f, mine ? partial[6] : 3.0e38f, mine ? partial[7] : -3.0e38f,
                     mine ? partial[8] : 3.0e38f, mine ? partial[9] : -3.0e38f, f, scratch);
    const int first = static_cast<int>(threadIdx.x) * p.chunk;
    const float tokens = mine ? static_cast<float>(p.prefix - first < p.chunk ? p.prefix - first : p.chunk) : 0.0f;
    float above[MIXKV_MIX_FIELDS];
    mixkv_mix_reduce(0.0f, mine ? partial[1] + tokens * (partial[4] - f[4]) : 0.0f, mine ? partial[2] + tokens * (partial[6] - f[6]) : 0.0f,
                     mine ? partial[3] + tokens * (partial[8] - f[8]) : 0.0f, 3.0e38f, -3.0e38f, 3.0e38f, -3.0e38f, 3.0e38f, -3.0e38f, above, scratch);
    const float count = static_cast<float>(p.prefix);
    const float mean_a = f[0] / count, mean_above_v = above[1] / count, mean_above_k = above[2] / count, mean_above_d = above[3] / count;
    const float min_v = f[4], max_v = f[5], min_k = f[6], max_k = f[7], min_d = f[8], max_d = f[9];

    stats->mean_a = mean_a;
    // A range flat within rounding (common/rounding_spread.cuh) is 0 here, which mixkv_normalise turns
    // into 0 for every token; a flat diversity gets a fit of 0 (its range keeps the 1e-8, so the
    // quotient it scales stays finite).
    stats->vnorm_min = min_v;
    stats->vnorm_range = mixkv_rounding_spread(min_v, max_v) ? 0.0f : max_v - min_v;
    stats->vnorm_fit = mean_a / (mixkv_normalise(mean_above_v, 0.0f, stats->vnorm_range) + MIXKV_FIT_EPSILON);
    stats->knorm_min = min_k;
    stats->knorm_range = mixkv_rounding_spread(min_k, max_k) ? 0.0f : max_k - min_k;
    stats->knorm_fit = mean_a / (mixkv_normalise(mean_above_k, 0.0f, stats->knorm_range) + MIXKV_FIT_EPSILON);
    stats->div_min = min_d;
    stats->div_range = max_d - min_d + MIXKV_DIVERSITY_RANGE_EPSILON;
    stats->div_fit = mixkv_rounding_spread(min_d, max_d, 1.0f) ? 0.0f : mean_a / (mean_above_d / stats->div_range + MIXKV_FIT_EPSILON);
}

__global__ void mix_scores(const MixParams p)
{
    MIXKV_GRID_DEPENDENCY();
    __shared__ float scratch[MIXKV_MIX_FIELDS * MIXKV_WARP];
    const int head = blockIdx.y, begin = blockIdx.x * p.chunk;
    const int end = p.prefix - begin < p.chunk ? p.prefix : begin + p.chunk;
    MixStats s;
    mixkv_mix_stats(p, head, &s, scratch);
    const float r = p.redundancy[head];
    const long long base = static_cast<long long>(head) * p.prefix;
    for (int n = begin + threadIdx.x; n < end; n += blockDim.x) {
        const float a = p.attention[base + n];
        const float vnorm = mixkv_normalise(p.value_norm[base + n], s.vnorm_min, s.vnorm_range) * s.vnorm_fit;
        const float knorm = mixkv_normalise(-p.key_norm[base + n], s.knorm_min, s.knorm_range) * s.knorm_fit;
        const float diversity = (-p.similarity[base + n] - s.div_min) / s.div_range * s.div_fit;
        float score;
        switch (p.mode) {
        case MIXKV_MODE_ATTENTION: score = a; break;
        case MIXKV_MODE_KEYDIFF: score = diversity; break;
        case MIXKV_MODE_VNORM: score = a + vnorm; break;
        case MIXKV_MODE_KNORM: score = a + knorm; break;
        case MIXKV_MODE_MIXKV: score = r * diversity + (1.0f - r) * (a + vnorm); break;
        default: score = MIXKV_UNIFORM_WEIGHT * diversity + MIXKV_UNIFORM_WEIGHT * a + MIXKV_UNIFORM_WEIGHT * vnorm; break;
        }
        p.scores[base + n] = score;
    }
}

MIXKV_KERNEL_INSTANCE("mix_partials", mix_partials, MixParams)
MIXKV_KERNEL_INSTANCE("mix_scores", mix_scores, MixParams)
