// The exported C ABI (mixkv_emu_api.h): argument checks, the launch lock, the pool.
#include "mixkv_emu_api.h"

#include <algorithm>
#include <mutex>
#include <string>
#include <thread>

#include "registry.h"
#include "tsan.h"
#include "worker_pool.h"

namespace mixkv_emu::rt {
namespace {

thread_local std::string last_error;

int fail(int status, std::string message) {
    last_error = std::move(message);
    return status;
}

int succeed() {
    last_error.clear();
    return MIXKV_EMU_SUCCESS;
}

// Each worker keeps one fiber per CUDA thread of the largest block it has run (up to 1024), alive
// for the pool's life, and each fiber costs memory mappings: 2 (stack and guard page), and under
// ThreadSanitizer, which counts every fiber as a thread, ~9.5 (its trace and shadow besides). Past
// Linux's default vm.max_map_count (65530) mmap fails: the tsan flavour sized by the core count
// would crash the .NET test host on a machine of 7 cores or more (forced to 7, 8 and 16 workers
// here: "can not mmap thread trace", errno 12), while 4 peaked at 38.7K mappings. So, unless asked,
// one worker per core up to 16, and under TSan 2; that flavour refuses more than 4.
constexpr int kDefaultWorkerLimit = 16;
constexpr int kTsanDefaultWorkers = 2;
constexpr int kTsanWorkerLimit = 4;

// Launch state. Launches are serialised: one grid runs at a time, on all workers.
struct Runtime {
    std::mutex mutex;
    std::unique_ptr<WorkerPool> pool;
    int requested_threads = 0;  // 0: the defaults above
    unsigned long long seed = 0;
    ScheduleMode mode = ScheduleMode::InOrder;

    WorkerPool& ensure_pool() {
        int wanted = requested_threads;
        if (wanted == 0) {
            const int cores = static_cast<int>(std::thread::hardware_concurrency());
            wanted = std::min(cores, tsan::enabled ? kTsanDefaultWorkers : kDefaultWorkerLimit);
        }
        if (wanted < 1) wanted = 1;
        if (!pool || pool->thread_count() != wanted) {
            pool.reset();
            pool = std::make_unique<WorkerPool>(wanted);
        }
        return *pool;
    }
};

Runtime& runtime() {
    static Runtime state;
    return state;
}

std::string dims(unsigned x, unsigned y, unsigned z) {
    return "(" + std::to_string(x) + "," + std::to_string(y) + "," + std::to_string(z) + ")";
}

// CUDA's limits (sm_70 and later), checked before anything runs.
int check_shape(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned shared_bytes) {
    if (gx == 0 || gy == 0 || gz == 0 || gx > 0x7fffffffu || gy > 65535 || gz > 65535)
        return fail(MIXKV_EMU_ERROR_INVALID_VALUE, "grid " + dims(gx, gy, gz) + " is outside (1..2^31-1, 1..65535, 1..65535)");
    if (bx == 0 || by == 0 || bz == 0 || bx > 1024 || by > 1024 || bz > 64)
        return fail(MIXKV_EMU_ERROR_INVALID_VALUE, "block " + dims(bx, by, bz) + " is outside (1..1024, 1..1024, 1..64)");
    const unsigned long long threads = static_cast<unsigned long long>(bx) * by * bz;
    if (threads > kMaxThreadsPerBlock)
        return fail(MIXKV_EMU_ERROR_INVALID_VALUE,
                    "block " + dims(bx, by, bz) + " has " + std::to_string(threads) + " threads; the limit is 1024");
    if (shared_bytes > kMaxDynamicSharedBytes)
        return fail(MIXKV_EMU_ERROR_INVALID_VALUE, "dynamic shared memory of " + std::to_string(shared_bytes) +
                                                       " bytes exceeds the 227 KiB (232448 bytes) per block");
    return MIXKV_EMU_SUCCESS;
}

}  // namespace
}  // namespace mixkv_emu::rt

using namespace mixkv_emu;
using namespace mixkv_emu::rt;

