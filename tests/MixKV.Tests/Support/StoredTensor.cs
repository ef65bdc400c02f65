using MixKV.Tensors;

namespace MixKV.Tests.Support;

/// <summary>Gaps (in elements) around the rows of a stored tensor: before the first row, after each row, after each head, after the last row.</summary>
public readonly record struct Padding(int Lead, int Row, int Head, int Tail)
{
    public static Padding None => default;
}

/// <summary>
/// A [heads, tokens, dim] tensor encoded into a guarded, poisoned buffer in a chosen layout. Row
/// addresses are computed here from the layout, independently of <see cref="HeadTensor"/>; every byte
/// that is not part of a row keeps the sentinel.
/// </summary>
public sealed class StoredTensor
{
    private StoredTensor(GuardedBuffer storage, DType dtype, int heads, int tokens, int dim, long headStride, long tokenStride, long offset)
    {
        Storage = storage;
        DType = dtype;
        Heads = heads;
        Tokens = tokens;
        Dim = dim;
        HeadStride = headStride;
        TokenStride = tokenStride;
        Offset = offset;
    }

    public GuardedBuffer Storage { get; }

    public DType DType { get; }

    public int Heads { get; }

    public int Tokens { get; }

    public int Dim { get; }

    public long HeadStride { get; }

    public long TokenStride { get; }

    public long Offset { get; }

    public int RowBytes => Dim * Elements.Size(DType);

    public HeadTensor View => new(Storage.Memory, DType, Heads, Tokens, Dim, HeadStride, TokenStride, Offset);

    /// <summary>Encodes <paramref name="values"/> [heads][tokens][dim] (already representable in <paramref name="dtype"/>).</summary>
    public static StoredTensor Pack(float[][][] values, DType dtype, TensorLayout layout, Padding padding = default)
    {
        int heads = values.Length, tokens = values[0].Length, dim = values[0][0].Length;
        long headStride, tokenStride, extent;
        if (layout == TensorLayout.Hnd)
        {
            tokenStride = dim + padding.Row;
            headStride = tokens * tokenStride + padding.Head;
            extent = heads * headStride;
        }
        else
        {
            headStride = dim + padding.Row;
            tokenStride = heads * headStride + padding.Head;
            extent = tokens * tokenStride;
        }

        int size = Elements.Size(dtype);
        var storage = new GuardedBuffer(checked((int)((padding.Lead + extent + padding.Tail) * size)));
        var tensor = new StoredTensor(storage, dtype, heads, tokens, dim, headStride, tokenStride, padding.Lead);
        for (int h = 0; h < heads; h++)
        {
            for (int n = 0; n < tokens; n++)
            {
                Span<byte> row = tensor.Row(h, n);
                for (int i = 0; i < dim; i++)
                {
                    Elements.Write(row.Slice(i * size, size), dtype, values[h][n][i]);
                }
            }
        }

        return tensor;
    }

    /// <summary>Hand-written values in F32, packed [heads, tokens, dim].</summary>
    public static StoredTensor F32(double[][][] values) =>
        Pack(Array.ConvertAll(values, h => Array.ConvertAll(h, row => Array.ConvertAll(row, x => (float)x))), DType.F32, TensorLayout.Hnd);

    public long RowByteOffset(int head, int token) => (Offset + head * HeadStride + token * TokenStride) * Elements.Size(DType);

    public Span<byte> Row(int head, int token) => Storage.Span.Slice(checked((int)RowByteOffset(head, token)), RowBytes);

    public float Element(int head, int token, int i) => Elements.Read(Row(head, token)[(i * Elements.Size(DType))..], DType);

    /// <summary>Every byte of the backing array, guards included.</summary>
    public byte[] Snapshot() => Storage.Backing.ToArray();

    /// <summary>True for bytes of the storage (not the guards) that belong to some row.</summary>
    public bool[] RowMask()
    {
        var mask = new bool[Storage.Length];
        for (int h = 0; h < Heads; h++)
        {
            for (int n = 0; n < Tokens; n++)
            {
                mask.AsSpan(checked((int)RowByteOffset(h, n)), RowBytes).Fill(true);
            }
        }

        return mask;
    }
}
