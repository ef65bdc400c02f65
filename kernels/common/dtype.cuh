// Storage dtypes of K, V and Q (spec section 1) and their upcast to fp32.
//
// NVRTC 11.8 ships no cuda_fp16.h / cuda_bf16.h, and the same source must compile as plain C++
// for the CPU runtime, so 16-bit values travel as raw bits in one-member structs. On the GPU the
// fp16 upcast is one `cvt` instruction; on the host it is the IEEE bit arithmetic below. bf16 is
// the upper half of an fp32 on both.
#ifndef MIXKV_COMMON_DTYPE_CUH
#define MIXKV_COMMON_DTYPE_CUH

#include "portability.cuh"

struct mixkv_f16 { unsigned short bits; };
struct mixkv_bf16 { unsigned short bits; };

__device__ __forceinline__ float mixkv_to_float(float x) { return x; }

__device__ __forceinline__ float mixkv_to_float(mixkv_bf16 x)
{
    return __uint_as_float(static_cast<unsigned>(x.bits) << 16);
}

__device__ __forceinline__ float mixkv_to_float(mixkv_f16 x)
{
#if MIXKV_EMULATED
    const unsigned sign = (static_cast<unsigned>(x.bits) & 0x8000u) << 16;
    const unsigned exponent = (x.bits >> 10) & 0x1Fu;
    unsigned mantissa = x.bits & 0x3FFu;
    if (exponent == 0x1Fu) {
        return __uint_as_float(sign | 0x7F800000u | (mantissa << 13));  // Inf / NaN
    }
    if (exponent != 0) {
        return __uint_as_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
    }
    if (mantissa == 0) {
        return __uint_as_float(sign);  // signed zero
    }
    // Subnormal half: value = mantissa * 2^-24, exact in fp32.
    const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
    return sign ? -magnitude : magnitude;
#else
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(x.bits));
    return f;
#endif
}

// A finite fp32 rounded to the nearest 16-bit value (ties to even), as raw bits. bf16 is the upper half
// of the fp32 rounded; fp16 is `cvt.rn.f16.f32` on the GPU and the same rounding in bit arithmetic on
// the host (values past the fp16 range saturate to Inf, as cvt does).
__device__ __forceinline__ unsigned short mixkv_from_float(float x, mixkv_bf16)
{
    const unsigned u = __float_as_uint(x);
    return static_cast<unsigned short>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

__device__ __forceinline__ unsigned short mixkv_from_float(float x, mixkv_f16)
{
#if MIXKV_EMULATED
    const unsigned u = __float_as_uint(x);
    const unsigned sign = (u >> 16) & 0x8000u;
    const int exponent = static_cast<int>((u >> 23) & 0xFFu) - 127 + 15;
    unsigned mantissa = (u & 0x7FFFFFu) | 0x800000u;  // with the implicit one
    if (exponent >= 31) {
        return static_cast<unsigned short>(sign | 0x7C00u);
    }
    // Normal halves keep 10 of the 23 fraction bits; subnormal ones (exponent <= 0) fewer.
    const int shift = exponent > 0 ? 13 : 14 - exponent;
    if (shift > 24) {
        return static_cast<unsigned short>(sign);  // below half the smallest subnormal
    }
    unsigned half = mantissa >> shift;
    const unsigned rest = mantissa & ((1u << shift) - 1u), halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1u))) {
        ++half;  // a carry out of the fraction lands in the exponent, as it should
    }
    if (exponent > 0) {
        half = (static_cast<unsigned>(exponent) << 10) + (half - 0x400u);  // drop the implicit one
    }
    return static_cast<unsigned short>(sign | half);
#else
    unsigned short bits;
    asm("cvt.rn.f16.f32 %0, %1;" : "=h"(bits) : "f"(x));
    return bits;
#endif
}

// `value` as two 16-bit parts, hi = T(value) and lo = T(value - hi), for a tensor-core product in
// near-fp32 precision (two A rows instead of one): together within ~2^-16 of value in bf16.
template <typename T>
__device__ __forceinline__ void mixkv_split16(float value, unsigned short* hi, unsigned short* lo, T)
{
    T high;
    high.bits = mixkv_from_float(value, T());
    *hi = high.bits;
    *lo = mixkv_from_float(value - mixkv_to_float(high), T());
}

// Finite test on the stored bits (exponent not all ones), without converting: NaN and Inf both fail.
__device__ __forceinline__ bool mixkv_is_finite(float x) { return (__float_as_uint(x) & 0x7F800000u) != 0x7F800000u; }
__device__ __forceinline__ bool mixkv_is_finite(mixkv_f16 x) { return (x.bits & 0x7C00u) != 0x7C00u; }
__device__ __forceinline__ bool mixkv_is_finite(mixkv_bf16 x) { return (x.bits & 0x7F80u) != 0x7F80u; }

// Non-zero when a 32-bit word of T values (one fp32, two 16-bit) holds a NaN or Inf. Per element, the
// exponent field plus its lowest bit carries into the element's sign bit only when the field is all
// ones; the halves of a 16-bit pair cannot carry into each other. Three operations per word.
template <typename T> struct mixkv_exponent_bits;
template <> struct mixkv_exponent_bits<float> { static constexpr unsigned mask = 0x7F800000u, low = 0x00800000u, sign = 0x80000000u; };
template <> struct mixkv_exponent_bits<mixkv_bf16> { static constexpr unsigned mask = 0x7F807F80u, low = 0x00800080u, sign = 0x80008000u; };
template <> struct mixkv_exponent_bits<mixkv_f16> { static constexpr unsigned mask = 0x7C007C00u, low = 0x04000400u, sign = 0x80008000u; };

template <typename T>
__device__ __forceinline__ unsigned mixkv_nonfinite_bits(unsigned word)
{
    return ((word & mixkv_exponent_bits<T>::mask) + mixkv_exponent_bits<T>::low) & mixkv_exponent_bits<T>::sign;
}

// Bytes of one element, for kernels that move rows without looking at values.
template <typename T> struct mixkv_dtype_size { static constexpr int value = sizeof(T); };

#endif  // MIXKV_COMMON_DTYPE_CUH
