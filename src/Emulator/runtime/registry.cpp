#include "registry.h"

#include <algorithm>

namespace mixkv_emu {
void register_kernel(const KernelEntry& entry) { rt::Registry::instance().add(entry); }
}  // namespace mixkv_emu

namespace mixkv_emu::rt {

Registry& Registry::instance() {
    // Function-local, so it exists before the first kernel TU's static initialiser runs.
    static Registry registry;
    return registry;
}

void Registry::add(const KernelEntry& entry) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = by_name_.find(entry.name);
    if (found != by_name_.end()) {
        duplicates_[entry.name] = std::string(found->second->file) + ":" + std::to_string(found->second->line) + " and " +
                                  entry.file + ":" + std::to_string(entry.line);
        return;
    }
    entries_.push_back(std::make_unique<KernelEntry>(entry));
    by_name_.emplace(entry.name, entries_.back().get());
}

const KernelEntry* Registry::find(const char* name, std::string& error) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto duplicate = duplicates_.find(name);
    if (duplicate != duplicates_.end()) {
        error = std::string("kernel \"") + name + "\" is registered twice: " + duplicate->second;
        return nullptr;
    }
    auto found = by_name_.find(name);
    if (found == by_name_.end()) {
        error = std::string("no kernel registered under the name expression \"") + name + "\" (" +
                std::to_string(entries_.size()) + " registered; see mixkv_emu_function_name)";
        return nullptr;
    }
    return found->second;
}

bool Registry::contains(const void* handle) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) { return e.get() == handle; });
}

int Registry::count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int>(entries_.size());
}

const char* Registry::name(int index) const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (index < 0 || index >= static_cast<int>(entries_.size())) return nullptr;
    return entries_[static_cast<std::size_t>(index)]->name;
}

}  // namespace mixkv_emu::rt
