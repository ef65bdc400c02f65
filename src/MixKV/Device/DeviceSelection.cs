using MixKV.Interop;

namespace MixKV.Device;

/// <summary>
/// Caller-owned device arrays describing what each head keeps (spec section 7): positions [capacity]
/// int32, head_lens [Hkv] and cu_lens [Hkv + 1] int32. Used by the in-place path, where the rows go
/// back into the caller's own K and V.
/// </summary>
public readonly record struct DeviceSelection(DevicePointer Positions, DevicePointer HeadLens, DevicePointer CuLens, int CapacityTokens);
