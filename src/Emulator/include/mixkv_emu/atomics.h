// CUDA atomics for the host build. The same functions serve shared memory (fibers
// of one block on one OS thread) and global memory (blocks on several OS threads).
// They are acquire-release rather than CUDA's relaxed order: on x86 a locked RMW
// costs the same, and ThreadSanitizer then accepts the usual
// "write; __threadfence(); atomicAdd(flag)" hand-off, whose fence it cannot model.
#pragma once

namespace mixkv_emu::atomics {

constexpr int kOrder = __ATOMIC_ACQ_REL;

template <typename T>
inline T cas(T* address, T compare, T value) {
    __atomic_compare_exchange_n(address, &compare, value, false, kOrder, __ATOMIC_ACQUIRE);
    return compare;  // holds the old value whether or not the exchange happened
}

// Read-modify-write through the integer image of T (float, double).
template <typename T, typename Bits, typename F>
inline T update_bits(T* address, F op) {
    Bits* raw = reinterpret_cast<Bits*>(address);
    Bits old = __atomic_load_n(raw, __ATOMIC_ACQUIRE);
    for (;;) {
        T old_value;
        __builtin_memcpy(&old_value, &old, sizeof(T));
        T new_value = op(old_value);
        Bits desired;
        __builtin_memcpy(&desired, &new_value, sizeof(T));
        if (__atomic_compare_exchange_n(raw, &old, desired, false, kOrder, __ATOMIC_ACQUIRE)) return old_value;
    }
}

template <typename T>
inline T fetch_max(T* address, T value) {
    T old = __atomic_load_n(address, __ATOMIC_ACQUIRE);
    while (old < value && !__atomic_compare_exchange_n(address, &old, value, false, kOrder, __ATOMIC_ACQUIRE)) {}
    return old;
}

template <typename T>
inline T fetch_min(T* address, T value) {
    T old = __atomic_load_n(address, __ATOMIC_ACQUIRE);
    while (value < old && !__atomic_compare_exchange_n(address, &old, value, false, kOrder, __ATOMIC_ACQUIRE)) {}
    return old;
}

}  // namespace mixkv_emu::atomics

#define MIXKV_EMU_INTEGER_ATOMICS(T)                                                                      \
    inline T atomicAdd(T* a, T v) { return __atomic_fetch_add(a, v, ::mixkv_emu::atomics::kOrder); }     \
    inline T atomicSub(T* a, T v) { return __atomic_fetch_sub(a, v, ::mixkv_emu::atomics::kOrder); }     \
    inline T atomicExch(T* a, T v) { return __atomic_exchange_n(a, v, ::mixkv_emu::atomics::kOrder); }   \
    inline T atomicCAS(T* a, T c, T v) { return ::mixkv_emu::atomics::cas(a, c, v); }                   \
    inline T atomicOr(T* a, T v) { return __atomic_fetch_or(a, v, ::mixkv_emu::atomics::kOrder); }       \
    inline T atomicAnd(T* a, T v) { return __atomic_fetch_and(a, v, ::mixkv_emu::atomics::kOrder); }     \
    inline T atomicXor(T* a, T v) { return __atomic_fetch_xor(a, v, ::mixkv_emu::atomics::kOrder); }     \
    inline T atomicMax(T* a, T v) { return ::mixkv_emu::atomics::fetch_max(a, v); }                     \
    inline T atomicMin(T* a, T v) { return ::mixkv_emu::atomics::fetch_min(a, v); }

MIXKV_EMU_INTEGER_ATOMICS(int)
MIXKV_EMU_INTEGER_ATOMICS(unsigned int)
MIXKV_EMU_INTEGER_ATOMICS(unsigned long long)
MIXKV_EMU_INTEGER_ATOMICS(long long)
#undef MIXKV_EMU_INTEGER_ATOMICS

inline float atomicAdd(float* a, float v) {
    return ::mixkv_emu::atomics::update_bits<float, unsigned int>(a, [v](float old) { return old + v; });
}
inline double atomicAdd(double* a, double v) {
    return ::mixkv_emu::atomics::update_bits<double, unsigned long long>(a, [v](double old) { return old + v; });
}
inline float atomicExch(float* a, float v) {
    return ::mixkv_emu::atomics::update_bits<float, unsigned int>(a, [v](float) { return v; });
}
// CUDA's atomicInc/atomicDec wrap at `limit`; kernels use them for ring indices.
inline unsigned int atomicInc(unsigned int* a, unsigned int limit) {
    return ::mixkv_emu::atomics::update_bits<unsigned int, unsigned int>(a, [limit](unsigned old) { return old >= limit ? 0u : old + 1; });
}
