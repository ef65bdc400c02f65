// The head lengths of every method (spec section 5), on the device so AdaKV's caps (kernels/adakv.cu)
// never make the host wait:
//   head_lengths      grid 1, 32 threads: len_h = cap_h + W (caps from the device, or one uniform
//                     cap for SnapKV/PyramidKV), cu_lens = exclusive prefix sum.
#include "common/portability.cuh"

struct HeadLengthsParams {
    const int* caps;           // [Hkv] or null: every head uses uniform_cap
    const int* status;         // validate.cu's word, or null: non-zero means write nothing
    int* head_lens;            // [Hkv]
    int* cu_lens;              // [Hkv + 1]
    int heads;
    int uniform_cap;
    int window;                // rows always kept after the cap
    int reserved;
};

__global__ void head_lengths(const HeadLengthsParams p)
{
    MIXKV_GRID_DEPENDENCY();
    if (p.status && *p.status) {
        return;
    }
    if (threadIdx.x == 0) {
        int offset = 0;
        p.cu_lens[0] = 0;
        for (int h = 0; h < p.heads; ++h) {
            const int len = (p.caps ? p.caps[h] : p.uniform_cap) + p.window;
            p.head_lens[h] = len;
            offset += len;
            p.cu_lens[h + 1] = offset;
        }
    }
}

MIXKV_KERNEL_INSTANCE("head_lengths", head_lengths, HeadLengthsParams)
