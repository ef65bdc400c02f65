// Text for error messages: which kernel, block and thread went wrong.
#pragma once
#include <string>

#include "fiber.h"
#include "worker.h"

namespace mixkv_emu::rt {

std::string describe_block(const Worker& worker);   // "<kernel> block (x,y,z)"
std::string describe_thread(const Fiber& fiber);    // "thread (x,y,z)"
std::string hex_mask(unsigned mask);                // "0xffffffff"

}  // namespace mixkv_emu::rt
