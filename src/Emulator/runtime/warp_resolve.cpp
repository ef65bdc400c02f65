#include "warp_resolve.h"

#include "describe.h"
#include "tsan.h"

namespace mixkv_emu::rt {
namespace {

unsigned lanes_present(unsigned warp, unsigned thread_count) {
    const unsigned count = thread_count - warp * 32;
    return count >= 32 ? 0xffffffffu : (1u << count) - 1u;
}

// Source lane of a shuffle, exactly as PTX shfl.sync computes it from the lane,
// the operand b and c = ((32 - width) << 8) | clamp (clamp 0 for up, 31 otherwise).
unsigned shuffle_source(unsigned lane, device::ShuffleMode mode, unsigned b, int width) {
    const int segmask = (32 - width) & 31;
    const int clamp = mode == device::ShuffleMode::Up ? 0 : 31;
    const int self = static_cast<int>(lane);
    const int max_lane = (self & segmask) | (clamp & ~segmask);
    const int min_lane = self & segmask;
    const int operand = static_cast<int>(b & 31u);
    int source = self;
    bool valid = false;
    switch (mode) {
        case device::ShuffleMode::Up: source = self - static_cast<int>(b); valid = source >= max_lane; break;
        case device::ShuffleMode::Down: source = self + static_cast<int>(b); valid = source <= max_lane; break;
        case device::ShuffleMode::Xor: source = self ^ operand; valid = source <= max_lane; break;
        case device::ShuffleMode::Idx: source = min_lane | (operand & ~segmask); valid = source <= max_lane; break;
    }
    return valid ? static_cast<unsigned>(source) : lane;
}

template <typename F>
void for_each_lane(unsigned mask, F f) {
    while (mask) {
        const unsigned lane = static_cast<unsigned>(__builtin_ctz(mask));
        mask &= mask - 1;
        f(lane);
    }
}

void complete_group(Worker& worker, Fiber* warp, unsigned group) {
    const Fiber& first = warp[__builtin_ctz(group)];
    switch (first.op) {
        case WarpOpKind::Shuffle:
            for_each_lane(group, [&](unsigned lane) {
                Fiber& fiber = warp[lane];
                const unsigned source = shuffle_source(lane, fiber.shuffle_mode, fiber.operand, fiber.width);
                // Reading a lane outside the group is undefined in CUDA; the lane's own value is returned.
                fiber.result = ((group >> source) & 1u) ? warp[source].value : fiber.value;
            });
            break;
        case WarpOpKind::Vote: {
            unsigned ballot = 0;
            for_each_lane(group, [&](unsigned lane) { ballot |= static_cast<unsigned>(warp[lane].predicate) << lane; });
            for_each_lane(group, [&](unsigned lane) {
                Fiber& fiber = warp[lane];
                switch (fiber.vote_kind) {
                    case device::VoteKind::Ballot: fiber.result = ballot; break;
                    case device::VoteKind::Any: fiber.result = ballot != 0; break;
                    case device::VoteKind::All: fiber.result = ballot == group; break;
                }
            });
            break;
        }
        case WarpOpKind::Sync:
            // Each lane acquires every lane's release, in that lane's own TSan context;
            // done here, while no lane has run past the __syncwarp yet.
            if constexpr (tsan::enabled) {
                for_each_lane(group, [&](unsigned lane) {
                    tsan::switch_to(warp[lane].tsan_fiber);
                    for_each_lane(group, [&](unsigned other) { tsan::acquire(&warp[other].tsan_token); });
                });
                tsan::switch_to(worker.scheduler_tsan_fiber);
            }
            break;
        case WarpOpKind::ActiveMask:
            for_each_lane(group, [&](unsigned lane) { warp[lane].result = group; });
            break;
    }
    for_each_lane(group, [&](unsigned lane) {
        warp[lane].state = FiberState::Runnable;
        worker.runnable.push_back(warp[lane].linear);
    });
}

}  // namespace

bool resolve_warp_ops(Worker& worker, unsigned thread_count) {
    bool progress = false;
    for (unsigned w = 0; w * 32 < thread_count; ++w) {
        Fiber* warp = &worker.fibers[w * 32];
        const unsigned present = lanes_present(w, thread_count);
        unsigned waiting = 0, at_active_mask = 0;
        for_each_lane(present, [&](unsigned lane) {
            if (warp[lane].state != FiberState::AtWarpOp) return;
            (warp[lane].op == WarpOpKind::ActiveMask ? at_active_mask : waiting) |= 1u << lane;
        });
        // __activemask is not a rendezvous on the GPU; here it reports the lanes that
        // reached it in the same scheduling round (the converged ones).
        if (at_active_mask) {
            complete_group(worker, warp, at_active_mask);
            progress = true;
        }
        unsigned pending = waiting;
        while (pending) {
            const Fiber& leader = warp[__builtin_ctz(pending)];
            // Lanes that do not exist (a partial last warp) are not waited for.
            const unsigned group = leader.mask & present;
            bool complete = true;
            for_each_lane(group, [&](unsigned lane) {
                const Fiber& f = warp[lane];
                if (f.state != FiberState::AtWarpOp || f.op != leader.op || f.mask != leader.mask) complete = false;
            });
            if (!complete) {
                // Only the leader is settled: another lane of its mask may belong to a
                // group of its own that is complete.
                pending &= pending - 1;
                continue;
            }
            pending &= ~group;  // the leader is in its group (checked at the call)
            complete_group(worker, warp, group);
            progress = true;
        }
    }
    return progress;
}

bool release_block_barrier(Worker& worker, unsigned thread_count) {
    unsigned arrived = 0, count = 0;
    for (unsigned i = 0; i < thread_count; ++i) {
        const Fiber& fiber = worker.fibers[i];
        if (fiber.state == FiberState::Exited) continue;
        if (fiber.state != FiberState::AtBlockBarrier) return false;
        ++arrived;
        count += static_cast<unsigned>(fiber.predicate);
    }
    if (arrived == 0) return false;
    for (unsigned i = 0; i < thread_count; ++i) {
        Fiber& fiber = worker.fibers[i];
        if (fiber.state != FiberState::AtBlockBarrier) continue;
        switch (fiber.barrier_kind) {
            case device::BarrierKind::Plain: fiber.result = 0; break;
            case device::BarrierKind::Count: fiber.result = count; break;
            case device::BarrierKind::And: fiber.result = count == arrived; break;
            case device::BarrierKind::Or: fiber.result = count != 0; break;
        }
        fiber.state = FiberState::Runnable;
        worker.runnable.push_back(i);
    }
    ++worker.barrier_generation;
    return true;
}

std::string diagnose_stuck_block(const Worker& worker, unsigned thread_count) {
    const std::string where = describe_block(worker);
    for (unsigned i = 0; i < thread_count; ++i) {
        const Fiber& fiber = worker.fibers[i];
        if (fiber.state != FiberState::AtWarpOp) continue;
        const unsigned w = i / 32;
        const Fiber* warp = &worker.fibers[w * 32];
        const unsigned group = fiber.mask & lanes_present(w, thread_count);
        for (unsigned lane = 0; lane < 32; ++lane) {
            if (!((group >> lane) & 1u)) continue;
            const Fiber& other = warp[lane];
            const std::string op = describe_thread(fiber) + " waits at a warp collective with mask " + hex_mask(fiber.mask);
            if (other.state == FiberState::Exited)
                return "warp divergence in " + where + ": " + op + ", but lane " + std::to_string(lane) + " (" +
                       describe_thread(other) + ") has exited";
            if (other.state == FiberState::AtBlockBarrier)
                return "barrier divergence in " + where + ": " + op + ", but " + describe_thread(other) + " (lane " +
                       std::to_string(lane) + ") waits at __syncthreads";
            if (other.state == FiberState::AtWarpOp && (other.op != fiber.op || other.mask != fiber.mask))
                return "warp divergence in " + where + ": " + op + ", but " + describe_thread(other) +
                       " waits at a different warp collective or with mask " + hex_mask(other.mask);
        }
    }
    return "barrier divergence in " + where + ": threads wait at barriers that can never complete";
}

}  // namespace mixkv_emu::rt
