// Dynamic shared memory (including more than 48 KiB) and atomics across blocks.
#include <algorithm>
#include <cstdio>
#include <vector>

#include "harness.h"
#include "params.h"

namespace selftest {

void test_dynamic_shared(bool small) {
    const unsigned blocks = small ? 3 : 16, threads = 128;
    for (int words : {1000, 50000}) {
        if (small && words > 1000) continue;
        std::vector<float> output(blocks * threads, -1.0f);
        std::vector<unsigned> misaligned(blocks, 99);
        DynamicSharedParams p{output.data(), misaligned.data(), words};
        mixkv_emu_set_schedule(5, 1);
        if (!run("selftest_dynamic_shared", Dims{blocks}, Dims{threads}, static_cast<unsigned>(words * sizeof(float)), p))
            continue;
        bool ok = true;
        for (unsigned b = 0; b < blocks; ++b) {
            ok &= expect(misaligned[b] == 0, "dynamic shared buffer is 16-byte aligned");
            for (unsigned t = 0; t < threads; ++t) {
                float sum = 0.0f;
                for (int i = static_cast<int>(t); i < words; i += threads)
                    sum += static_cast<float>((words - 1 - i) % 7 + static_cast<int>(b));
                ok &= output[b * threads + t] == sum;
            }
        }
        expect(ok, "selftest_dynamic_shared with " + std::to_string(words * 4) + " bytes");
    }
    mixkv_emu_set_schedule(0, 0);
}

void test_atomics(bool small) {
    const unsigned blocks = small ? 4 : 200, threads = 256, total = blocks * threads;
    int counter = 0, max_int = -1, cas_counter = 0, block_max = -1;
    unsigned long long sum = 0;
    float fsum = 0.0f;
    unsigned min_uint = 0xffffffffu, or_bits = 0, and_bits = 0xffffffffu, exch = 0xffffffffu;
    unsigned histogram[16] = {};
    AtomicsParams p{&counter, &sum, &fsum, &max_int, &min_uint, &or_bits, &and_bits, &cas_counter, &exch, histogram, &block_max};
    if (!run("selftest_atomics", Dims{blocks}, Dims{threads}, 0, p)) return;
    const unsigned long long expected_sum = static_cast<unsigned long long>(total) * (total - 1) / 2;
    int expected_block_max = 0;
    for (unsigned g = 0; g < total; ++g) expected_block_max = std::max(expected_block_max, static_cast<int>(g * 7 % 1000));
    bool histogram_ok = true;
    for (unsigned b = 0; b < 16; ++b) histogram_ok &= histogram[b] == total / 16;
    expect(counter == static_cast<int>(total), "atomicAdd(int) counter " + std::to_string(counter));
    expect(sum == expected_sum, "atomicAdd(unsigned long long)");
    expect(fsum == static_cast<float>(total), "atomicAdd(float)");
    expect(max_int == static_cast<int>(total - 1), "atomicMax(int)");
    expect(min_uint == 1000000u - (total - 1), "atomicMin(unsigned)");
    expect(or_bits == 0xffffffffu, "atomicOr");
    expect(and_bits == 0x80000000u, "atomicAnd");
    expect(cas_counter == static_cast<int>(total), "atomicCAS loop " + std::to_string(cas_counter));
    expect(exch < total, "atomicExch");
    expect(histogram_ok, "shared-memory histogram merged with atomicAdd(unsigned)");
    expect(block_max == expected_block_max, "shared atomicMax then global atomicMax");
    if (!small) std::printf("atomics: %u blocks x %u threads, all counters exact\n", blocks, threads);
}

}  // namespace selftest
