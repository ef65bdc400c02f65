using System.Diagnostics;

namespace MixKV.Fast;

/// <summary>
/// The chunk passes of one layer, software-pipelined over the heads. Per head:
/// <list type="number">
/// <item>keys: norms, Σ k̂ and Σ k of the head (hence μ, the centre and r_h).</item>
/// <item>scores: per chunk the GEMM, the softmax statistics and the exp tile, and the similarity k̂·μ
/// while the chunk's keys are at hand; then the rows' statistics merged.</item>
/// <item>mass: every prefix key's mass from its kept (or recomputed) exp tile.</item>
/// <item>values: value norms; then the caller's work on the finished mass (pooling, the AdaKV sort).</item>
/// </list>
/// Period p runs head p's GEMM beside memory-bound passes: head p - 1's mass and the caller's work on
/// it, head p's values, and head p + 1's keys (chunks in token order: one core streams a forward run
/// of chunks ~25 % faster than the same chunks backwards). The values go with the GEMM's head so that
/// the last period, which has no GEMM to hide behind, streams only the last head's tiles. Thread 0
/// takes the memory-bound items first, the others the GEMM chunks first
/// (<see cref="ChunkScheduler.RunBeside"/>): on this project's 2-core machine a
/// core that only streams leaves the other core's GEMM at full speed, while streaming between GEMM
/// blocks on one core hides almost nothing (bench/cpu-probe). Heads p - 1 and p use the two
/// <see cref="HeadSlot"/>s in turn. Every item writes its own results, so nothing depends on which
/// thread ran it.
/// </summary>
internal static class LayerPipeline
{
    /// <param name="checkFinite">Called after every pass over K or V (it throws if the pass saw NaN/Inf in the input).</param>
    /// <param name="afterMass">Work on a head's finished mass (pooling, the AdaKV sort).</param>
    /// <returns>Wall time of head 0's key pass (nothing to overlap it with), and of the pipelined periods.</returns>
    public static (TimeSpan Stats, TimeSpan Scores) Run(FastLayer layer, HeadResult[] results, Action checkFinite, Action<int>? afterMass = null)
    {
        int chunks = layer.Chunks, heads = layer.KvHeads;
        bool scored = layer.Prefix > 0;
        FastWorkspace ws = layer.Workspace;
        long start = Stopwatch.GetTimestamp();
        layer.Scheduler.Run(chunks, (c, worker) => HeadStatsPass.KeyChunk(layer, 0, results[0], c, ws.Worker(worker)));
        FinishKeys(layer, 0, results[0], checkFinite);
        TimeSpan stats = Stopwatch.GetElapsedTime(start);

        start = Stopwatch.GetTimestamp();
        for (int period = 0; period <= heads; period++)
        {
            var items = new PeriodItems(layer, period, scored && afterMass is not null);
            int head = period;
            layer.Scheduler.RunBeside(items.Count, (item, worker) => items.Run(item, results, afterMass, ws.Worker(worker)), items.GemmChunks, (c, worker) =>
            {
                ChunkGemm g = WindowScoresPass.Begin(layer, head, c, ws.Worker(worker), firstPass: true);
                WindowScoresPass.Gemm(layer, head, g, 0, g.Count, ws.Worker(worker));
                WindowScoresPass.Finish(layer, head, results[head], g);
            });

            if (items.Keys > 0)
            {
                FinishKeys(layer, period + 1, results[period + 1], checkFinite);
            }
            else
            {
                checkFinite();
            }

            if (items.GemmChunks > 0)
            {
                WindowScoresPass.MergeChunkStatistics(layer, head);
            }
        }

        return (stats, Stopwatch.GetElapsedTime(start));
    }

    /// <summary>μ, the centre and r_h of the head, the finite check, and its query panel for the GEMM.</summary>
    private static void FinishKeys(FastLayer layer, int head, HeadResult result, Action checkFinite)
    {
        HeadStatsPass.FinishKeys(layer, head, result);
        checkFinite(); // before the GEMM reads the same keys
        if (layer.Prefix > 0)
        {
            WindowScoresPass.PackQueries(layer, head);
        }
    }

    /// <summary>
    /// The memory-bound items of one period, numbered in the order they are taken: head p - 1's mass
    /// chunks, the caller's work on its mass, head p's value chunks, then head p + 1's key chunks.
    /// </summary>
    private sealed class PeriodItems
    {
        private readonly FastLayer layer;
        private readonly int done;
        private readonly int current;
        private readonly int mass;
        private readonly int after;
        private readonly int values;
        private readonly int next;
        private int massFinished;

        public PeriodItems(FastLayer layer, int period, bool withAfterMass)
        {
            this.layer = layer;
            done = period - 1;
            current = period;
            next = period + 1;
            bool scored = layer.Prefix > 0;
            mass = done >= 0 && scored ? layer.ScoredChunks : 0;
            after = done >= 0 && withAfterMass ? 1 : 0;
            values = current < layer.KvHeads ? layer.Chunks : 0;
            Keys = next < layer.KvHeads ? layer.Chunks : 0;
            GemmChunks = scored && period < layer.KvHeads ? layer.Chunks : 0;
        }

        /// <summary>Key chunks of head p + 1 in this period.</summary>
        public int Keys { get; }

        /// <summary>GEMM chunks of head p in this period.</summary>
        public int GemmChunks { get; }

        public int Count => mass + after + values + Keys;

        public void Run(int item, HeadResult[] results, Action<int>? afterMass, ChunkWorker worker)
        {
            if (item < mass)
            {
                WindowScoresPass.AccumulateChunk(layer, done, results[done], item, worker);
                Interlocked.Increment(ref massFinished);
            }
            else if ((item -= mass) < after)
            {
                // Items are taken in order, so every mass item is finished or running on another thread.
                SpinWait.SpinUntil(() => Volatile.Read(ref massFinished) == mass);
                afterMass!(done);
            }
            else if ((item -= after) < values)
            {
                int first = item * FastLayer.ChunkTokens;
                HeadStatsPass.ValueRows(layer, current, results[current], first, first + layer.ChunkLength(item), worker);
            }
            else
            {
                HeadStatsPass.KeyChunk(layer, next, results[next], item - values, worker);
            }
        }
    }
}
