#include "fiber.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

#include "tsan.h"
#include "worker.h"

namespace mixkv_emu {
thread_local const ThreadView* tls_view = nullptr;
}

namespace mixkv_emu::rt {

thread_local Fiber* tls_fiber = nullptr;

namespace {

using boost::context::detail::jump_fcontext;
using boost::context::detail::make_fcontext;
using boost::context::detail::transfer_t;

std::size_t page_size() {
    static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    return size;
}

[[noreturn]] void fiber_entry(transfer_t from) {
    Fiber& fiber = *static_cast<Fiber*>(from.data);
    Worker& worker = *fiber.worker;
    worker.scheduler_context = from.fctx;
    tsan::acquire(&worker.start_sync);
    worker.job->kernel->invoke(worker.job->params);
    tsan::release(&worker.end_sync);
    fiber.state = FiberState::Exited;
    yield(fiber);
    // The scheduler never resumes an exited fiber: it remakes the context per block.
    std::abort();
}

}  // namespace

bool allocate_stack(Fiber& fiber) {
    if (fiber.stack_mapping) return true;
    const std::size_t guard = page_size();
    const std::size_t size = guard + kFiberStackBytes;
    void* mapping = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapping == MAP_FAILED) return false;
    if (mprotect(mapping, guard, PROT_NONE) != 0) {
        munmap(mapping, size);
        return false;
    }
    fiber.stack_mapping = mapping;
    fiber.mapping_size = size;
    return true;
}

void free_stack(Fiber& fiber) {
    if (fiber.stack_mapping) munmap(fiber.stack_mapping, fiber.mapping_size);
    fiber.stack_mapping = nullptr;
    fiber.mapping_size = 0;
}

void reset_context(Fiber& fiber) {
    void* top = static_cast<unsigned char*>(fiber.stack_mapping) + fiber.mapping_size;
    fiber.context = make_fcontext(top, kFiberStackBytes, fiber_entry);
}

void resume(Fiber& fiber) {
    tls_fiber = &fiber;
    tls_view = &fiber.view;
    tsan::switch_to(fiber.tsan_fiber);
    transfer_t back = jump_fcontext(fiber.context, &fiber);
    fiber.context = back.fctx;
    tls_fiber = nullptr;
    tls_view = nullptr;
}

void yield(Fiber& fiber) {
    Worker& worker = *fiber.worker;
    tsan::switch_to(worker.scheduler_tsan_fiber);
    transfer_t back = jump_fcontext(worker.scheduler_context, nullptr);
    worker.scheduler_context = back.fctx;
}

}  // namespace mixkv_emu::rt
