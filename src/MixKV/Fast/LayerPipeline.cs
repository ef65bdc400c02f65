using System.Diagnostics;

namespace MixKV.Fast;

/// <summary>
/// The chunk passes of one layer, head after head, each pass one parallel loop over the key chunks:
/// <list type="number">
/// <item>keys: norms, Σ k̂ and Σ k of the head (hence μ, the centre and r_h). Chunks in reverse order,
/// so the keys the GEMM starts with are the most recently read and still in the L3 cache.</item>
/// <item>scores: per chunk the GEMM, the softmax statistics and the exp tile, and the similarity k̂·μ
/// while the chunk's keys are at hand; then the rows' statistics merged.</item>
/// <item>mass: every prefix key's mass from its kept (or recomputed) exp tile.</item>
/// <item>values: value norms, with the caller's work on the finished mass (pooling, the AdaKV sort)
/// on one thread beside them: compute beside a memory stream costs almost nothing there.</item>
/// </list>
/// Measured on this project's 2-core machine (N 32768, fp32): faster than pipelining one head's
/// memory-bound passes with the next head's GEMM chunk by chunk, because streaming between GEMM blocks
/// on the same core hides almost nothing there (bench/cpu-probe) while the reverse key pass saves part
/// of a read of K. Every chunk writes its own results, so nothing depends on which thread ran it.
/// </summary>
internal static class LayerPipeline
{
    /// <summary>Rows per work item of the softmax statistics merge.</summary>
    private const int MergeRows = 16;

    /// <param name="checkFinite">Called after every pass over K or V (it throws if the pass saw NaN/Inf in the input).</param>
    /// <param name="afterMass">Work on a head's finished mass (pooling, the AdaKV sort), run on one thread beside the head's value pass.</param>
    /// <returns>Wall time of the key and value passes, and of the window-score passes.</returns>
    public static (TimeSpan Stats, TimeSpan Scores) Run(FastLayer layer, HeadResult[] results, Action checkFinite, Action<int>? afterMass = null)
    {
        TimeSpan stats = TimeSpan.Zero, scores = TimeSpan.Zero;
        int chunks = layer.Chunks;
        FastWorkspace ws = layer.Workspace;
        for (int h = 0; h < layer.KvHeads; h++)
        {
            int head = h;
            long start = Stopwatch.GetTimestamp();
            layer.Scheduler.Run(chunks, (c, worker) => HeadStatsPass.KeyChunk(layer, head, results[head], chunks - 1 - c, ws.Worker(worker)));
            HeadStatsPass.FinishKeys(layer, head, results[head]);
            checkFinite(); // before the GEMM reads the same keys
            stats += Stopwatch.GetElapsedTime(start);

            if (layer.Prefix > 0)
            {
                start = Stopwatch.GetTimestamp();
                Scores(layer, head, results[head]);
                scores += Stopwatch.GetElapsedTime(start);
            }

            start = Stopwatch.GetTimestamp();
            Action<int, int> values = (c, worker) =>
            {
                int first = c * FastLayer.ChunkTokens;
                HeadStatsPass.ValueRows(layer, head, results[head], first, first + layer.ChunkLength(c), ws.Worker(worker));
            };
            if (afterMass is not null && layer.Prefix > 0)
            {
                layer.Scheduler.RunBeside(chunks, values, 1, (_, _) => afterMass(head));
            }
            else
            {
                layer.Scheduler.Run(chunks, values);
            }

            checkFinite();
            stats += Stopwatch.GetElapsedTime(start);
        }

        return (stats, scores);
    }

    /// <summary>The head's mass (spec section 2) and its keys' similarity to μ.</summary>
    private static void Scores(FastLayer layer, int head, HeadResult result)
    {
        FastWorkspace ws = layer.Workspace;
        WindowScoresPass.PackQueries(layer, head);
        layer.Scheduler.Run(layer.Chunks, (c, worker) =>
        {
            ChunkGemm g = WindowScoresPass.Begin(layer, head, c, ws.Worker(worker), firstPass: true);
            WindowScoresPass.Gemm(layer, head, g, 0, g.Count);
            WindowScoresPass.Finish(layer, head, result, g);
        });

        // 16K exp2 in double per head: in row blocks on all threads rather than on one.
        int blocks = (layer.Rows + MergeRows - 1) / MergeRows;
        layer.Scheduler.Run(blocks, (block, _) => WindowScoresPass.MergeChunkStatistics(layer, head, block * MergeRows, Math.Min(layer.Rows, (block + 1) * MergeRows)));
        layer.Scheduler.Run(layer.ScoredChunks, (c, worker) => WindowScoresPass.AccumulateChunk(layer, head, result, c, ws.Worker(worker)));
    }
}
