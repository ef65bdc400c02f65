// The planted missing __syncthreads: the correct kernel must give the same (right)
// result under every seed; the racy one must differ from it under random schedules.
#include <cstdio>
#include <vector>

#include "harness.h"
#include "params.h"

namespace selftest {
namespace {

std::vector<int> reverse_once(const char* name, const std::vector<int>& input, unsigned blocks, unsigned threads) {
    std::vector<int> output(input.size(), 0);
    ReverseParams p{input.data(), output.data()};
    run(name, Dims{blocks}, Dims{threads}, 0, p);
    return output;
}

std::vector<int> make_input(unsigned blocks, unsigned threads) {
    std::vector<int> input(static_cast<std::size_t>(blocks) * threads);
    for (std::size_t i = 0; i < input.size(); ++i) input[i] = static_cast<int>(i * 2654435761u % 100000);
    return input;
}

}  // namespace

void test_race_detection(bool small) {
    const unsigned blocks = small ? 4 : 32, threads = 256;
    const int seeds = small ? 3 : 20;
    const std::vector<int> input = make_input(blocks, threads);
    std::vector<int> expected(input.size());
    for (unsigned b = 0; b < blocks; ++b)
        for (unsigned t = 0; t < threads; ++t) expected[b * threads + t] = input[b * threads + threads - 1 - t];

    int correct_ok = 0, racy_caught = 0;
    for (int seed = 1; seed <= seeds; ++seed) {
        mixkv_emu_set_schedule(static_cast<unsigned long long>(seed) * 7919, 1);
        correct_ok += reverse_once("selftest_reverse<true>", input, blocks, threads) == expected;
        if (!small) racy_caught += reverse_once("selftest_reverse<false>", input, blocks, threads) != expected;
    }
    expect(correct_ok == seeds, "selftest_reverse<true>: right and identical under " + std::to_string(correct_ok) + "/" +
                                    std::to_string(seeds) + " seeds");
    if (small) return;
    mixkv_emu_set_schedule(0, 0);
    const bool caught_in_order = reverse_once("selftest_reverse<false>", input, blocks, threads) != expected;
    std::printf("race: planted missing __syncthreads changed the result under %d/%d random seeds (in order: %s); "
                "correct kernel identical under %d/%d\n",
                racy_caught, seeds, caught_in_order ? "caught" : "hidden", correct_ok, seeds);
    expect(racy_caught == seeds, "planted race caught under every seed");
}

void test_planted_race_once() {
    const unsigned blocks = 2, threads = 64;
    const std::vector<int> input = make_input(blocks, threads);
    mixkv_emu_set_schedule(1, 1);
    reverse_once("selftest_reverse<false>", input, blocks, threads);
}

}  // namespace selftest
