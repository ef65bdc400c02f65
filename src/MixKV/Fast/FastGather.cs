namespace MixKV.Fast;

/// <summary>
/// Copies the kept rows of K and V byte for byte into packed [T, D] outputs (spec section 7), one
/// head per task. The kept rows are scattered over the cache, so each copy would wait a full memory
/// latency: the rows <see cref="RowsAhead"/> positions ahead are prefetched (the copies ~2.5x faster
/// here; most of what remains of the gather is first-touch page faults of the fresh outputs).
/// </summary>
internal static unsafe class FastGather
{
    private const int RowsAhead = 8;

    public static void Flattened(PinnedRows keys, PinnedRows values, KeptTokens kept, byte[] keyOutput, byte[] valueOutput, WorkerTeam team)
    {
        int rowBytes = keys.Dim * keys.ElementSize;
        fixed (byte* keyBase = keyOutput, valueBase = valueOutput)
        {
            byte* ko = keyBase, vo = valueBase;
            team.For(kept.KvHeads, (h, _) =>
            {
                ReadOnlySpan<int> positions = kept.PositionsOfHead(h);
                long at = (long)kept.CuLens[h] * rowBytes;
                byte* k = ko + at, v = vo + at;
                for (int i = 0; i < Math.Min(RowsAhead, positions.Length); i++)
                {
                    StreamPrefetch.Row(keys.Row(h, positions[i]), rowBytes);
                    StreamPrefetch.Row(values.Row(h, positions[i]), rowBytes);
                }

                for (int i = 0; i < positions.Length; i++)
                {
                    if (i + RowsAhead < positions.Length)
                    {
                        StreamPrefetch.Row(keys.Row(h, positions[i + RowsAhead]), rowBytes);
                        StreamPrefetch.Row(values.Row(h, positions[i + RowsAhead]), rowBytes);
                    }

                    Buffer.MemoryCopy(keys.Row(h, positions[i]), k, rowBytes, rowBytes);
                    Buffer.MemoryCopy(values.Row(h, positions[i]), v, rowBytes, rowBytes);
                    k += rowBytes;
                    v += rowBytes;
                }
            });
        }
    }
}
