// Runs one thread block on the calling worker: all its CUDA threads as fibers,
// each up to its next rendezvous, in order or in a seeded random order.
#pragma once
#include <string>

#include "worker.h"

namespace mixkv_emu::rt {

// Returns a mixkv_emu status (0 on success); on failure `error` says why.
int run_block(Worker& worker, const LaunchJob& job, unsigned long long block_linear, std::string& error);

}  // namespace mixkv_emu::rt
