// Minimal check-and-launch helpers for the self-test driver. It talks to the
// runtime only through the C ABI, as the C# side does.
#pragma once
#include <chrono>
#include <string>

#include "mixkv_emu_api.h"

namespace selftest {

struct Dims {
    unsigned x = 1, y = 1, z = 1;
};

// Records a failure (and prints it) when `ok` is false; returns `ok`.
bool expect(bool ok, const std::string& what);
int failure_count();

void* function(const char* name_expression);  // a failed look-up is a failure; returns null

template <typename Params>
int launch(const char* name, Dims grid, Dims block, unsigned shared_bytes, Params& params) {
    void* f = function(name);
    if (!f) return -1;
    void* args[] = {&params};
    return mixkv_emu_launch(f, grid.x, grid.y, grid.z, block.x, block.y, block.z, shared_bytes, args);
}

// Launch that must succeed.
template <typename Params>
bool run(const char* name, Dims grid, Dims block, unsigned shared_bytes, Params& params) {
    const int status = launch(name, grid, block, shared_bytes, params);
    return expect(status == MIXKV_EMU_SUCCESS, std::string(name) + " launch: status " + std::to_string(status) + " " +
                                                   mixkv_emu_last_error());
}

using Clock = std::chrono::steady_clock;
inline double ms_since(Clock::time_point start) {
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The tests; `small` shrinks sizes for ThreadSanitizer runs.
void test_block_sum(bool small);
void test_race_detection(bool small);
void test_planted_race_once();
void test_dynamic_shared(bool small);
void test_atomics(bool small);
void test_votes();
void test_shuffles();
void test_indices();
void test_errors();
void test_worker_counts(bool tsan);

}  // namespace selftest
