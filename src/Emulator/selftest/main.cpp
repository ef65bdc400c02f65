// Self-test driver of the CPU runtime. Exit status: number of failed checks
// (capped), 0 when all pass.
//   (no argument)   every test, with timings
//   --tsan-clean    correct kernels only, small sizes (for the TSan build: no report expected)
//   --tsan-race     the planted missing __syncthreads once (TSan must report it)
#include <cstdio>
#include <cstring>

#include "harness.h"

using namespace selftest;

int main(int argc, char** argv) {
    const char* mode = argc > 1 ? argv[1] : "";
    std::printf("mixkv_emu self-test: %d kernels registered\n", mixkv_emu_function_count());
    // The tsan flavour runs 2 workers unless told (runtime/api.cpp): TSan counts each fiber as a thread.
    if (std::strcmp(mode, "--tsan-race") == 0) {
        test_planted_race_once();
        return 0;  // TSan's exit code says whether it reported
    }
    if (std::strcmp(mode, "--tsan-clean") == 0) {
        test_block_sum(true);
        test_race_detection(true);
        test_dynamic_shared(true);
        test_atomics(true);
        test_votes();
        test_shuffles();
        test_indices();
        test_worker_counts(true);
    } else {
        test_block_sum(false);
        test_race_detection(false);
        test_dynamic_shared(false);
        test_atomics(false);
        test_votes();
        test_shuffles();
        test_indices();
        test_errors();
        test_worker_counts(false);
    }
    const int failures = failure_count();
    std::printf("%s: %d failed check(s)\n", failures ? "FAILED" : "PASSED", failures);
    return failures > 100 ? 100 : failures;
}
