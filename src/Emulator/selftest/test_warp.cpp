// Votes (with a partial warp and early-exited lanes) and shuffles with width < 32,
// against expectations written from the CUDA programming guide's definitions.
#include <cstdio>
#include <vector>

#include "harness.h"
#include "params.h"

namespace selftest {
namespace {

unsigned expected_vote(unsigned t, int field) {
    const unsigned warp = t / 32, lane = t % 32;
    const unsigned converged = warp == 0 ? 0xffffffffu : 0x0000ffffu;
    unsigned ballot = 0;
    for (unsigned l = 0; l < 32; ++l)
        if (((converged >> l) & 1u) && (warp * 32 + l) % 3 == 0) ballot |= 1u << l;
    const unsigned remaining = warp == 0 ? 0x000fffffu : 0x0000ffffu;
    switch (field) {
        case 0: return converged;
        case 1: return ballot;
        case 2: return warp == 0 ? 1 : 0;  // any(t == 5)
        case 3: return warp == 0 ? 1 : 0;  // all(t < 40)
        case 4: return 16;                 // count(t % 3 == 0) over 48 threads
        case 5: return 1;
        case 6: return 1;
        default: break;
    }
    if (lane >= 20) return 0xdeadbeefu;
    switch (field) {
        case 7: return remaining;
        case 8: return remaining & 0xaaaaaaaau;
        default: return 1;
    }
}

template <typename T>
T shuffle_expected(const std::vector<T>& v, unsigned t, int op, const ShuffleParams& p) {
    const unsigned w = static_cast<unsigned>(p.width), lane = t % 32, warp_base = t - lane;
    const unsigned seg = lane - lane % w;
    unsigned src = lane;
    switch (op) {
        case 0: src = lane % w >= p.delta ? lane - p.delta : lane; break;
        case 1: src = lane % w + p.delta < w ? lane + p.delta : lane; break;
        case 2: src = lane ^ static_cast<unsigned>(p.lane_mask); src = src < seg + w ? src : lane; break;  // earlier groups allowed
        case 3: src = seg + static_cast<unsigned>(p.src_lane) % w; break;
    }
    return v[warp_base + src];
}

template <typename T>
void check_shuffles(const char* name) {
    const unsigned blocks = 2, threads = 64, total = blocks * threads;
    std::vector<T> value(total);
    for (unsigned t = 0; t < total; ++t) value[t] = static_cast<T>(t * 3 + 1) + static_cast<T>(0.5);
    const int widths[] = {4, 8, 16, 32};
    for (int width : widths) {
        std::vector<T> output(total * 4);
        ShuffleParams p{output.data(), width, 3u, 9, 11};
        if (!run(name, Dims{blocks}, Dims{threads}, 0, p)) continue;
        int wrong = 0;
        for (unsigned t = 0; t < total; ++t)
            for (int op = 0; op < 4; ++op) wrong += output[t * 4 + op] != shuffle_expected(value, t, op, p);
        expect(wrong == 0, std::string(name) + " width " + std::to_string(width) + ": " + std::to_string(wrong) + " wrong values");
    }
}

}  // namespace

void test_votes() {
    const unsigned blocks = 2, threads = 48;
    for (int mode = 0; mode < 2; ++mode) {
        mixkv_emu_set_schedule(3, mode);
        std::vector<unsigned> output(blocks * threads * MIXKV_SELFTEST_VOTE_FIELDS, 0);
        VoteParams p{output.data()};
        if (!run("selftest_votes", Dims{blocks}, Dims{threads}, 0, p)) continue;
        int wrong = 0;
        for (unsigned g = 0; g < blocks * threads; ++g)
            for (int f = 0; f < MIXKV_SELFTEST_VOTE_FIELDS; ++f) {
                const unsigned got = output[g * MIXKV_SELFTEST_VOTE_FIELDS + f], want = expected_vote(g % threads, f);
                if (got != want && wrong++ < 5) std::printf("  votes: thread %u field %d: 0x%08x, expected 0x%08x\n", g, f, got, want);
            }
        expect(wrong == 0, "selftest_votes: " + std::to_string(wrong) + " wrong fields");
    }
    mixkv_emu_set_schedule(0, 0);
}

void test_shuffles() {
    check_shuffles<int>("selftest_shuffles<int>");
    check_shuffles<double>("selftest_shuffles<double>");
    check_shuffles<unsigned long long>("selftest_shuffles<unsigned long long>");
}

}  // namespace selftest
