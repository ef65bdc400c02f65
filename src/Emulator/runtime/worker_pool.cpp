#include "worker_pool.h"

#include "block_scheduler.h"
#include "mixkv_emu_api.h"

namespace mixkv_emu::rt {

WorkerPool::WorkerPool(int thread_count) {
    for (int i = 0; i < thread_count; ++i) workers_.push_back(std::make_unique<Worker>());
    for (auto& worker : workers_) threads_.emplace_back([this, w = worker.get()] { worker_main(*w); });
}

WorkerPool::~WorkerPool() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stop_ = true;
    }
    start_.notify_all();
    for (auto& thread : threads_) thread.join();
}

int WorkerPool::run(const LaunchJob& job, std::string& error) {
    std::unique_lock<std::mutex> lock(mutex_);
    job_ = &job;
    next_block_.store(0);
    failed_.store(false);
    status_ = MIXKV_EMU_SUCCESS;
    error_.clear();
    busy_ = static_cast<int>(threads_.size());
    ++generation_;
    start_.notify_all();
    done_.wait(lock, [this] { return busy_ == 0; });
    job_ = nullptr;
    error = error_;
    return status_;
}

void WorkerPool::worker_main(Worker& worker) {
    worker.attach_thread();
    unsigned long long seen = 0;
    for (;;) {
        const LaunchJob* job;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            start_.wait(lock, [&] { return stop_ || generation_ != seen; });
            if (stop_) return;
            seen = generation_;
            job = job_;
        }
        run_blocks(worker, *job);
        std::lock_guard<std::mutex> lock(mutex_);
        if (--busy_ == 0) done_.notify_all();
    }
}

void WorkerPool::run_blocks(Worker& worker, const LaunchJob& job) {
    const unsigned long long total = static_cast<unsigned long long>(job.grid.x) * job.grid.y * job.grid.z;
    while (!failed_.load(std::memory_order_relaxed)) {
        const unsigned long long block = next_block_.fetch_add(1);
        if (block >= total) return;
        std::string error;
        const int status = run_block(worker, job, block, error);
        if (status == MIXKV_EMU_SUCCESS) continue;
        std::lock_guard<std::mutex> lock(mutex_);
        // The first failure wins; the other workers stop taking blocks.
        if (!failed_.exchange(true)) {
            status_ = status;
            error_ = std::move(error);
        }
    }
}

}  // namespace mixkv_emu::rt
