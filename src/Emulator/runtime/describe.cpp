#include "describe.h"

#include <cstdio>

namespace mixkv_emu::rt {

std::string describe_block(const Worker& worker) {
    char text[96];
    std::snprintf(text, sizeof text, " block (%u,%u,%u)", worker.block_idx.x, worker.block_idx.y, worker.block_idx.z);
    return std::string(worker.job->kernel->name) + text;
}

std::string describe_thread(const Fiber& fiber) {
    char text[64];
    const uint3& t = fiber.view.thread_idx;
    std::snprintf(text, sizeof text, "thread (%u,%u,%u)", t.x, t.y, t.z);
    return text;
}

std::string hex_mask(unsigned mask) {
    char text[16];
    std::snprintf(text, sizeof text, "0x%08x", mask);
    return text;
}

}  // namespace mixkv_emu::rt
