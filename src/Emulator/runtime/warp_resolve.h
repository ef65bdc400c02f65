// Completing rendezvous once every runnable fiber of a block has blocked:
// warp collectives first (only the lanes named by a mask wait), then __syncthreads.
#pragma once
#include <string>

#include "worker.h"

namespace mixkv_emu::rt {

// Completes every warp group whose named lanes have all arrived at the same
// collective with the same mask; appends their lanes to worker.runnable.
// Returns whether any group completed.
bool resolve_warp_ops(Worker& worker, unsigned thread_count);

// Releases __syncthreads when every fiber that has not exited waits there (exited
// fibers count as arrived, as on sm_70+). Returns whether it released.
bool release_block_barrier(Worker& worker, unsigned thread_count);

// Why a block with blocked fibers can make no progress (error message).
std::string diagnose_stuck_block(const Worker& worker, unsigned thread_count);

}  // namespace mixkv_emu::rt
