using MixKV.Interop;
using MixKV.Tensors;

namespace MixKV.Device;

/// <summary>
/// A caller-owned [heads, tokens, dim] tensor in device memory, with element strides and the head
/// dimension contiguous (spec section 1). The library reads and writes through it, never frees it.
/// </summary>
public readonly record struct DeviceTensor(DevicePointer Pointer, DType DType, int Heads, int Tokens, int Dim, long HeadStride, long TokenStride)
{
    public static DeviceTensor Create(DevicePointer pointer, DType dtype, TensorLayout layout, int heads, int tokens, int dim) => layout switch
    {
        TensorLayout.Hnd => new(pointer, dtype, heads, tokens, dim, (long)tokens * dim, dim),
        TensorLayout.Nhd => new(pointer, dtype, heads, tokens, dim, dim, (long)heads * dim),
        _ => throw new ArgumentOutOfRangeException(nameof(layout), layout, "layout must be Hnd or Nhd"),
    };

    /// <summary>The view from token <paramref name="first"/> on, <paramref name="count"/> tokens long.</summary>
    public DeviceTensor SliceTokens(int first, int count) =>
        this with { Pointer = Pointer.AddBytes(first * TokenStride * DType.Size()), Tokens = count };

    /// <summary>Byte offset of [head, token, 0].</summary>
    public long RowByteOffset(int head, int token) => (head * HeadStride + token * TokenStride) * DType.Size();
}
