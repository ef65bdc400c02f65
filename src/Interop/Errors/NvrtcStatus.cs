namespace MixKV.Interop;

/// <summary>
/// NVRTC's <c>nvrtcResult</c>, with the C names (they double as the fallback names). Read from
/// NVRTC 11.8; newer codes are named by <c>nvrtcGetErrorString</c> of the NVRTC that returned them.
/// </summary>
public enum NvrtcStatus
{
    NVRTC_SUCCESS = 0,
    NVRTC_ERROR_OUT_OF_MEMORY = 1,
    NVRTC_ERROR_PROGRAM_CREATION_FAILURE = 2,
    NVRTC_ERROR_INVALID_INPUT = 3,
    NVRTC_ERROR_INVALID_PROGRAM = 4,
    NVRTC_ERROR_INVALID_OPTION = 5,
    NVRTC_ERROR_COMPILATION = 6,
    /// <summary>Usually libnvrtc-builtins could not be loaded (see NativeLibraryResolver).</summary>
    NVRTC_ERROR_BUILTIN_OPERATION_FAILURE = 7,
    NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION = 8,
    NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION = 9,
    NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID = 10,
    NVRTC_ERROR_INTERNAL_ERROR = 11,
}
