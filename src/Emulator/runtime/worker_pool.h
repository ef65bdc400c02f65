// OS worker threads that take the blocks of a grid one at a time.
#pragma once
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "worker.h"

namespace mixkv_emu::rt {

class WorkerPool {
public:
    explicit WorkerPool(int thread_count);
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    int thread_count() const { return static_cast<int>(threads_.size()); }
    // Runs the whole grid; returns a mixkv_emu status, `error` set on failure.
    // Not re-entrant: the caller serialises launches.
    int run(const LaunchJob& job, std::string& error);

private:
    void worker_main(Worker& worker);
    void run_blocks(Worker& worker, const LaunchJob& job);

    std::vector<std::unique_ptr<Worker>> workers_;
    std::vector<std::thread> threads_;

    std::mutex mutex_;
    std::condition_variable start_;
    std::condition_variable done_;
    const LaunchJob* job_ = nullptr;
    unsigned long long generation_ = 0;
    int busy_ = 0;
    bool stop_ = false;

    std::atomic<unsigned long long> next_block_{0};
    std::atomic<bool> failed_{false};
    int status_ = 0;
    std::string error_;
};

}  // namespace mixkv_emu::rt
