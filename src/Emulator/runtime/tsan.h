// ThreadSanitizer annotations, compiled to nothing outside the tsan flavour.
//
// The runtime itself is NOT instrumented (only kernel translation units are), so
// its own bookkeeping is invisible to TSan. What TSan must be told:
//   - each CUDA thread is a fiber, and switches between fibers carry no ordering
//     (no_sync), otherwise every switch through the scheduler would order everything;
//   - the orderings CUDA does guarantee: __syncthreads, __syncwarp, and block
//     start/end (release at the hand-off, acquire on the other side).
#pragma once

#ifdef MIXKV_EMU_TSAN
#include <sanitizer/tsan_interface.h>
namespace mixkv_emu::rt::tsan {
inline void* current_fiber() { return __tsan_get_current_fiber(); }
inline void* create_fiber() { return __tsan_create_fiber(0); }
inline void destroy_fiber(void* fiber) { __tsan_destroy_fiber(fiber); }
inline void name_fiber(void* fiber, const char* name) { __tsan_set_fiber_name(fiber, name); }
inline void switch_to(void* fiber) { __tsan_switch_to_fiber(fiber, __tsan_switch_to_fiber_no_sync); }
inline void release(void* address) { __tsan_release(address); }
inline void acquire(void* address) { __tsan_acquire(address); }
constexpr bool enabled = true;
}  // namespace mixkv_emu::rt::tsan
#else
namespace mixkv_emu::rt::tsan {
inline void* current_fiber() { return nullptr; }
inline void* create_fiber() { return nullptr; }
inline void destroy_fiber(void*) {}
inline void name_fiber(void*, const char*) {}
inline void switch_to(void*) {}
inline void release(void*) {}
inline void acquire(void*) {}
constexpr bool enabled = false;
}  // namespace mixkv_emu::rt::tsan
#endif