extern "C" {

int mixkv_emu_get_function(const char* name_expression, void** function) {
    if (!name_expression || !function) return fail(MIXKV_EMU_ERROR_INVALID_VALUE, "mixkv_emu_get_function: null argument");
    std::string error;
    const KernelEntry* entry = Registry::instance().find(name_expression, error);
    if (!entry) {
        *function = nullptr;
        return fail(MIXKV_EMU_ERROR_NOT_FOUND, error);
    }
    *function = const_cast<KernelEntry*>(entry);
    return succeed();
}

int mixkv_emu_launch(void* function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                     unsigned shared_bytes, void** args) {
    if (!function || !Registry::instance().contains(function))
        return fail(MIXKV_EMU_ERROR_INVALID_HANDLE, "mixkv_emu_launch: not a function handle from mixkv_emu_get_function");
    const KernelEntry* entry = static_cast<const KernelEntry*>(function);
    if (!args || !args[0])
        return fail(MIXKV_EMU_ERROR_INVALID_VALUE,
                    std::string("mixkv_emu_launch of ") + entry->name + ": args[0] must point to the params struct");
    if (const int status = check_shape(gx, gy, gz, bx, by, bz, shared_bytes); status != MIXKV_EMU_SUCCESS) {
        last_error = std::string("mixkv_emu_launch of ") + entry->name + ": " + last_error;
        return status;
    }
    Runtime& state = runtime();
    std::lock_guard<std::mutex> lock(state.mutex);
    LaunchJob job;
    job.kernel = entry;
    job.params = args[0];
    job.grid = dim3(gx, gy, gz);
    job.block = dim3(bx, by, bz);
    job.shared_bytes = shared_bytes;
    job.seed = state.seed;
    job.mode = state.mode;
    std::string error;
    int status;
    try {
        status = state.ensure_pool().run(job, error);
    } catch (const std::exception& e) {
        return fail(MIXKV_EMU_ERROR_OUT_OF_MEMORY, std::string("mixkv_emu_launch: cannot start worker threads: ") + e.what());
    }
    return status == MIXKV_EMU_SUCCESS ? succeed() : fail(status, error);
}

int mixkv_emu_set_schedule(unsigned long long seed, int mode) {
    if (mode != 0 && mode != 1)
        return fail(MIXKV_EMU_ERROR_INVALID_VALUE, "mixkv_emu_set_schedule: mode must be 0 (in order) or 1 (random)");
    Runtime& state = runtime();
    std::lock_guard<std::mutex> lock(state.mutex);
    state.seed = seed;
    state.mode = static_cast<ScheduleMode>(mode);
    return succeed();
}

int mixkv_emu_set_worker_threads(int n) {
    if (n < 0 || n > 1024) return fail(MIXKV_EMU_ERROR_INVALID_VALUE, "mixkv_emu_set_worker_threads: n must be 0..1024");
    if (tsan::enabled && n > kTsanWorkerLimit)
        return fail(MIXKV_EMU_ERROR_INVALID_VALUE, "mixkv_emu_set_worker_threads: " + std::to_string(n) +
                                                       " workers under ThreadSanitizer would keep up to " + std::to_string(n * 1024) +
                                                       " fibers mapped as threads (~9.5 mappings each) against Linux's default"
                                                       " 65530 per process; use at most " + std::to_string(kTsanWorkerLimit));
    Runtime& state = runtime();
    std::lock_guard<std::mutex> lock(state.mutex);
    state.requested_threads = n;  // the pool is rebuilt at the next launch
    return succeed();
}

const char* mixkv_emu_last_error(void) { return last_error.c_str(); }

int mixkv_emu_function_count(void) { return Registry::instance().count(); }

const char* mixkv_emu_function_name(int index) { return Registry::instance().name(index); }

int mixkv_emu_function_params_size(void* function, unsigned long long* size) {
    if (!function || !Registry::instance().contains(function))
        return fail(MIXKV_EMU_ERROR_INVALID_HANDLE, "mixkv_emu_function_params_size: not a function handle");
    if (!size) return fail(MIXKV_EMU_ERROR_INVALID_VALUE, "mixkv_emu_function_params_size: null size");
    *size = static_cast<const KernelEntry*>(function)->params_size;
    return succeed();
}

}  // extern "C"
