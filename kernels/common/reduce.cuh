// Warp and block reductions, written once (CUB style) and used by every kernel family.
//
// All reductions are butterfly trees over fixed lanes, so a result depends only on the data, never
// on scheduling: the kernels must give bit-identical results under every schedule seed of the CPU
// runtime and across GPU runs. No floating-point atomics anywhere for the same reason.
#ifndef MIXKV_COMMON_REDUCE_CUH
#define MIXKV_COMMON_REDUCE_CUH

#include "portability.cuh"

#define MIXKV_FULL_MASK 0xFFFFFFFFu
#define MIXKV_WARP 32
// -inf without math.h (NVRTC has no INFINITY macro without headers).
#define MIXKV_NEG_INF (__int_as_float(0xff800000))

struct mixkv_sum_op { template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a + b; } };
struct mixkv_max_op { template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a > b ? a : b; } };
// fmaxf: one FMNMX, where the comparison of mixkv_max_op may become a compare and a select.
struct mixkv_fmax_op { __device__ __forceinline__ float operator()(float a, float b) const { return fmaxf(a, b); } };
struct mixkv_min_op { template <typename T> __device__ __forceinline__ T operator()(T a, T b) const { return a < b ? a : b; } };

// Every lane of a full warp gets the reduction of all 32 lanes.
template <typename T, typename Op>
__device__ __forceinline__ T mixkv_warp_reduce(T value, Op op)
{
    for (int offset = MIXKV_WARP / 2; offset > 0; offset /= 2) {
        value = op(value, __shfl_xor_sync(MIXKV_FULL_MASK, value, offset));
    }
    return value;
}

// Sums each of eight per-lane values over the warp with 9 shuffles instead of 8 x 5: at offsets 16,
// 8 and 4 a lane keeps half of the values it still holds and trades the other half with its partner,
// then offsets 2 and 1 finish the one left. Lane l returns the warp's total of values[(l >> 2) & 7];
// the four lanes of a quad hold the same total (their last two adds are commutative pairs). Every
// lane of the warp must call it.
__device__ __forceinline__ float mixkv_warp_reduce_scatter8(const float (&values)[8])
{
    const int lane = threadIdx.x % MIXKV_WARP;
    float four[4], two[2];
    const bool upper16 = (lane & 16) != 0, upper8 = (lane & 8) != 0, upper4 = (lane & 4) != 0;
MIXKV_UNROLL
    for (int k = 0; k < 4; ++k) {
        const float give = upper16 ? values[k] : values[4 + k];
        four[k] = (upper16 ? values[4 + k] : values[k]) + __shfl_xor_sync(MIXKV_FULL_MASK, give, 16);
    }
MIXKV_UNROLL
    for (int k = 0; k < 2; ++k) {
        const float give = upper8 ? four[k] : four[2 + k];
        two[k] = (upper8 ? four[2 + k] : four[k]) + __shfl_xor_sync(MIXKV_FULL_MASK, give, 8);
    }
    float one = (upper4 ? two[1] : two[0]) + __shfl_xor_sync(MIXKV_FULL_MASK, upper4 ? two[0] : two[1], 4);
    one += __shfl_xor_sync(MIXKV_FULL_MASK, one, 2);
    one += __shfl_xor_sync(MIXKV_FULL_MASK, one, 1);
    return one;
}

// Column sums of a tensor-core accumulator tile: lane 4·group + pair holds values[c][j] of column
// 8c + 2·pair + j, and each column is summed over the 8 lanes that share `pair` (offsets 16, 8, 4)
// with 14 shuffles instead of 16 x 3: at each offset a lane keeps half of the columns it still holds
// and trades the other half with its partner. Lane 4·group + pair returns the totals of columns
// 8·group + 2·pair + {0, 1} (partners add the same two numbers, so they agree bit for bit). Every
// lane of the warp must call it.
__device__ __forceinline__ float2 mixkv_warp_column_sums(const float (&values)[8][2])
{
    const int lane = threadIdx.x % MIXKV_WARP;
    const bool upper16 = (lane & 16) != 0, upper8 = (lane & 8) != 0, upper4 = (lane & 4) != 0;
    float four[4][2], two[2][2], one[2];
MIXKV_UNROLL
    for (int c = 0; c < 4; ++c) {
MIXKV_UNROLL
        for (int j = 0; j < 2; ++j) {
            const float give = upper16 ? values[c][j] : values[4 + c][j];
            four[c][j] = (upper16 ? values[4 + c][j] : values[c][j]) + __shfl_xor_sync(MIXKV_FULL_MASK, give, 16);
        }
    }
MIXKV_UNROLL
    for (int c = 0; c < 2; ++c) {
MIXKV_UNROLL
        for (int j = 0; j < 2; ++j) {
            const float give = upper8 ? four[c][j] : four[2 + c][j];
            two[c][j] = (upper8 ? four[2 + c][j] : four[c][j]) + __shfl_xor_sync(MIXKV_FULL_MASK, give, 8);
        }
    }
MIXKV_UNROLL
    for (int j = 0; j < 2; ++j) {
        const float give = upper4 ? two[0][j] : two[1][j];
        one[j] = (upper4 ? two[1][j] : two[0][j]) + __shfl_xor_sync(MIXKV_FULL_MASK, give, 4);
    }
    return make_float2(one[0], one[1]);
}

