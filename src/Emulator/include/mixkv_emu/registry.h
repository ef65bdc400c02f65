// Registration of host-compiled kernel instances under their NVRTC name expression.
#pragma once
#include <cstddef>
#include <type_traits>

namespace mixkv_emu {

struct KernelEntry {
    const char* name;                 // NVRTC name expression, e.g. "k<float>"
    void (*invoke)(const void* params);
    std::size_t params_size;
    std::size_t params_align;
    const char* file;
    int line;
};

// Called from static initialisers of the kernel translation units (load time).
void register_kernel(const KernelEntry& entry);

template <auto Kernel, typename Params>
struct KernelInstance {
    static_assert(std::is_same_v<decltype(Kernel), void (*)(Params)>,
                  "MIXKV_KERNEL_INSTANCE: the kernel must take exactly one argument, the params struct named last, by value");
    static_assert(std::is_trivially_copyable_v<Params>, "kernel params must be a plain struct (trivially copyable)");
    static void invoke(const void* params) { Kernel(*static_cast<const Params*>(params)); }
};

struct Registrar {
    explicit Registrar(const KernelEntry& entry) { register_kernel(entry); }
};

}  // namespace mixkv_emu

#define MIXKV_EMU_CAT2(a, b) a##b
#define MIXKV_EMU_CAT(a, b) MIXKV_EMU_CAT2(a, b)

// MIXKV_KERNEL_INSTANCE("k<float, 128>", k<float, 128>, KParams)
// Variadic so that commas inside the kernel's template arguments survive.
#define MIXKV_KERNEL_INSTANCE(NAME, ...)                                                          \
    static const ::mixkv_emu::Registrar MIXKV_EMU_CAT(mixkv_emu_registrar_, __COUNTER__)(         \
        ::mixkv_emu::KernelEntry{NAME, &::mixkv_emu::KernelInstance<__VA_ARGS__>::invoke,         \
                                 ::mixkv_emu::detail_params_size<__VA_ARGS__>(),                  \
                                 ::mixkv_emu::detail_params_align<__VA_ARGS__>(), __FILE__, __LINE__});

namespace mixkv_emu {
template <auto Kernel, typename Params> constexpr std::size_t detail_params_size() { return sizeof(Params); }
template <auto Kernel, typename Params> constexpr std::size_t detail_params_align() { return alignof(Params); }
}  // namespace mixkv_emu
