// The per-CUDA-thread values kernel code reads (threadIdx & co.).
// Each fiber owns one ThreadView; the scheduler points tls_view at it before it
// switches into the fiber, so a kernel reads its indices with one TLS load.
#pragma once
#include "types.h"

namespace mixkv_emu {

struct ThreadView {
    uint3 thread_idx;
    uint3 block_idx;
    dim3 block_dim;
    dim3 grid_dim;
    unsigned char* dynamic_shared;  // this block's dynamic shared memory, 128-byte aligned
    unsigned long long block_serial;  // different for every block a worker runs (block-scoped state keyed by it starts afresh)
};

// Default (global-dynamic) TLS model: an initial-exec variable would mark the whole
// library STATIC_TLS, and its block (static __shared__ arrays live in TLS too) does not
// fit glibc's static surplus when dotnet dlopens it ("cannot allocate memory in static
// TLS block").
extern thread_local const ThreadView* tls_view;

}  // namespace mixkv_emu

#define threadIdx (::mixkv_emu::tls_view->thread_idx)
#define blockIdx (::mixkv_emu::tls_view->block_idx)
#define blockDim (::mixkv_emu::tls_view->block_dim)
#define gridDim (::mixkv_emu::tls_view->grid_dim)
// Not CUDA: which block this is, among every block the worker has run (kernels/common/wgmma.cuh's queue).
#define MIXKV_EMU_BLOCK_SERIAL (::mixkv_emu::tls_view->block_serial)

constexpr int warpSize = 32;

// Dynamic shared memory is one buffer per block; the type only fixes the view of it.
#define MIXKV_DYNAMIC_SHARED(type, name) \
    type* const name = reinterpret_cast<type*>(::mixkv_emu::tls_view->dynamic_shared)