// 16 values reduced by `op` (a max or a sum) by halving: v[i] with v[i + 8], then with v[i + 4],
// ...: four dependent steps instead of the 15 of a running fold. Written out: a loop over the
// widths left the values in local memory.
template <typename Op>
__device__ __forceinline__ float mixkv_halving_reduce16(const float (&v)[16], Op op)
{
    const float h0 = op(v[0], v[8]), h1 = op(v[1], v[9]), h2 = op(v[2], v[10]), h3 = op(v[3], v[11]);
    const float h4 = op(v[4], v[12]), h5 = op(v[5], v[13]), h6 = op(v[6], v[14]), h7 = op(v[7], v[15]);
    const float q0 = op(h0, h4), q1 = op(h1, h5), q2 = op(h2, h6), q3 = op(h3, h7);
    return op(op(q0, q2), op(q1, q3));
}

// Every thread of the block gets the reduction. `scratch` holds at least 32 values; blockDim.x is a
// multiple of 32. Ends with a barrier so the caller may reuse `scratch` at once.
template <typename T, typename Op>
__device__ __forceinline__ T mixkv_block_reduce(T value, Op op, T identity, T* scratch)
{
    const int lane = threadIdx.x % MIXKV_WARP;
    const int warp = threadIdx.x / MIXKV_WARP;
    const int warps = blockDim.x / MIXKV_WARP;
    value = mixkv_warp_reduce(value, op);
    if (lane == 0) {
        scratch[warp] = value;
    }
    __syncthreads();
    T total = lane < warps ? scratch[lane] : identity;
    total = mixkv_warp_reduce(total, op);
    __syncthreads();
    return total;
}

// The block's sums of two values, written by thread 0 to out[0] and out[1] (a block's row of a
// per-block table). `scratch` as for mixkv_block_reduce.
template <typename T>
__device__ __forceinline__ void mixkv_block_sum_pair(T first, T second, T* out, T* scratch)
{
    first = mixkv_block_reduce(first, mixkv_sum_op(), T(0), scratch);
    second = mixkv_block_reduce(second, mixkv_sum_op(), T(0), scratch);
    if (threadIdx.x == 0) {
        out[0] = first;
        out[1] = second;
    }
}

// Exclusive prefix sum over the block (blockDim.x a multiple of 32, at most 1024). Every thread gets
// its exclusive prefix and `*total` the block's sum. `scratch` holds at least 33 ints.
__device__ __forceinline__ int mixkv_block_exclusive_scan(int value, int* total, int* scratch)
{
    const int lane = threadIdx.x % MIXKV_WARP;
    const int warp = threadIdx.x / MIXKV_WARP;
    const int warps = blockDim.x / MIXKV_WARP;
    int inclusive = value;
    for (int offset = 1; offset < MIXKV_WARP; offset *= 2) {
        const int other = __shfl_up_sync(MIXKV_FULL_MASK, inclusive, offset);
        if (lane >= offset) {
            inclusive += other;
        }
    }
    if (lane == MIXKV_WARP - 1) {
        scratch[warp] = inclusive;
    }
    __syncthreads();
    if (warp == 0) {
        int warp_total = lane < warps ? scratch[lane] : 0;
        int warp_inclusive = warp_total;
        for (int offset = 1; offset < MIXKV_WARP; offset *= 2) {
            const int other = __shfl_up_sync(MIXKV_FULL_MASK, warp_inclusive, offset);
            if (lane >= offset) {
                warp_inclusive += other;
            }
        }
        if (lane < warps) {
            scratch[lane] = warp_inclusive - warp_total;  // exclusive offset of each warp
        }
        if (lane == MIXKV_WARP - 1) {
            scratch[MIXKV_WARP] = warp_inclusive;
        }
    }
    __syncthreads();
    const int result = scratch[warp] + inclusive - value;
    *total = scratch[MIXKV_WARP];
    __syncthreads();
    return result;
}

#endif  // MIXKV_COMMON_REDUCE_CUH
