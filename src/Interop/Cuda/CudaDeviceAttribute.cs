namespace MixKV.Interop;

/// <summary>The <c>CUdevice_attribute</c> values MixKV plans launches with (values from cuda.h).</summary>
public enum CudaDeviceAttribute
{
    MaxThreadsPerBlock = 1,
    MaxBlockDimX = 2,
    MaxBlockDimY = 3,
    MaxBlockDimZ = 4,
    MaxGridDimX = 5,
    MaxGridDimY = 6,
    MaxGridDimZ = 7,
    MaxSharedMemoryPerBlock = 8,
    WarpSize = 10,
    MaxRegistersPerBlock = 12,
    MultiprocessorCount = 16,
    MemoryClockRateKHz = 36,
    GlobalMemoryBusWidthBits = 37,
    L2CacheSizeBytes = 38,
    MaxThreadsPerMultiprocessor = 39,
    ComputeCapabilityMajor = 75,
    ComputeCapabilityMinor = 76,
    MaxSharedMemoryPerMultiprocessor = 81,
    MaxRegistersPerMultiprocessor = 82,
    /// <summary>The dynamic shared memory a kernel may opt into, above the default 48 KiB.</summary>
    MaxSharedMemoryPerBlockOptin = 97,
}
