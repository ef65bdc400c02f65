namespace MixKV.Reference;

/// <summary>
/// Decode-time append (spec section 7): one new K/V row per head goes to the end of that head's
/// segment; later segments shift back by one row per preceding head. Capacity is checked first, so an
/// overflow writes nothing.
/// </summary>
public static class Append
{
    /// <param name="cache">The flattened cache, updated in place (rows, head_lens, cu_lens, positions).</param>
    /// <param name="newKeys">[Hkv, D] rows in the cache's dtype.</param>
    /// <param name="newValues">[Hkv, D] rows in the cache's dtype.</param>
    /// <param name="position">The token's original position, recorded for every head.</param>
    public static void Run(FlatCache cache, ReadOnlySpan<byte> newKeys, ReadOnlySpan<byte> newValues, int position)
    {
        ArgumentNullException.ThrowIfNull(cache);
        int heads = cache.KvHeads, rowBytes = cache.RowBytes;
        if (newKeys.Length != heads * rowBytes)
        {
            throw new ArgumentException($"new keys must be [{heads}, {cache.HeadDim}] ({heads * rowBytes} bytes), got {newKeys.Length} bytes", nameof(newKeys));
        }

        if (newValues.Length != heads * rowBytes)
        {
            throw new ArgumentException($"new values must be [{heads}, {cache.HeadDim}] ({heads * rowBytes} bytes), got {newValues.Length} bytes", nameof(newValues));
        }

        if (position < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(position), position, "position must be >= 0");
        }

        if ((long)cache.TotalTokens + heads > cache.CapacityTokens)
        {
            throw new ArgumentException($"output capacity too small: {cache.TotalTokens} rows + {heads} new exceed capacity {cache.CapacityTokens}", nameof(cache));
        }

        // New rows staged in the cache's own buffers (its spare rows, say) could be moved over before
        // they are read: such rows are copied out first.
        if (SharesBytes(newKeys, cache) || SharesBytes(newValues, cache))
        {
            newKeys = newKeys.ToArray();
            newValues = newValues.ToArray();
        }

        // Last head first: head h moves back by h rows, so its destination never covers an unmoved segment.
        for (int h = heads - 1; h >= 0; h--)
        {
            int from = cache.CuLens[h], length = cache.HeadLens[h], to = from + h;
            MoveRows(cache.Keys.Span, from, to, length, rowBytes);
            MoveRows(cache.Values.Span, from, to, length, rowBytes);
            cache.Positions.AsSpan(from, length).CopyTo(cache.Positions.AsSpan(to, length));

            int end = to + length;
            newKeys.Slice(h * rowBytes, rowBytes).CopyTo(cache.Keys.Span.Slice(end * rowBytes, rowBytes));
            newValues.Slice(h * rowBytes, rowBytes).CopyTo(cache.Values.Span.Slice(end * rowBytes, rowBytes));
            cache.Positions[end] = position;
        }

        for (int h = 0; h < heads; h++)
        {
            cache.HeadLens[h]++;
        }

        cache.RecomputeCuLens();
    }

    private static bool SharesBytes(ReadOnlySpan<byte> rows, FlatCache cache) =>
        rows.Overlaps(cache.Keys.Span) || rows.Overlaps(cache.Values.Span);

    private static void MoveRows(Span<byte> buffer, int from, int to, int rows, int rowBytes)
    {
        if (from != to && rows > 0)
        {
            // Span.CopyTo handles overlapping ranges like memmove.
            buffer.Slice(from * rowBytes, rows * rowBytes).CopyTo(buffer.Slice(to * rowBytes, rows * rowBytes));
        }
    }
}
