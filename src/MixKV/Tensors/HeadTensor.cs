using CommunityToolkit.HighPerformance;

namespace MixKV.Tensors;

/// <summary>
/// A view of a [heads, tokens, dim] tensor over caller-owned bytes, with element strides for the head
/// and token axes and the head dimension contiguous (spec section 1). It owns nothing: writing through
/// it writes the caller's buffer.
/// </summary>
public readonly struct HeadTensor
{
    public HeadTensor(Memory<byte> data, DType dtype, int heads, int tokens, int dim, long headStride, long tokenStride, long offset = 0)
    {
        Data = data;
        DType = dtype;
        Heads = heads;
        Tokens = tokens;
        Dim = dim;
        HeadStride = headStride;
        TokenStride = tokenStride;
        Offset = offset;
    }

    public Memory<byte> Data { get; }

    public DType DType { get; }

    public int Heads { get; }

    public int Tokens { get; }

    public int Dim { get; }

    /// <summary>Elements between head h and head h+1.</summary>
    public long HeadStride { get; }

    /// <summary>Elements between token n and token n+1 of one head.</summary>
    public long TokenStride { get; }

    /// <summary>Element index of [0, 0, 0] inside <see cref="Data"/>.</summary>
    public long Offset { get; }

    public int ElementSize => DType.Size();

    /// <summary>Bytes of one row (one head, one token).</summary>
    public int RowBytes => Dim * ElementSize;

    /// <summary>A view over a buffer in the given layout with packed strides.</summary>
    public static HeadTensor Create(Memory<byte> data, DType dtype, TensorLayout layout, int heads, int tokens, int dim) => layout switch
    {
        TensorLayout.Hnd => new HeadTensor(data, dtype, heads, tokens, dim, (long)tokens * dim, dim),
        TensorLayout.Nhd => new HeadTensor(data, dtype, heads, tokens, dim, dim, (long)heads * dim),
        _ => throw new ArgumentOutOfRangeException(nameof(layout), layout, "layout must be Hnd or Nhd"),
    };

    /// <summary>A packed view over a typed array (float, Half, or ushort holding bf16 bits).</summary>
    public static HeadTensor FromArray<T>(T[] data, DType dtype, TensorLayout layout, int heads, int tokens, int dim)
        where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        return Create(data.AsMemory().AsBytes(), dtype, layout, heads, tokens, dim);
    }

    /// <summary>Element index of [head, token, 0].</summary>
    public long RowElementIndex(int head, int token) => Offset + head * HeadStride + token * TokenStride;

    public Span<byte> Row(int head, int token)
    {
        long start = RowElementIndex(head, token) * ElementSize;
        return Data.Span.Slice(checked((int)start), RowBytes);
    }

    /// <summary>Decodes row [head, token, :] into doubles.</summary>
    public void ReadRow(int head, int token, Span<double> destination) =>
        ElementCodec.ReadRow(Row(head, token), DType, destination[..Dim]);

    /// <summary>The same buffer seen from token <paramref name="first"/> on, <paramref name="count"/> tokens long.</summary>
    public HeadTensor SliceTokens(int first, int count)
    {
        if (first < 0 || count < 0 || first + count > Tokens)
        {
            throw new ArgumentOutOfRangeException(nameof(first), $"token range [{first}, {first + count}) is outside [0, {Tokens})");
        }

        return new HeadTensor(Data, DType, Heads, count, Dim, HeadStride, TokenStride, Offset + first * TokenStride);
    }

    /// <summary>The same strides and buffer with a different token extent (used to describe the kept front of a cache).</summary>
    public HeadTensor WithTokens(int tokens) => new(Data, DType, Heads, tokens, Dim, HeadStride, TokenStride, Offset);

    /// <summary>Largest element index touched, plus one (0 for an empty view).</summary>
    public long ElementExtent()
    {
        if (Heads == 0 || Tokens == 0 || Dim == 0)
        {
            return 0;
        }

        return Offset + (Heads - 1) * HeadStride + (Tokens - 1) * TokenStride + Dim;
    }
}
