namespace MixKV.Fast;

/// <summary>
/// Per-thread scratch of the chunk passes: the chunk's keys packed fp32 [chunk, D], the chunk's
/// logit tile [chunk, R] (L2-resident), the key scales, and D-sized rows for conversion and partial
/// sums. Sized once per call; never shared between threads.
/// </summary>
internal sealed class ChunkWorker
{
    public AlignedBuffer<float> Keys { get; } = new();

    public AlignedBuffer<float> Tile { get; } = new();

    public AlignedBuffer<float> Row { get; } = new();

    /// <summary>One 12-key block's seven Strassen sums of centred keys (<see cref="StrassenLogitKernel"/>).</summary>
    public AlignedBuffer<float> Combinations { get; } = new();

    /// <summary>[chunk, 16] lane sums of each key's k·μ, started by <see cref="StrassenLogitKernel"/>'s packing.</summary>
    public AlignedBuffer<float> KeyPartials { get; } = new();

    public AlignedBuffer<float> UnitSum { get; } = new();

    public AlignedBuffer<float> RawSum { get; } = new();

    /// <summary>[chunk] 1 / max(‖k‖, floor) of the chunk's keys, between the key pass's two sweeps.</summary>
    public AlignedBuffer<float> Scales { get; } = new();

    public void Ensure(int chunkTokens, int dim, int rows)
    {
        Keys.Ensure((long)chunkTokens * dim);
        Row.Ensure(dim);
        UnitSum.Ensure(dim);
        RawSum.Ensure(dim);
        Scales.Ensure(chunkTokens);
        KeyPartials.Ensure((long)chunkTokens * LogitKernel.Lanes);
        Tile.Ensure((long)chunkTokens * rows);
    }
}
