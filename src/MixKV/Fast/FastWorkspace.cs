namespace MixKV.Fast;

/// <summary>
/// Everything the passes write besides the results: per-thread workers, per-head key statistics,
/// and the <see cref="HeadSlot"/>s of the two heads in progress. Reused across calls by one <see cref="FastCompressor"/>
/// (taken and returned atomically, so concurrent calls each get their own).
/// </summary>
internal sealed class FastWorkspace
{
    private ChunkWorker[] workers = [];

    /// <summary>[Hkv, D] μ of every head (fp32, for the similarity dot).</summary>
    public AlignedBuffer<float> MeanUnitKey { get; } = new();

    /// <summary>[Hkv, D] mean raw key of every head, subtracted from every key inside the GEMM.</summary>
    public AlignedBuffer<float> Center { get; } = new();

    /// <summary>Two heads' window-score scratch: head h writes slot h % 2 while head h - 1's mass is read from the other.</summary>
    public HeadSlot[] Slots { get; } = [new(), new()];

    /// <summary>[chunks, D] partial Σ k̂ and Σ k per chunk of the head whose keys are being summarised, summed in chunk order (deterministic).</summary>
    public double[] UnitPartial { get; private set; } = [];

    public double[] RawPartial { get; private set; } = [];

    private CallArrays? arrays;

    public ChunkWorker Worker(int index) => workers[index];

    /// <summary>The per-head arrays of a call of this shape, reused from the last such call.</summary>
    public CallArrays Arrays(int heads, int tokens, int prefix)
    {
        if (arrays is null || !arrays.Fits(heads, tokens, prefix))
        {
            arrays = new CallArrays(heads, tokens, prefix);
        }

        return arrays;
    }

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
            workers[i].Ensure(FastLayer.ChunkTokens, layer.Dim, layer.Rows);
            if (layer.Strassen)
            {
                workers[i].Combinations.Ensure(StrassenLogitKernel.CombinationFloats(layer.Dim));
            }
        }

        MeanUnitKey.Ensure((long)layer.KvHeads * layer.Dim);
        Center.Ensure((long)layer.KvHeads * layer.Dim);
        for (int i = 0; i < Math.Min(Slots.Length, layer.KvHeads); i++)
        {
            Slots[i].Ensure(layer);
        }

        int partials = layer.Chunks * layer.Dim;
        if (UnitPartial.Length < partials)
        {
            UnitPartial = new double[partials];
            RawPartial = new double[partials];
        }
    }
}

/// <summary>The window-score scratch of the head in progress: its query panel, per-chunk softmax statistics and (when kept) its exp tiles.</summary>
internal sealed class HeadSlot
{
    /// <summary>Qt [D, R]: the head's window queries, transposed, scaled by log2(e)/sqrt(D), zero-padded rows.</summary>
    public AlignedBuffer<float> QueryPanel { get; } = new();

    /// <summary>The seven Strassen sums of the panel (<see cref="StrassenLogitKernel.PackPanels"/>), when <see cref="FastLayer.Strassen"/>.</summary>
    public AlignedBuffer<float> StrassenPanels { get; } = new();

    /// <summary>[chunks, R]: each chunk's row max of the logits (-inf where the mask hid every key).</summary>
    public AlignedBuffer<float> ChunkMax { get; } = new();

    /// <summary>[chunks, R]: Σ exp(logit - chunk max) per row, in double.</summary>
    public AlignedBuffer<double> ChunkSum { get; } = new();

    /// <summary>[chunks, R]: exp(chunk max - row max) / (row sum · W [· G]): turns a tile entry into its share of A.</summary>
    public AlignedBuffer<float> Factors { get; } = new();

    /// <summary>[chunks, chunk, R] exp tiles of the head (only when <see cref="FastLayer.StoreTiles"/>; fp32 or <see cref="PackedExp"/> entries), on huge pages where the OS gives them.</summary>
    public HugePageBuffer<byte> Tiles { get; } = new();

    public void Ensure(FastLayer layer)
    {
        long statistics = (long)layer.Chunks * layer.Rows;
        QueryPanel.Ensure((long)layer.Dim * layer.Rows);
        if (layer.Strassen)
        {
            StrassenPanels.Ensure(StrassenLogitKernel.PanelFloats(layer.Rows, layer.Dim));
        }

        ChunkMax.Ensure(statistics);
        ChunkSum.Ensure(statistics);
        Factors.Ensure(statistics);
        if (layer.StoreTiles && layer.Prefix > 0)
        {
            Tiles.Ensure((long)layer.Chunks * FastLayer.ChunkTokens * layer.TileRowBytes);
        }
    }
}
