// Barriers, warp collectives and trap for the host build.
// Every one of these is a rendezvous: the calling fiber posts its operands and
// yields to its block's scheduler, which resumes it once the rendezvous completes.
#pragma once
#include <type_traits>

#include "thread_view.h"

namespace mixkv_emu::device {

enum class BarrierKind : int { Plain = 0, Count = 1, And = 2, Or = 3 };
enum class ShuffleMode : int { Idx = 0, Up = 1, Down = 2, Xor = 3 };
enum class VoteKind : int { Ballot = 0, Any = 1, All = 2 };

int block_barrier(BarrierKind kind, int predicate);
unsigned long long warp_shuffle(unsigned mask, unsigned long long bits, ShuffleMode mode, unsigned operand, int width);
unsigned warp_vote(unsigned mask, int predicate, VoteKind kind);
void warp_sync(unsigned mask);
unsigned active_mask();
[[noreturn]] void trap();

template <typename T>
inline T shuffle(unsigned mask, T value, ShuffleMode mode, unsigned operand, int width) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "warp shuffles move at most 8 bytes");
    unsigned long long bits = 0;
    __builtin_memcpy(&bits, &value, sizeof(T));
    bits = warp_shuffle(mask, bits, mode, operand, width);
    T out;
    __builtin_memcpy(&out, &bits, sizeof(T));
    return out;
}

}  // namespace mixkv_emu::device

inline void __syncthreads() { ::mixkv_emu::device::block_barrier(::mixkv_emu::device::BarrierKind::Plain, 0); }
inline int __syncthreads_count(int p) { return ::mixkv_emu::device::block_barrier(::mixkv_emu::device::BarrierKind::Count, p); }
inline int __syncthreads_and(int p) { return ::mixkv_emu::device::block_barrier(::mixkv_emu::device::BarrierKind::And, p); }
inline int __syncthreads_or(int p) { return ::mixkv_emu::device::block_barrier(::mixkv_emu::device::BarrierKind::Or, p); }

inline void __syncwarp(unsigned mask = 0xffffffffu) { ::mixkv_emu::device::warp_sync(mask); }
inline unsigned __activemask() { return ::mixkv_emu::device::active_mask(); }
inline unsigned __ballot_sync(unsigned mask, int p) { return ::mixkv_emu::device::warp_vote(mask, p, ::mixkv_emu::device::VoteKind::Ballot); }
inline int __any_sync(unsigned mask, int p) { return static_cast<int>(::mixkv_emu::device::warp_vote(mask, p, ::mixkv_emu::device::VoteKind::Any)); }
inline int __all_sync(unsigned mask, int p) { return static_cast<int>(::mixkv_emu::device::warp_vote(mask, p, ::mixkv_emu::device::VoteKind::All)); }

template <typename T>
inline T __shfl_sync(unsigned mask, T var, int srcLane, int width = warpSize) {
    return ::mixkv_emu::device::shuffle(mask, var, ::mixkv_emu::device::ShuffleMode::Idx, static_cast<unsigned>(srcLane), width);
}
template <typename T>
inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
    return ::mixkv_emu::device::shuffle(mask, var, ::mixkv_emu::device::ShuffleMode::Up, delta, width);
}
template <typename T>
inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
    return ::mixkv_emu::device::shuffle(mask, var, ::mixkv_emu::device::ShuffleMode::Down, delta, width);
}
template <typename T>
inline T __shfl_xor_sync(unsigned mask, T var, int laneMask, int width = warpSize) {
    return ::mixkv_emu::device::shuffle(mask, var, ::mixkv_emu::device::ShuffleMode::Xor, static_cast<unsigned>(laneMask), width);
}

[[noreturn]] inline void __trap() { ::mixkv_emu::device::trap(); }

// All CUDA threads of one block share a single OS thread, so compiler barriers
// suffice inside a block; across blocks (other OS threads) a real fence is needed.
inline void __threadfence_block() { __atomic_signal_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_system() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
