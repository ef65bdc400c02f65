// Self-test kernel: __activemask, ballot/any/all, __syncthreads_count/and/or,
// __syncwarp, with a partial last warp and lanes that exit early.
// Launch: 1-D blocks of 48 threads (one full warp, one of 16 lanes).
#include "common/portability.cuh"
#include "params.h"

__global__ void selftest_votes(const VoteParams p) {
    const unsigned t = threadIdx.x, lane = t & 31u;
    unsigned* out = p.output + (blockIdx.x * blockDim.x + t) * MIXKV_SELFTEST_VOTE_FIELDS;
    const unsigned converged = __activemask();
    const int pred = (t % 3) == 0;
    out[0] = converged;
    out[1] = __ballot_sync(converged, pred);
    out[2] = static_cast<unsigned>(__any_sync(converged, t == 5));
    out[3] = static_cast<unsigned>(__all_sync(converged, t < 40));
    out[4] = static_cast<unsigned>(__syncthreads_count(pred));
    out[5] = static_cast<unsigned>(__syncthreads_and(t < 100));
    out[6] = static_cast<unsigned>(__syncthreads_or(t == 47));
    for (int k = 7; k < MIXKV_SELFTEST_VOTE_FIELDS; ++k) out[k] = 0xdeadbeefu;
    // Lanes 20..31 leave; the others vote among the lanes still active.
    if (lane >= 20) return;
    const unsigned remaining = __activemask();
    out[7] = remaining;
    out[8] = __ballot_sync(remaining, lane & 1u);
    __syncwarp(remaining);
    out[9] = static_cast<unsigned>(__all_sync(remaining, lane < 20));
}

MIXKV_KERNEL_INSTANCE("selftest_votes", selftest_votes, VoteParams)
