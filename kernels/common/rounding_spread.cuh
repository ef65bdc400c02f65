// Our deviation from spec section 3 (SpecConstants.RoundingSpread on the C# side): values equal up to
// rounding are taken as equal. A head whose keys all point one way has k̂·μ equal for every token and
// r_h = 1 exactly (one whose unit keys cancel, k̂·μ = 0 for every token), yet every backend rounds
// those to different nearby values, which the min-max normalisations ((max - min + 1e-8), fit's
// 1e-8) and MixKV's (1 - r_h) weight would turn into scores of the size of A, different in every
// backend. Shared by mix.cu (the ranges) and key_mean.cuh (r_h).
#ifndef MIXKV_COMMON_ROUNDING_SPREAD_CUH
#define MIXKV_COMMON_ROUNDING_SPREAD_CUH

#include "common/portability.cuh"  // by its name under kernels/, as mix.cu names it

// A range within this fraction of the values' scale is rounding, not spread: the scale of a norm is
// its magnitude, that of k̂·μ 1 (a unit key's length).
#define MIXKV_ROUNDING_SPREAD 1e-4f

// Whether values over [min, max] are flat within rounding of `scale` (all equal included).
__device__ __forceinline__ bool mixkv_rounding_spread(float min, float max, float scale)
{
    return max - min <= MIXKV_ROUNDING_SPREAD * scale;
}

// The same on the values' own magnitude (the scale of a norm).
__device__ __forceinline__ bool mixkv_rounding_spread(float min, float max)
{
    return mixkv_rounding_spread(min, max, fmaxf(fabsf(min), fabsf(max)));
}

// The online r_h, clamped to [0, 1] by the spec's deviation, and 1 within rounding of 1.
__device__ __forceinline__ float mixkv_snap_redundancy(float r)
{
    return r >= 1.0f - MIXKV_ROUNDING_SPREAD ? 1.0f : r;
}

#endif  // MIXKV_COMMON_ROUNDING_SPREAD_CUH
