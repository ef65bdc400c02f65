namespace MixKV.Fast;

/// <summary>Copies the kept rows byte for byte into packed [T, D] outputs (spec section 7), one head per task.</summary>
internal static unsafe class FastGather
{
    public static void Flattened(PinnedRows source, KeptTokens kept, byte[] destination, int workers)
    {
        int rowBytes = source.Dim * source.ElementSize;
        fixed (byte* output = destination)
        {
            byte* o = output;
            Parallel.For(0, kept.KvHeads, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, workers) }, h =>
            {
                ReadOnlySpan<int> positions = kept.PositionsOfHead(h);
                byte* row = o + ((long)kept.CuLens[h] * rowBytes);
                foreach (int position in positions)
                {
                    Buffer.MemoryCopy(source.Row(h, position), row, rowBytes, rowBytes);
                    row += rowBytes;
                }
            });
        }
    }
}
