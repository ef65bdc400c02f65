// Kernel instances by NVRTC name expression, filled at load time by the
// MIXKV_KERNEL_INSTANCE lines of every kernel translation unit.
#pragma once
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "mixkv_emu/registry.h"

namespace mixkv_emu::rt {

class Registry {
public:
    static Registry& instance();

    void add(const KernelEntry& entry);
    // Null with `error` set when the name is unknown or registered twice.
    const KernelEntry* find(const char* name, std::string& error) const;
    bool contains(const void* handle) const;
    int count() const;
    const char* name(int index) const;

private:
    mutable std::mutex mutex_;
    std::vector<std::unique_ptr<KernelEntry>> entries_;
    std::unordered_map<std::string, const KernelEntry*> by_name_;
    std::unordered_map<std::string, std::string> duplicates_;  // name -> where both came from
};

}  // namespace mixkv_emu::rt
