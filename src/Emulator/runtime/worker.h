// State of one OS worker thread: the fibers it runs and the block it is running.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "fiber.h"
#include "mixkv_emu/registry.h"

namespace mixkv_emu::rt {

enum class ScheduleMode : int { InOrder = 0, Random = 1 };

struct LaunchJob {
    const KernelEntry* kernel = nullptr;
    const void* params = nullptr;
    dim3 grid, block;
    unsigned shared_bytes = 0;
    unsigned long long seed = 0;
    ScheduleMode mode = ScheduleMode::InOrder;
};

constexpr unsigned kMaxThreadsPerBlock = 1024;
constexpr unsigned kMaxDynamicSharedBytes = 227 * 1024;  // sm_90's opt-in limit per block

struct Worker {
    Worker();
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Called on the worker's own OS thread before its first block.
    void attach_thread();
    // Makes fibers [0, count) ready (stacks are mapped on first use and kept).
    bool ensure_fibers(unsigned count);

    std::unique_ptr<Fiber[]> fibers;
    unsigned fibers_ready = 0;
    unsigned char* dynamic_shared = nullptr;

    fcontext_t scheduler_context = nullptr;
    void* scheduler_tsan_fiber = nullptr;

    const LaunchJob* job = nullptr;
    uint3 block_idx{0, 0, 0};
    unsigned long long blocks_run = 0;  // every block this worker has started: ThreadView::block_serial
    unsigned barrier_generation = 0;
    std::string failure;  // message of the fiber that failed, set before it yields

    // TSan synchronisation addresses (never read or written, only their address is used).
    char start_sync = 0;
    char end_sync = 0;
    char barrier_sync[2] = {0, 0};

    std::vector<unsigned> runnable;  // fibers to resume in the next round
    std::vector<unsigned> order;     // the current round, shuffled in random mode
};

}  // namespace mixkv_emu::rt
