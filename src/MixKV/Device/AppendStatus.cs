namespace MixKV.Device;

/// <summary>
/// The status word <see cref="KernelBackend.EnqueueAppend"/> leaves in the int32 the caller zeroed
/// (<see cref="KernelBackend.ReadAppendStatus"/> reads it). The cache's lengths and its row count live
/// on the device, so the append checks them there; when it refuses, nothing is written: no row, no
/// position, no length (spec section 7). The values are kernels/append.cu's.
/// </summary>
public enum AppendStatus
{
    /// <summary>One row a head was appended and the lengths grew by one a head.</summary>
    Appended = 0,

    /// <summary>T + Hkv rows exceed the destination's capacity.</summary>
    Overflow = 1,

    /// <summary>
    /// The cache's cu_lens is not the exclusive prefix sum of head_lens (each >= 0, cu_lens[0] = 0),
    /// or its T = cu_lens[Hkv] exceeds <see cref="DeviceFlatCache.CapacityTokens"/>.
    /// </summary>
    InvalidLengths = 2,
}
