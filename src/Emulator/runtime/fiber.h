// One fiber per CUDA thread, on a Boost.Context fcontext (a user-space stack switch;
// glibc's swapcontext makes a system call per switch and measured 4-10x slower).
#pragma once
#include <boost/context/detail/fcontext.hpp>
#include <cstddef>

#include "mixkv_emu/sync.h"
#include "mixkv_emu/thread_view.h"

namespace mixkv_emu::rt {

using boost::context::detail::fcontext_t;

enum class FiberState : unsigned char { Runnable, AtBlockBarrier, AtWarpOp, Exited, Failed };
enum class WarpOpKind : unsigned char { Shuffle, Vote, Sync, ActiveMask };

struct Worker;

struct Fiber {
    ThreadView view;
    Worker* worker = nullptr;
    fcontext_t context = nullptr;
    void* stack_mapping = nullptr;  // guard page + stack, from mmap
    std::size_t mapping_size = 0;
    unsigned linear = 0;  // linear thread index in the block
    FiberState state = FiberState::Exited;

    // Operands posted at a rendezvous and the result the scheduler hands back.
    device::BarrierKind barrier_kind = device::BarrierKind::Plain;
    int predicate = 0;
    WarpOpKind op = WarpOpKind::Sync;
    unsigned mask = 0;
    unsigned long long value = 0;
    device::ShuffleMode shuffle_mode = device::ShuffleMode::Idx;
    unsigned operand = 0;
    int width = 32;
    device::VoteKind vote_kind = device::VoteKind::Ballot;
    unsigned long long result = 0;

    void* tsan_fiber = nullptr;
    char tsan_token = 0;  // address this fiber releases at __syncwarp
};

constexpr std::size_t kFiberStackBytes = 64 * 1024;

// Maps the stack (with a PROT_NONE guard page below it, so an overflow faults
// instead of corrupting the neighbouring stack). Returns false when mmap fails.
bool allocate_stack(Fiber& fiber);
void free_stack(Fiber& fiber);

// Fresh context at the top of the fiber's stack; the fiber starts in its kernel.
void reset_context(Fiber& fiber);

// Scheduler side: run `fiber` until it reaches a rendezvous, exits or fails.
void resume(Fiber& fiber);

// Fiber side: hand control back to the block scheduler.
void yield(Fiber& fiber);

// The fiber running on this OS thread, or null outside a kernel.
extern thread_local Fiber* tls_fiber;

}  // namespace mixkv_emu::rt
