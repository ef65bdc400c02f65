#include "harness.h"

#include <cstdio>

namespace selftest {
namespace {
int failures = 0;
}

bool expect(bool ok, const std::string& what) {
    if (!ok) {
        ++failures;
        std::printf("FAIL: %s\n", what.c_str());
    }
    return ok;
}

int failure_count() { return failures; }

void* function(const char* name_expression) {
    void* f = nullptr;
    const int status = mixkv_emu_get_function(name_expression, &f);
    expect(status == MIXKV_EMU_SUCCESS, std::string("look-up of ") + name_expression + ": " + mixkv_emu_last_error());
    return f;
}

}  // namespace selftest
