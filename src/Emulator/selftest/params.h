// Params structs of the self-test kernels, shared by the kernels (.cu) and the
// C++ driver, as the C# side shares the production params layouts.
// No includes: kernel files include it inside their per-file namespace.
#ifndef MIXKV_EMU_SELFTEST_PARAMS_H
#define MIXKV_EMU_SELFTEST_PARAMS_H

struct BlockSumParams {
    const int* input;      // per_block ints per block
    long long* output;     // one sum per block
    int per_block;
};

struct ReverseParams {
    const int* input;      // blockDim.x ints per block
    int* output;
};

struct DynamicSharedParams {
    float* output;         // blockDim.x floats per block
    unsigned* misaligned;  // per block: address of the buffer modulo 16
    int words;             // floats of dynamic shared memory used
};

struct AtomicsParams {
    int* counter_int;
    unsigned long long* sum_u64;
    float* sum_float;
    int* max_int;
    unsigned* min_uint;
    unsigned* or_bits;
    unsigned* and_bits;
    int* cas_counter;
    unsigned* exch_slot;
    unsigned* histogram;   // 16 bins, merged from per-block shared histograms
    int* block_max;        // maximum over the per-block shared maxima
};

struct VoteParams {
    unsigned* output;      // kVoteFields per thread
};
#define MIXKV_SELFTEST_VOTE_FIELDS 10

struct ShuffleParams {
    void* output;          // 4 values of T per thread: up, down, xor, idx
    int width;
    unsigned delta;
    int lane_mask;
    int src_lane;
};

struct IndicesParams {
    unsigned* output;      // 4 packed words per thread: threadIdx, blockIdx, blockDim, gridDim
};

struct RoundingParams {
    const float* input;
    unsigned short* f16;   // mixkv_from_float(input[i], mixkv_f16)
    unsigned short* bf16;  // mixkv_from_float(input[i], mixkv_bf16)
    int count;
    int reserved;
};

struct WgmmaParams {
    const unsigned short* a;  // [rows, depth] 16-bit values, row-major
    const unsigned short* b;  // [64, depth], row-major: the B operand's K-major rows
    const float* c;           // [rows, 64]: the accumulators before the first product
    float* d;                 // [rows, 64]
    int depth;                // K: a multiple of 16, at most 128
    int accumulate;           // 0: the first product ignores c (scale-d off)
};

struct ErrorParams {
    int* output;
    unsigned victim;
};

#endif
