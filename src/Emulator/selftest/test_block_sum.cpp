// Block sum (warp shuffles + shared memory) against the host's exact integer sums,
// in order and under random schedules, with timings of 64 blocks x 256 threads.
#include <cstdio>
#include <random>
#include <vector>

#include "harness.h"
#include "params.h"

namespace selftest {
namespace {

bool sums_match(const char* name, const std::vector<int>& input, int blocks, int per_block, unsigned threads) {
    std::vector<long long> output(static_cast<std::size_t>(blocks), -1);
    BlockSumParams p{input.data(), output.data(), per_block};
    if (!run(name, Dims{static_cast<unsigned>(blocks)}, Dims{threads}, 0, p)) return false;
    for (int b = 0; b < blocks; ++b) {
        long long expected = 0;
        for (int i = 0; i < per_block; ++i) expected += input[static_cast<std::size_t>(b) * per_block + i];
        if (!expect(output[static_cast<std::size_t>(b)] == expected,
                    std::string(name) + ": block " + std::to_string(b) + " sum " + std::to_string(output[b]) +
                        " != " + std::to_string(expected)))
            return false;
    }
    return true;
}

}  // namespace

void test_block_sum(bool small) {
    const int blocks = small ? 6 : 64, per_block = small ? 512 : 4096;
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> value(-1000000, 1000000);
    std::vector<int> input(static_cast<std::size_t>(blocks) * per_block);
    for (int& v : input) v = value(rng);

    const unsigned shapes[] = {32, 96, 256, 1024};
    for (unsigned threads : shapes) {
        for (int mode = 0; mode < 2; ++mode) {
            mixkv_emu_set_schedule(12345, mode);
            sums_match("selftest_block_sum<int>", input, blocks, per_block, threads);
            sums_match("selftest_block_sum<long long>", input, blocks, per_block, threads);
        }
    }
    if (small) return;

    // Timings: 64 blocks x 256 threads over 4096 ints each.
    const int default_threads = 0;
    for (int workers : {1, default_threads}) {
        mixkv_emu_set_worker_threads(workers);
        for (int mode = 0; mode < 2; ++mode) {
            mixkv_emu_set_schedule(99, mode);
            sums_match("selftest_block_sum<int>", input, blocks, per_block, 256);  // warm-up: stacks, pool
            std::vector<long long> output(static_cast<std::size_t>(blocks));
            BlockSumParams p{input.data(), output.data(), per_block};
            double best = 1e30;
            for (int rep = 0; rep < 5; ++rep) {
                const auto start = Clock::now();
                run("selftest_block_sum<int>", Dims{static_cast<unsigned>(blocks)}, Dims{256}, 0, p);
                const double ms = ms_since(start);
                best = ms < best ? ms : best;
            }
            std::printf("timing: block_sum 64 blocks x 256 threads x 4096 ints, %s workers, %s order: %.2f ms (best of 5)\n",
                        workers ? "1" : "all", mode ? "random" : "in", best);
        }
    }
    mixkv_emu_set_worker_threads(0);
    mixkv_emu_set_schedule(0, 0);
}

}  // namespace selftest
