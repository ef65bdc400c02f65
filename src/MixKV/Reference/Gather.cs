using MixKV.Tensors;

namespace MixKV.Reference;

/// <summary>
/// Copies the kept rows, byte for byte, into the output layouts of spec section 7. In-place forms go
/// through a workspace the size of the compressed cache: every check happens before the first byte of
/// the caller's buffer changes, and the source rows are never read after being overwritten.
/// </summary>
public static class Gather
{
    /// <summary>K' [T, D] packed rows, head-major, into <paramref name="destination"/> (must not overlap the source).</summary>
    public static void Flattened(HeadTensor source, KeptTokens kept, Span<byte> destination)
    {
        CheckHeads(source, kept);
        long needed = (long)kept.TotalTokens * source.RowBytes;
        if (destination.Length < needed)
        {
            throw new ArgumentException($"output capacity too small: {destination.Length} bytes for {kept.TotalTokens} rows of {source.RowBytes} bytes", nameof(destination));
        }

        if (destination.Overlaps(source.Data.Span))
        {
            throw new ArgumentException("output overlaps the source cache; use the in-place form", nameof(destination));
        }

        CopyRows(source, kept, destination);
    }

    /// <summary>K' [T, D] packed rows written from element <see cref="HeadTensor.Offset"/> of the cache's own buffer.</summary>
    public static void FlattenedInPlace(HeadTensor cache, KeptTokens kept)
    {
        CheckHeads(cache, kept);
        long start = cache.Offset * cache.ElementSize;
        long needed = start + (long)kept.TotalTokens * cache.RowBytes;
        if (needed > cache.Data.Length)
        {
            throw new ArgumentException($"cache buffer of {cache.Data.Length} bytes cannot hold {kept.TotalTokens} flattened rows", nameof(cache));
        }

        var workspace = new byte[kept.TotalTokens * cache.RowBytes];
        CopyRows(cache, kept, workspace);
        workspace.CopyTo(cache.Data.Span[(int)start..]);
    }

    /// <summary>[Hkv, cap + W, D] into <paramref name="destination"/>, whose strides the caller chose.</summary>
    public static void Dense(HeadTensor source, KeptTokens kept, HeadTensor destination)
    {
        CheckHeads(source, kept);
        int length = UniformLength(kept);
        if (destination.Heads != source.Heads || destination.Dim != source.Dim || destination.DType != source.DType)
        {
            throw new ArgumentException($"destination must be [{source.Heads}, >= {length}, {source.Dim}] {source.DType.Name()}", nameof(destination));
        }

        if (destination.Tokens < length)
        {
            throw new ArgumentException($"output capacity too small: destination holds {destination.Tokens} tokens per head, {length} are kept", nameof(destination));
        }

        Validation.InputValidator.ValidateTensor(destination, nameof(destination));
        if (destination.Data.Span.Overlaps(source.Data.Span))
        {
            throw new ArgumentException("output overlaps the source cache; use the in-place form", nameof(destination));
        }

        WriteDense(source, kept, destination, length);
    }

    /// <summary>Each head's kept rows overwrite the front of that head's own region of the cache.</summary>
    public static void DenseInPlace(HeadTensor cache, KeptTokens kept)
    {
        CheckHeads(cache, kept);
        int length = UniformLength(kept);
        var workspace = new byte[kept.TotalTokens * cache.RowBytes];
        CopyRows(cache, kept, workspace);
        var packed = new HeadTensor(workspace, cache.DType, cache.Heads, length, cache.Dim, (long)length * cache.Dim, cache.Dim);
        for (int h = 0; h < cache.Heads; h++)
        {
            for (int j = 0; j < length; j++)
            {
                packed.Row(h, j).CopyTo(cache.Row(h, j));
            }
        }
    }

    private static void WriteDense(HeadTensor source, KeptTokens kept, HeadTensor destination, int length)
    {
        for (int h = 0; h < source.Heads; h++)
        {
            ReadOnlySpan<int> positions = kept.PositionsOfHead(h);
            for (int j = 0; j < length; j++)
            {
                source.Row(h, positions[j]).CopyTo(destination.Row(h, j));
            }
        }
    }

    private static void CopyRows(HeadTensor source, KeptTokens kept, Span<byte> destination)
    {
        int rowBytes = source.RowBytes;
        int row = 0;
        for (int h = 0; h < source.Heads; h++)
        {
            foreach (int position in kept.PositionsOfHead(h))
            {
                source.Row(h, position).CopyTo(destination.Slice(row * rowBytes, rowBytes));
                row++;
            }
        }
    }

    private static int UniformLength(KeptTokens kept)
    {
        if (!kept.IsUniform)
        {
            throw new ArgumentException($"the dense layout needs the same length for every head (got {string.Join(", ", kept.HeadLens)}); use the flattened layout", nameof(kept));
        }

        return kept.HeadLens[0];
    }

    private static void CheckHeads(HeadTensor source, KeptTokens kept)
    {
        if (kept.KvHeads != source.Heads)
        {
            throw new ArgumentException($"kept tokens describe {kept.KvHeads} heads but the cache has {source.Heads}", nameof(kept));
        }
    }
}
