#include "block_scheduler.h"

#include <cstring>
#include <utility>

#include "mixkv_emu_api.h"
#include "tsan.h"
#include "warp_resolve.h"

namespace mixkv_emu::rt {
namespace {

// splitmix64: tiny, and good enough to decorrelate the order per block and round.
unsigned long long mix(unsigned long long x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

struct Rng {
    unsigned long long state;
    unsigned long long next() { return state = mix(state); }
    unsigned below(unsigned n) { return static_cast<unsigned>(next() % n); }
};

void shuffle(std::vector<unsigned>& order, Rng& rng) {
    for (unsigned i = static_cast<unsigned>(order.size()); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);
}

void prepare_fibers(Worker& worker, const LaunchJob& job, unsigned thread_count) {
    worker.runnable.clear();
    for (unsigned i = 0; i < thread_count; ++i) {
        Fiber& fiber = worker.fibers[i];
        fiber.view.thread_idx = uint3{i % job.block.x, (i / job.block.x) % job.block.y, i / (job.block.x * job.block.y)};
        fiber.view.block_idx = worker.block_idx;
        fiber.view.block_dim = job.block;
        fiber.view.grid_dim = job.grid;
        fiber.view.dynamic_shared = worker.dynamic_shared;
        fiber.view.block_serial = worker.blocks_run;
        fiber.state = FiberState::Runnable;
        reset_context(fiber);
        worker.runnable.push_back(i);
    }
}

// A failed block leaves fibers suspended mid-kernel; their TSan contexts hold
// call stacks that will never unwind, so they are replaced.
void discard_suspended(Worker& worker, unsigned thread_count) {
    if constexpr (!tsan::enabled) return;
    for (unsigned i = 0; i < thread_count; ++i) {
        Fiber& fiber = worker.fibers[i];
        if (fiber.state == FiberState::Exited) continue;
        tsan::destroy_fiber(fiber.tsan_fiber);
        fiber.tsan_fiber = tsan::create_fiber();
    }
}

// Runs rounds until every fiber exited: each round resumes every runnable fiber
// once (up to its next rendezvous), then completes what rendezvous it can.
int schedule(Worker& worker, unsigned thread_count, ScheduleMode mode, Rng& rng, std::string& error) {
    std::vector<unsigned>& order = worker.order;
    unsigned exited = 0;
    for (;;) {
        order.swap(worker.runnable);
        worker.runnable.clear();
        if (mode == ScheduleMode::Random) shuffle(order, rng);
        for (unsigned index : order) {
            Fiber& fiber = worker.fibers[index];
            resume(fiber);
            if (fiber.state == FiberState::Failed) {
                tsan::acquire(&worker.failure);  // the failed fiber's release in device_calls.cpp's fail()
                error = worker.failure;
                discard_suspended(worker, thread_count);
                return error.rfind("__trap", 0) == 0 ? MIXKV_EMU_ERROR_ILLEGAL_INSTRUCTION : MIXKV_EMU_ERROR_LAUNCH_FAILED;
            }
            if (fiber.state == FiberState::Exited) ++exited;
        }
        if (exited == thread_count) return MIXKV_EMU_SUCCESS;
        if (resolve_warp_ops(worker, thread_count)) continue;
        if (release_block_barrier(worker, thread_count)) continue;
        error = diagnose_stuck_block(worker, thread_count);
        discard_suspended(worker, thread_count);
        return MIXKV_EMU_ERROR_LAUNCH_FAILED;
    }
}

}  // namespace

int run_block(Worker& worker, const LaunchJob& job, unsigned long long block_linear, std::string& error) {
    const unsigned thread_count = job.block.x * job.block.y * job.block.z;
    if (!worker.ensure_fibers(thread_count)) {
        error = "out of memory mapping fiber stacks for " + std::string(job.kernel->name);
        return MIXKV_EMU_ERROR_OUT_OF_MEMORY;
    }
    worker.job = &job;
    ++worker.blocks_run;
    worker.block_idx = uint3{static_cast<unsigned>(block_linear % job.grid.x),
                             static_cast<unsigned>((block_linear / job.grid.x) % job.grid.y),
                             static_cast<unsigned>(block_linear / (static_cast<unsigned long long>(job.grid.x) * job.grid.y))};
    // Uninitialised shared memory reads as NaN / -1 rather than as whatever the
    // previous block on this worker left, so such bugs do not depend on placement.
    if (job.shared_bytes) std::memset(worker.dynamic_shared, 0xff, job.shared_bytes);
    // The set-up (and, through the acquire at the end of the previous block, every
    // earlier block on this worker) happens-before every fiber of this block.
    tsan::release(&worker.start_sync);
    prepare_fibers(worker, job, thread_count);

    Rng rng{mix(job.seed ^ mix(block_linear + 1))};
    const int status = schedule(worker, thread_count, job.mode, rng, error);
    // The fibers' exits happen-before the next block's set-up and whatever the
    // launching thread does after the launch (the pool hands back through a mutex).
    tsan::acquire(&worker.end_sync);
    return status;
}

}  // namespace mixkv_emu::rt
