using MixKV.Tensors;

namespace MixKV;

/// <summary>
/// A flattened varlen cache that grows at decode time (spec section 7): K and V hold
/// <see cref="CapacityTokens"/> rows of D elements; the first <c>CuLens[Hkv]</c> are live, head-major.
/// </summary>
public sealed class FlatCache
{
    public FlatCache(Memory<byte> keys, Memory<byte> values, DType dtype, int headDim, int capacityTokens, int[] headLens, int[] positions)
    {
        ArgumentNullException.ThrowIfNull(headLens);
        ArgumentNullException.ThrowIfNull(positions);
        if (headDim < 1)
        {
            throw new ArgumentException($"head dim must be >= 1 (got {headDim})", nameof(headDim));
        }

        long bytes = (long)capacityTokens * headDim * dtype.Size();
        if (capacityTokens < 0 || keys.Length < bytes)
        {
            throw new ArgumentException($"keys buffer of {keys.Length} bytes cannot hold {capacityTokens} rows", nameof(keys));
        }

        if (values.Length < bytes)
        {
            throw new ArgumentException($"values buffer of {values.Length} bytes cannot hold {capacityTokens} rows", nameof(values));
        }

        // Each row moves in both buffers at every append: shared bytes would be moved twice.
        if (bytes > 0 && keys.Span[..(int)bytes].Overlaps(values.Span[..(int)bytes]))
        {
            throw new ArgumentException($"values overlap the keys in their first {capacityTokens} rows: the cache's K and V need buffers of their own", nameof(values));
        }

        if (positions.Length < capacityTokens)
        {
            throw new ArgumentException($"positions hold {positions.Length} entries but capacity is {capacityTokens} rows", nameof(positions));
        }

        if (headLens.Length < 1 || headLens.Any(len => len < 0) || headLens.Sum(len => (long)len) > capacityTokens)
        {
            throw new ArgumentException("head_lens must have one non-negative entry per head summing to at most the capacity", nameof(headLens));
        }

        Keys = keys;
        Values = values;
        DType = dtype;
        HeadDim = headDim;
        CapacityTokens = capacityTokens;
        HeadLens = headLens;
        Positions = positions;
        CuLens = new int[headLens.Length + 1];
        RecomputeCuLens();
    }

    public Memory<byte> Keys { get; }

    public Memory<byte> Values { get; }

    public DType DType { get; }

    public int HeadDim { get; }

    public int CapacityTokens { get; }

    public int[] HeadLens { get; }

    public int[] CuLens { get; }

    public int[] Positions { get; }

    public int KvHeads => HeadLens.Length;

    public int TotalTokens => CuLens[^1];

    public int RowBytes => HeadDim * DType.Size();

    internal void RecomputeCuLens()
    {
        for (int h = 0; h < HeadLens.Length; h++)
        {
            CuLens[h + 1] = CuLens[h] + HeadLens[h];
        }
    }
}
