// The fiber side of barriers, warp collectives and traps: post operands, yield to
// the block scheduler (block_scheduler.cpp / warp_resolve.cpp), read the result.
#include <cstdlib>
#include <string>

#include "describe.h"
#include "fiber.h"
#include "tsan.h"
#include "worker.h"

namespace mixkv_emu::rt {
namespace {

Fiber& current() { return *tls_fiber; }

[[noreturn]] void fail(Fiber& fiber, std::string message) {
    fiber.worker->failure = std::move(message);
    // The scheduler reads the message after the switch, which TSan sees as unordered (no_sync).
    tsan::release(&fiber.worker->failure);
    fiber.state = FiberState::Failed;
    yield(fiber);
    std::abort();  // a failed fiber is never resumed
}

unsigned lane_of(const Fiber& fiber) { return fiber.linear & 31u; }

void check_own_lane(Fiber& fiber, unsigned mask, const char* op) {
    if ((mask >> lane_of(fiber)) & 1u) return;
    fail(fiber, std::string(op) + " in " + describe_block(*fiber.worker) + ": " + describe_thread(fiber) + " (lane " +
                    std::to_string(lane_of(fiber)) + ") calls it with mask " + hex_mask(mask) + ", which does not name its own lane");
}

void wait_at_warp_op(Fiber& fiber) {
    fiber.state = FiberState::AtWarpOp;
    yield(fiber);
}

}  // namespace
}  // namespace mixkv_emu::rt

namespace mixkv_emu::device {

using rt::Fiber;
using rt::FiberState;

int block_barrier(BarrierKind kind, int predicate) {
    Fiber& fiber = rt::current();
    rt::Worker& worker = *fiber.worker;
    fiber.barrier_kind = kind;
    fiber.predicate = predicate != 0;
    fiber.state = FiberState::AtBlockBarrier;
    // Two alternating addresses: a fiber already past this barrier releases for the
    // next one into the other slot, so a fiber still resuming from this barrier
    // cannot acquire that later history.
    char* sync = &worker.barrier_sync[worker.barrier_generation & 1u];
    rt::tsan::release(sync);
    rt::yield(fiber);
    rt::tsan::acquire(sync);
    return static_cast<int>(fiber.result);
}

unsigned long long warp_shuffle(unsigned mask, unsigned long long bits, ShuffleMode mode, unsigned operand, int width) {
    Fiber& fiber = rt::current();
    rt::check_own_lane(fiber, mask, "__shfl_sync");
    if (width < 1 || width > 32 || (width & (width - 1)) != 0)
        rt::fail(fiber, "__shfl_sync in " + rt::describe_block(*fiber.worker) + ": width " + std::to_string(width) +
                            " is not a power of two in [1, 32]");
    fiber.op = rt::WarpOpKind::Shuffle;
    fiber.mask = mask;
    fiber.value = bits;
    fiber.shuffle_mode = mode;
    fiber.operand = operand;
    fiber.width = width;
    rt::wait_at_warp_op(fiber);
    return fiber.result;
}

unsigned warp_vote(unsigned mask, int predicate, VoteKind kind) {
    Fiber& fiber = rt::current();
    rt::check_own_lane(fiber, mask, "__ballot_sync/__any_sync/__all_sync");
    fiber.op = rt::WarpOpKind::Vote;
    fiber.mask = mask;
    fiber.predicate = predicate != 0;
    fiber.vote_kind = kind;
    rt::wait_at_warp_op(fiber);
    return static_cast<unsigned>(fiber.result);
}

void warp_sync(unsigned mask) {
    Fiber& fiber = rt::current();
    rt::check_own_lane(fiber, mask, "__syncwarp");
    fiber.op = rt::WarpOpKind::Sync;
    fiber.mask = mask;
    // The scheduler makes each lane of the group acquire every lane's token once
    // all have arrived (see warp_resolve.cpp).
    rt::tsan::release(&fiber.tsan_token);
    rt::wait_at_warp_op(fiber);
}

unsigned active_mask() {
    Fiber& fiber = rt::current();
    fiber.op = rt::WarpOpKind::ActiveMask;
    fiber.mask = 0;
    rt::wait_at_warp_op(fiber);
    return static_cast<unsigned>(fiber.result);
}

void trap() {
    Fiber& fiber = rt::current();
    rt::fail(fiber, "__trap() in " + rt::describe_block(*fiber.worker) + " " + rt::describe_thread(fiber));
}

}  // namespace mixkv_emu::device
