using MixKV.Interop;

namespace MixKV.Device;

/// <summary>
/// Caller-owned device outputs of one layer, flattened varlen (spec section 7): K' and V' hold
/// <see cref="CapacityTokens"/> rows of D elements, positions as many int32, head_lens [Hkv] and
/// cu_lens [Hkv + 1] int32. Capacity must be at least <see cref="DevicePlan.MaxOutputTokens"/>.
/// </summary>
public readonly record struct DeviceLayerOutput(
    DevicePointer Keys,
    DevicePointer Values,
    DevicePointer Positions,
    DevicePointer HeadLens,
    DevicePointer CuLens,
    int CapacityTokens);
