namespace MixKV.Fast;

/// <summary>
/// Everything the passes write besides the results: per-thread workers, the packed queries of one
/// head, per-chunk softmax statistics and (when it fits) the head's exp tiles. Reused across calls
/// by one <see cref="FastCompressor"/> (taken and returned atomically, so concurrent calls each get
/// their own).
/// </summary>
internal sealed class FastWorkspace
{
    private ChunkWorker[] workers = [];

    /// <summary>Qt [D, R]: one KV head's window queries, transposed, scaled by 1/sqrt(D), zero-padded rows.</summary>
    public AlignedBuffer<float> QueryPanel { get; } = new();

    /// <summary>μ of the current head (fp32, for the similarity dot).</summary>
    public AlignedBuffer<float> MeanUnitKey { get; } = new();

    /// <summary>Mean raw key of the current head, subtracted from every key before the GEMM.</summary>
    public AlignedBuffer<float> Center { get; } = new();

    /// <summary>[chunks, R]: each chunk's row max of the logits (-inf where the mask hid every key).</summary>
    public AlignedBuffer<float> ChunkMax { get; } = new();

    /// <summary>[chunks, R]: Σ exp(logit - chunk max) per row, in double.</summary>
    public AlignedBuffer<double> ChunkSum { get; } = new();

    /// <summary>[chunks, R]: exp(chunk max - row max) / (row sum · W [· G]): turns a tile entry into its share of A.</summary>
    public AlignedBuffer<float> Factors { get; } = new();

    /// <summary>[chunks, chunk, R] exp tiles of one head (only when <see cref="FastLayer.StoreTiles"/>).</summary>
    public AlignedBuffer<float> Tiles { get; } = new();

    /// <summary>[chunks, D] partial Σ k̂ and Σ k per chunk, summed in chunk order (deterministic).</summary>
    public double[] UnitPartial { get; private set; } = [];

    public double[] RawPartial { get; private set; } = [];

    public ChunkWorker Worker(int index) => workers[index];

    public void Prepare(FastLayer layer, int workerCount)
    {
        if (workers.Length < workerCount)
        {
            var grown = new ChunkWorker[workerCount];
            workers.CopyTo(grown, 0);
            for (int i = workers.Length; i < workerCount; i++)
            {
                grown[i] = new ChunkWorker();
            }

            workers = grown;
        }

        for (int i = 0; i < workerCount; i++)
        {
            workers[i].Ensure(FastLayer.ChunkTokens, layer.Dim, layer.Rows, needsTile: !layer.StoreTiles);
        }

        long statistics = (long)layer.Chunks * layer.Rows;
        QueryPanel.Ensure((long)layer.Dim * layer.Rows);
        MeanUnitKey.Ensure(layer.Dim);
        Center.Ensure(layer.Dim);
        ChunkMax.Ensure(statistics);
        ChunkSum.Ensure(statistics);
        Factors.Ensure(statistics);
        if (layer.StoreTiles && layer.Prefix > 0)
        {
            Tiles.Ensure((long)layer.Chunks * FastLayer.ChunkTokens * layer.Rows);
        }

        int partials = layer.Chunks * layer.Dim;
        if (UnitPartial.Length < partials)
        {
            UnitPartial = new double[partials];
            RawPartial = new double[partials];
        }
    }
}
