using MixKV.Interop;
using MixKV.Tensors;

namespace MixKV.Device;

/// <summary>
/// A flattened varlen cache in device memory (spec section 7): K and V [capacity, D], positions
/// [capacity] int32, head_lens [Hkv] and cu_lens [Hkv + 1] int32, the first cu_lens[Hkv] rows live.
/// </summary>
public readonly record struct DeviceFlatCache(
    DevicePointer Keys,
    DevicePointer Values,
    DevicePointer Positions,
    DevicePointer HeadLens,
    DevicePointer CuLens,
    DType DType,
    int KvHeads,
    int HeadDim,
    int CapacityTokens);
