namespace MixKV.Interop;

/// <summary>
/// The driver API's <c>CUresult</c>. Member names are the C names, so they double as the fallback
/// name table when <c>cuGetErrorName</c> cannot be asked, and match the driver documentation when
/// searched for. The list and the summaries were read from driver 535 (CUDA 12.2); codes added by
/// newer drivers are still named, by the driver itself.
/// </summary>
public enum CudaStatus
{
    /// <summary>no error</summary>
    CUDA_SUCCESS = 0,
    /// <summary>invalid argument</summary>
    CUDA_ERROR_INVALID_VALUE = 1,
    /// <summary>out of memory</summary>
    CUDA_ERROR_OUT_OF_MEMORY = 2,
    /// <summary>initialization error</summary>
    CUDA_ERROR_NOT_INITIALIZED = 3,
    /// <summary>driver shutting down</summary>
    CUDA_ERROR_DEINITIALIZED = 4,
    /// <summary>profiler disabled while using external profiling tool</summary>
    CUDA_ERROR_PROFILER_DISABLED = 5,
    /// <summary>profiler not initialized: call cudaProfilerInitialize()</summary>
    CUDA_ERROR_PROFILER_NOT_INITIALIZED = 6,
    /// <summary>profiler already started</summary>
    CUDA_ERROR_PROFILER_ALREADY_STARTED = 7,
    /// <summary>profiler already stopped</summary>
    CUDA_ERROR_PROFILER_ALREADY_STOPPED = 8,
    /// <summary>CUDA driver is a stub library</summary>
    CUDA_ERROR_STUB_LIBRARY = 34,
    /// <summary>CUDA-capable device(s) is/are busy or unavailable</summary>
    CUDA_ERROR_DEVICE_UNAVAILABLE = 46,
    /// <summary>no CUDA-capable device is detected</summary>
    CUDA_ERROR_NO_DEVICE = 100,
    /// <summary>invalid device ordinal</summary>
    CUDA_ERROR_INVALID_DEVICE = 101,
    /// <summary>device doesn't have valid Grid license</summary>
    CUDA_ERROR_DEVICE_NOT_LICENSED = 102,
    /// <summary>device kernel image is invalid</summary>
    CUDA_ERROR_INVALID_IMAGE = 200,
    /// <summary>invalid device context</summary>
    CUDA_ERROR_INVALID_CONTEXT = 201,
    /// <summary>context already current</summary>
    CUDA_ERROR_CONTEXT_ALREADY_CURRENT = 202,
    /// <summary>mapping of buffer object failed</summary>
    CUDA_ERROR_MAP_FAILED = 205,
    /// <summary>unmapping of buffer object failed</summary>
    CUDA_ERROR_UNMAP_FAILED = 206,
    /// <summary>array is mapped</summary>
    CUDA_ERROR_ARRAY_IS_MAPPED = 207,
    /// <summary>resource already mapped</summary>
    CUDA_ERROR_ALREADY_MAPPED = 208,
    /// <summary>no kernel image is available for execution on the device</summary>
    CUDA_ERROR_NO_BINARY_FOR_GPU = 209,
    /// <summary>resource already acquired</summary>
    CUDA_ERROR_ALREADY_ACQUIRED = 210,
    /// <summary>resource not mapped</summary>
    CUDA_ERROR_NOT_MAPPED = 211,
    /// <summary>resource not mapped as array</summary>
    CUDA_ERROR_NOT_MAPPED_AS_ARRAY = 212,
    /// <summary>resource not mapped as pointer</summary>
    CUDA_ERROR_NOT_MAPPED_AS_POINTER = 213,
    /// <summary>uncorrectable ECC error encountered</summary>
    CUDA_ERROR_ECC_UNCORRECTABLE = 214,
    /// <summary>limit is not supported on this architecture</summary>
    CUDA_ERROR_UNSUPPORTED_LIMIT = 215,
    /// <summary>exclusive-thread device already in use by a different thread</summary>
    CUDA_ERROR_CONTEXT_ALREADY_IN_USE = 216,
    /// <summary>peer access is not supported between these two devices</summary>
    CUDA_ERROR_PEER_ACCESS_UNSUPPORTED = 217,
    /// <summary>a PTX JIT compilation failed</summary>
    CUDA_ERROR_INVALID_PTX = 218,
    /// <summary>invalid OpenGL or DirectX context</summary>
    CUDA_ERROR_INVALID_GRAPHICS_CONTEXT = 219,
    /// <summary>uncorrectable NVLink error detected during the execution</summary>
    CUDA_ERROR_NVLINK_UNCORRECTABLE = 220,
    /// <summary>PTX JIT compiler library not found</summary>
    CUDA_ERROR_JIT_COMPILER_NOT_FOUND = 221,
    /// <summary>the provided PTX was compiled with an unsupported toolchain.</summary>
    CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222,
    /// <summary>PTX JIT compilation was disabled</summary>
    CUDA_ERROR_JIT_COMPILATION_DISABLED = 223,
    /// <summary>the provided execution affinity is not supported</summary>
    CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY = 224,
    /// <summary>the provided PTX contains unsupported call to cudaDeviceSynchronize</summary>
    CUDA_ERROR_UNSUPPORTED_DEVSIDE_SYNC = 225,
    /// <summary>device kernel image is invalid</summary>
    CUDA_ERROR_INVALID_SOURCE = 300,
    /// <summary>file not found</summary>
    CUDA_ERROR_FILE_NOT_FOUND = 301,
    /// <summary>shared object symbol not found</summary>
    CUDA_ERROR_SHARED_OBJECT_SYMBOL_NOT_FOUND = 302,
    /// <summary>shared object initialization failed</summary>
    CUDA_ERROR_SHARED_OBJECT_INIT_FAILED = 303,
    /// <summary>OS call failed or operation not supported on this OS</summary>
    CUDA_ERROR_OPERATING_SYSTEM = 304,
    /// <summary>invalid resource handle</summary>
    CUDA_ERROR_INVALID_HANDLE = 400,
    /// <summary>the operation cannot be performed in the present state</summary>
    CUDA_ERROR_ILLEGAL_STATE = 401,
    /// <summary>named symbol not found</summary>
    CUDA_ERROR_NOT_FOUND = 500,
    /// <summary>device not ready</summary>
    CUDA_ERROR_NOT_READY = 600,
    /// <summary>an illegal memory access was encountered</summary>
    CUDA_ERROR_ILLEGAL_ADDRESS = 700,
    /// <summary>too many resources requested for launch</summary>
    CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES = 701,
    /// <summary>the launch timed out and was terminated</summary>
    CUDA_ERROR_LAUNCH_TIMEOUT = 702,
    /// <summary>launch uses incompatible texturing mode</summary>
    CUDA_ERROR_LAUNCH_INCOMPATIBLE_TEXTURING = 703,
    /// <summary>peer access is already enabled</summary>
    CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED = 704,
    /// <summary>peer access has not been enabled</summary>
    CUDA_ERROR_PEER_ACCESS_NOT_ENABLED = 705,
    /// <summary>cannot set while device is active in this process</summary>
    CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE = 708,
    /// <summary>context is destroyed</summary>
    CUDA_ERROR_CONTEXT_IS_DESTROYED = 709,
    /// <summary>device-side assert triggered</summary>
    CUDA_ERROR_ASSERT = 710,
    /// <summary>peer mapping resources exhausted</summary>
    CUDA_ERROR_TOO_MANY_PEERS = 711,
    /// <summary>part or all of the requested memory range is already mapped</summary>
    CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED = 712,
    /// <summary>pointer does not correspond to a registered memory region</summary>
    CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED = 713,
    /// <summary>hardware stack error</summary>
    CUDA_ERROR_HARDWARE_STACK_ERROR = 714,
    /// <summary>an illegal instruction was encountered</summary>
    CUDA_ERROR_ILLEGAL_INSTRUCTION = 715,
    /// <summary>misaligned address</summary>
    CUDA_ERROR_MISALIGNED_ADDRESS = 716,
    /// <summary>operation not supported on global/shared address space</summary>
    CUDA_ERROR_INVALID_ADDRESS_SPACE = 717,
    /// <summary>invalid program counter</summary>
    CUDA_ERROR_INVALID_PC = 718,
    /// <summary>unspecified launch failure</summary>
    CUDA_ERROR_LAUNCH_FAILED = 719,
    /// <summary>too many blocks in cooperative launch</summary>
    CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE = 720,
    /// <summary>operation not permitted</summary>
    CUDA_ERROR_NOT_PERMITTED = 800,
    /// <summary>operation not supported</summary>
    CUDA_ERROR_NOT_SUPPORTED = 801,
    /// <summary>system not yet initialized</summary>
    CUDA_ERROR_SYSTEM_NOT_READY = 802,
    /// <summary>system has unsupported display driver / cuda driver combination</summary>
    CUDA_ERROR_SYSTEM_DRIVER_MISMATCH = 803,
    /// <summary>forward compatibility was attempted on non supported HW</summary>
    CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE = 804,
    /// <summary>MPS client failed to connect to the MPS control daemon or the MPS server</summary>
    CUDA_ERROR_MPS_CONNECTION_FAILED = 805,
    /// <summary>the remote procedural call between the MPS server and the MPS client failed</summary>
    CUDA_ERROR_MPS_RPC_FAILURE = 806,
    /// <summary>MPS server is not ready to accept new MPS client requests</summary>
    CUDA_ERROR_MPS_SERVER_NOT_READY = 807,
    /// <summary>the hardware resources required to create MPS client have been exhausted</summary>
    CUDA_ERROR_MPS_MAX_CLIENTS_REACHED = 808,
    /// <summary>the hardware resources required to support device connections have been exhausted</summary>
    CUDA_ERROR_MPS_MAX_CONNECTIONS_REACHED = 809,
    /// <summary>the MPS client has been terminated by the server</summary>
    CUDA_ERROR_MPS_CLIENT_TERMINATED = 810,
    /// <summary>is using CUDA Dynamic Parallelism, but the current configuration, like MPS, does not support it</summary>
    CUDA_ERROR_CDP_NOT_SUPPORTED = 811,
    /// <summary>unsupported interaction between different versions of CUDA Dynamic Parallelism</summary>
    CUDA_ERROR_CDP_VERSION_MISMATCH = 812,
    /// <summary>operation not permitted when stream is capturing</summary>
    CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED = 900,
    /// <summary>operation failed due to a previous error during capture</summary>
    CUDA_ERROR_STREAM_CAPTURE_INVALIDATED = 901,
    /// <summary>operation would result in a merge of separate capture sequences</summary>
    CUDA_ERROR_STREAM_CAPTURE_MERGE = 902,
    /// <summary>capture was not ended in the same stream as it began</summary>
    CUDA_ERROR_STREAM_CAPTURE_UNMATCHED = 903,
    /// <summary>capturing stream has unjoined work</summary>
    CUDA_ERROR_STREAM_CAPTURE_UNJOINED = 904,
    /// <summary>dependency created on uncaptured work in another stream</summary>
    CUDA_ERROR_STREAM_CAPTURE_ISOLATION = 905,
    /// <summary>operation would make the legacy stream depend on a capturing blocking stream</summary>
    CUDA_ERROR_STREAM_CAPTURE_IMPLICIT = 906,
    /// <summary>operation not permitted on an event last recorded in a capturing stream</summary>
    CUDA_ERROR_CAPTURED_EVENT = 907,
    /// <summary>attempt to terminate a thread-local capture sequence from another thread</summary>
    CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD = 908,
    /// <summary>wait operation timed out</summary>
    CUDA_ERROR_TIMEOUT = 909,
    /// <summary>the graph update was not performed because it included changes which violated constraints specific to instantiated graph update</summary>
    CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE = 910,
    /// <summary>an async error has occured in external entity outside of CUDA</summary>
    CUDA_ERROR_EXTERNAL_DEVICE = 911,
    /// <summary>a kernel launch error has occurred due to cluster misconfiguration</summary>
    CUDA_ERROR_INVALID_CLUSTER_SIZE = 912,
    /// <summary>unknown error</summary>
    CUDA_ERROR_UNKNOWN = 999,
}
