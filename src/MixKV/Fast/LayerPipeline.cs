namespace MixKV.Fast;

/// <summary>
/// The order of the chunk passes of one layer, pipelined over the heads so that every step is one
/// parallel loop over the key chunks (one barrier per head) that keeps both threads on the GEMM
/// (plus a short parallel merge of the head's softmax statistics).
/// Step s, per chunk c: the GEMM and softmax statistics of head s (compute-bound), then the mass
/// of head s-1 from its kept exp tile, the value norms of head s and the key statistics of head
/// s+1 (memory-bound; see <see cref="Step"/>). A prologue summarises the keys of head 0.
/// Head h's centre and μ therefore exist before its GEMM, and its softmax statistics are merged
/// before its mass is reduced; head h uses <see cref="HeadSlot"/> h mod 2. Every chunk writes its
/// own results, so nothing depends on which thread ran it.
/// </summary>
internal static class LayerPipeline
{
    /// <summary>
    /// Keys per GEMM slice between the memory-bound slices. Measured (2-core Zen 4, N 32768): finer
    /// slices (24, 128 keys) were slower than whole chunks, so one slice per chunk for now.
    /// </summary>
    private const int SliceTokens = FastLayer.ChunkTokens;

    /// <summary>Rows per work item of the softmax statistics merge.</summary>
    private const int MergeRows = 16;

    /// <param name="checkFinite">Called after every step (it throws if a pass saw NaN/Inf in the input).</param>
    /// <returns>Wall time of the prologue (key statistics) and of the steps.</returns>
    public static (TimeSpan Stats, TimeSpan Scores) Run(FastLayer layer, HeadResult[] results, Action checkFinite)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int heads = layer.KvHeads;
        bool scoring = layer.Prefix > 0;
        int scoredChunks = layer.ScoredChunks;
        FastWorkspace ws = layer.Workspace;

        layer.Scheduler.Run(layer.Chunks, (chunk, worker) => HeadStatsPass.KeyChunk(layer, 0, results[0], chunk, ws.Worker(worker)));
        HeadStatsPass.FinishKeys(layer, 0, results[0]);
        checkFinite();
        TimeSpan stats = clock.Elapsed;

        for (int step = 0; step <= heads; step++)
        {
            int previous = step - 1, current = step < heads ? step : -1, next = step + 1 < heads ? step + 1 : -1;
            if (current >= 0 && scoring)
            {
                WindowScoresPass.PackQueries(layer, current);
            }

            layer.Scheduler.Run(layer.Chunks, (chunk, workerIndex) =>
            {
                ChunkWorker worker = ws.Worker(workerIndex);
                Step(layer, results, chunk, worker, previous, current, next, previous >= 0 && scoring && chunk < scoredChunks);
            });

            if (current >= 0 && scoring)
            {
                // 16K exp2 in double per head: in row blocks on all threads rather than on one.
                int blocks = (layer.Rows + MergeRows - 1) / MergeRows;
                layer.Scheduler.Run(blocks, (block, _) => WindowScoresPass.MergeChunkStatistics(layer, current, block * MergeRows, Math.Min(layer.Rows, (block + 1) * MergeRows)));
            }

            if (next >= 0)
            {
                HeadStatsPass.FinishKeys(layer, next, results[next]);
            }

            checkFinite();
        }

        return (stats, clock.Elapsed - stats);
    }

    /// <summary>
    /// Chunk c of one step. The GEMM runs in slices of <see cref="SliceTokens"/> keys, and after each
    /// slice the memory-bound work reads the same tokens of the other streams: each stream is then
    /// read a little at a time, so the hardware prefetcher runs ahead while the FMAs run.
    /// </summary>
    private static void Step(FastLayer layer, HeadResult[] results, int chunk, ChunkWorker worker, int previous, int current, int next, bool mass)
    {
        int first = chunk * FastLayer.ChunkTokens, count = layer.ChunkLength(chunk);
        bool scoring = layer.Prefix > 0, keptTiles = layer.StoreTiles;
        bool gemm = current >= 0 && scoring;
        ChunkGemm g = gemm ? WindowScoresPass.Begin(layer, current, chunk, worker, firstPass: true) : default;
        if (next >= 0)
        {
            HeadStatsPass.BeginKeys(layer, worker);
        }

        for (int from = 0; from < count; from += SliceTokens)
        {
            int to = Math.Min(count, from + SliceTokens);
            if (gemm)
            {
                WindowScoresPass.Gemm(layer, current, g, from, to);
            }

            if (mass && keptTiles)
            {
                WindowScoresPass.MassRows(layer, previous, results[previous], chunk, from, to);
            }

            if (current >= 0)
            {
                HeadStatsPass.ValueRows(layer, current, results[current], first + from, first + to, worker);
            }

            if (next >= 0)
            {
                HeadStatsPass.KeyRows(layer, next, results[next], first + from, first + to, worker);
            }
        }

        if (gemm)
        {
            WindowScoresPass.Finish(layer, current, results[current], g);
        }

        if (next >= 0)
        {
            HeadStatsPass.EndKeys(layer, chunk, worker);
        }

        if (mass && !keptTiles)
        {
            WindowScoresPass.AccumulateChunk(layer, previous, results[previous], chunk, worker);
        }
    }
}
