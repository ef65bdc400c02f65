#include "worker.h"

#include <cstdio>
#include <cstdlib>

#include "tsan.h"

namespace mixkv_emu::rt {

Worker::Worker() : fibers(new Fiber[kMaxThreadsPerBlock]) {
    // 128-byte alignment covers every vector type a kernel may view the buffer as.
    dynamic_shared = static_cast<unsigned char*>(std::aligned_alloc(128, kMaxDynamicSharedBytes));
    runnable.reserve(kMaxThreadsPerBlock);
    order.reserve(kMaxThreadsPerBlock);
}

Worker::~Worker() {
    for (unsigned i = 0; i < fibers_ready; ++i) {
        free_stack(fibers[i]);
        if (fibers[i].tsan_fiber) tsan::destroy_fiber(fibers[i].tsan_fiber);
    }
    std::free(dynamic_shared);
}

void Worker::attach_thread() {
    scheduler_tsan_fiber = tsan::current_fiber();
    // Touching the library's thread-local storage here makes glibc allocate this thread's
    // TLS block for the library now, on the scheduler, before the first block-start
    // release; allocated lazily from inside a block's set-up, TSan would see the fibers'
    // first __shared__ accesses race with that allocation.
    tls_view = nullptr;
}

bool Worker::ensure_fibers(unsigned count) {
    if (!dynamic_shared) return false;
    for (; fibers_ready < count; ++fibers_ready) {
        Fiber& fiber = fibers[fibers_ready];
        if (!allocate_stack(fiber)) return false;
        fiber.worker = this;
        fiber.linear = fibers_ready;
        if constexpr (tsan::enabled) {
            fiber.tsan_fiber = tsan::create_fiber();
            char name[48];
            std::snprintf(name, sizeof name, "CUDA thread (linear index %u)", fibers_ready);
            tsan::name_fiber(fiber.tsan_fiber, name);
        }
    }
    return true;
}

}  // namespace mixkv_emu::rt
