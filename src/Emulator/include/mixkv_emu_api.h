/* C ABI of libmixkv_emu.so: the CPU runtime for the project's .cu kernels.
 * It mirrors the CUDA driver API (cuModuleGetFunction / cuLaunchKernel), so one
 * C# launch path drives both backends. Status values reuse CUresult numbers.
 * Launches are synchronous: the call returns when the whole grid has finished. */
#ifndef MIXKV_EMU_API_H
#define MIXKV_EMU_API_H

#ifdef __cplusplus
extern "C" {
#endif

#define MIXKV_EMU_API __attribute__((visibility("default")))

enum {
    MIXKV_EMU_SUCCESS = 0,
    MIXKV_EMU_ERROR_INVALID_VALUE = 1,          /* null argument, bad grid/block/shared size, bad mode */
    MIXKV_EMU_ERROR_OUT_OF_MEMORY = 2,          /* fiber stacks or worker threads could not be created */
    MIXKV_EMU_ERROR_INVALID_HANDLE = 400,       /* function handle not from mixkv_emu_get_function */
    MIXKV_EMU_ERROR_NOT_FOUND = 500,            /* no kernel registered under that name expression */
    MIXKV_EMU_ERROR_ILLEGAL_INSTRUCTION = 715,  /* __trap() */
    MIXKV_EMU_ERROR_LAUNCH_FAILED = 719         /* barrier/warp divergence, bad warp-collective arguments */
};

/* Looks a kernel up by its NVRTC name expression, e.g. "window_scores_kernel<float>". */
MIXKV_EMU_API int mixkv_emu_get_function(const char* name_expression, void** function);

/* args[0] points to the kernel's params struct (as cuLaunchKernel's kernelParams). */
MIXKV_EMU_API int mixkv_emu_launch(void* function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                                   unsigned bz, unsigned shared_bytes, void** args);

/* mode 0: threads of a block run in index order between barriers;
 * mode 1: seeded random order, different per block and per barrier, same for a seed. */
MIXKV_EMU_API int mixkv_emu_set_schedule(unsigned long long seed, int mode);

/* Number of OS worker threads (one block each at a time); 0 = one per core, at most 16 (tsan
 * flavour: 2). The tsan flavour refuses more than 4 (see runtime/api.cpp). */
MIXKV_EMU_API int mixkv_emu_set_worker_threads(int n);

/* Message of the calling thread's last failed call ("" if none). Valid until its next call. */
MIXKV_EMU_API const char* mixkv_emu_last_error(void);

/* Registered kernels: count, then name expression by index (null when out of range). */
MIXKV_EMU_API int mixkv_emu_function_count(void);
MIXKV_EMU_API const char* mixkv_emu_function_name(int index);

/* sizeof the params struct the kernel was compiled with, to check the C# layout. */
MIXKV_EMU_API int mixkv_emu_function_params_size(void* function, unsigned long long* size);

#ifdef __cplusplus
}
#endif

#endif /* MIXKV_EMU_API_H */
