// Failures must come back as statuses with a message, and leave the runtime usable.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "harness.h"
#include "params.h"

namespace selftest {
namespace {


void expect_status(int status, int wanted, const char* text, const std::string& what) {
    const std::string message = mixkv_emu_last_error();
    expect(status == wanted && message.find(text) != std::string::npos,
           what + ": status " + std::to_string(status) + " (wanted " + std::to_string(wanted) + "), message \"" + message + "\"");
    std::printf("error case: %-28s -> %d \"%s\"\n", what.c_str(), status, message.c_str());
}

}  // namespace

void test_errors() {
    void* f = nullptr;
    expect_status(mixkv_emu_get_function("no_such_kernel<float>", &f), MIXKV_EMU_ERROR_NOT_FOUND, "no_such_kernel<float>",
                  "unknown name");

    std::vector<int> out(2048, 0);
    ErrorParams p{out.data(), 37};
    expect_status(launch("selftest_early_exit", Dims{1}, Dims{1025}, 0, p), MIXKV_EMU_ERROR_INVALID_VALUE, "1024",
                  "1025 threads");
    expect_status(launch("selftest_early_exit", Dims{1}, Dims{32, 32, 2}, 0, p), MIXKV_EMU_ERROR_INVALID_VALUE, "2048 threads",
                  "32x32x2 threads");
    expect_status(launch("selftest_early_exit", Dims{1}, Dims{32}, 227 * 1024 + 1, p), MIXKV_EMU_ERROR_INVALID_VALUE, "227 KiB",
                  "shared memory > 227 KiB");
    expect_status(mixkv_emu_launch(function("selftest_early_exit"), 1, 1, 1, 32, 1, 1, 0, nullptr), MIXKV_EMU_ERROR_INVALID_VALUE,
                  "args[0]", "null args");
    int bogus = 0;
    void* args[] = {&p};
    expect_status(mixkv_emu_launch(&bogus, 1, 1, 1, 32, 1, 1, 0, args), MIXKV_EMU_ERROR_INVALID_HANDLE, "handle", "bad handle");
    expect_status(mixkv_emu_set_schedule(1, 2), MIXKV_EMU_ERROR_INVALID_VALUE, "mode", "bad schedule mode");

    expect_status(launch("selftest_trap", Dims{4}, Dims{64}, 0, p), MIXKV_EMU_ERROR_ILLEGAL_INSTRUCTION, "thread (37,0,0)",
                  "__trap");
    expect_status(launch("selftest_barrier_divergence", Dims{2}, Dims{64}, 0, p), MIXKV_EMU_ERROR_LAUNCH_FAILED,
                  "barrier divergence in selftest_barrier_divergence", "barrier divergence");
    p.victim = 3;
    expect_status(launch("selftest_exited_lane", Dims{1}, Dims{32}, 0, p), MIXKV_EMU_ERROR_LAUNCH_FAILED, "has exited",
                  "warp op naming exited lane");

    // Threads that return before __syncthreads count as arrived (sm_70+).
    p.victim = 100;
    std::fill(out.begin(), out.end(), -1);
    if (run("selftest_early_exit", Dims{1}, Dims{256}, 0, p)) {
        bool ok = true;
        for (int t = 0; t < 256; ++t) ok &= out[t] == (t < 100 ? t : -1);
        expect(ok, "selftest_early_exit output");
    }
    unsigned long long size = 0;
    expect(mixkv_emu_function_params_size(function("selftest_trap"), &size) == 0 && size == sizeof(ErrorParams),
           "params size reported");
}

// Under TSan every fiber of every worker is mapped as a thread; past 4 workers a process can run
// out of mappings mid-run (runtime/api.cpp), so that flavour refuses the count up front.
void test_worker_counts(bool tsan) {
    expect_status(mixkv_emu_set_worker_threads(-1), MIXKV_EMU_ERROR_INVALID_VALUE, "0..1024", "-1 workers");
    expect_status(mixkv_emu_set_worker_threads(1025), MIXKV_EMU_ERROR_INVALID_VALUE, "0..1024", "1025 workers");
    if (tsan) expect_status(mixkv_emu_set_worker_threads(5), MIXKV_EMU_ERROR_INVALID_VALUE, "at most 4", "5 workers under TSan");
    const int most = tsan ? 4 : 5;
    expect(mixkv_emu_set_worker_threads(most) == MIXKV_EMU_SUCCESS, std::to_string(most) + " workers accepted");
    std::vector<int> out(256, -1);
    ErrorParams p{out.data(), 256};
    if (run("selftest_early_exit", Dims{1}, Dims{256}, 0, p)) {  // one block: blocks would race on out
        bool ok = true;
        for (int t = 0; t < 256; ++t) ok &= out[t] == t;
        expect(ok, "selftest_early_exit output on " + std::to_string(most) + " workers");
    }
    mixkv_emu_set_worker_threads(0);  // back to the flavour's default
}

}  // namespace selftest
