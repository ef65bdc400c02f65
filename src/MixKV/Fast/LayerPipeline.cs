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
        PassRecorder? profile = layer.Profile;
        profile?.Describe(layer);
        long start = Stopwatch.GetTimestamp();
        profile?.BeginPeriod();
        layer.Scheduler.Run(chunks, (c, worker) =>
        {
            long begun = profile?.Now() ?? 0;
            HeadStatsPass.KeyChunk(layer, 0, results[0], c, ws.Worker(worker));
            profile?.Add(PipelinePass.KeyStats, worker, begun);
        });
        long finishing = profile?.Now() ?? 0;
        FinishKeys(layer, 0, results[0], ws.Worker(0));
        profile?.Add(PipelinePass.KeyStats, worker: 0, finishing, items: 0); // later heads' finish runs inside their last key item
        profile?.EndPeriod();
        checkFinite(); // before the GEMM reads the same keys
        TimeSpan stats = Stopwatch.GetElapsedTime(start);

        start = Stopwatch.GetTimestamp();
        for (int period = 0; period <= heads; period++)
        {
            var items = new PeriodItems(layer, period, scored && afterMass is not null);
            int head = period;
            profile?.BeginPeriod();
            layer.Scheduler.RunBeside(items.Count, (item, worker) =>
            {
                long begun = profile?.Now() ?? 0;
                items.Run(item, results, afterMass, ws.Worker(worker));
                profile?.Add(items.PassOf(item), worker, begun);
            }, items.GemmChunks, (c, worker) =>
            {
                long begun = profile?.Now() ?? 0;
                ChunkGemm g = WindowScoresPass.Begin(layer, head, c, ws.Worker(worker), firstPass: true);
                int dotted = WindowScoresPass.Gemm(layer, head, g, 0, g.Count, ws.Worker(worker));
                begun = profile?.Add(PipelinePass.ScoresGemm, worker, begun) ?? 0;
                WindowScoresPass.Finish(layer, head, results[head], g, dotted, ws.Worker(worker));
                profile?.Add(PipelinePass.ScoresSoftmax, worker, begun);
            });
            profile?.EndPeriod();

            checkFinite(); // after the pass over head p + 1's keys and before its GEMM in the next period
        }

        return (stats, Stopwatch.GetElapsedTime(start));
    }

    /// <summary>μ, the centre and r_h of the head, and its query panel for the GEMM.</summary>
    private static void FinishKeys(FastLayer layer, int head, HeadResult result, ChunkWorker worker)
    {
        HeadStatsPass.FinishKeys(layer, head, result);
        if (layer.Prefix > 0)
        {
            WindowScoresPass.PackQueries(layer, head, worker);
        }
    }

    /// <summary>
    /// The memory-bound items of one period, numbered in the order they are taken: the merge of head
    /// p - 1's chunk statistics, its mass chunks, the caller's work on its mass, head p's value chunks,
    /// then head p + 1's key chunks. The small serial steps between periods ride with them on the
    /// streaming thread while the others run the GEMM: the merge first (the mass chunks wait for it),
    /// and head p + 1's μ, centre and query panel after its last key chunk (once head p - 1's mass
    /// chunks, which share its slot, are done). Between periods they took ~70 µs each on one thread
    /// with the other idle.
    /// </summary>
    private sealed class PeriodItems
    {
        private readonly FastLayer layer;
        private readonly int done;
        private readonly int current;
        private readonly int next;
        private readonly int merge;
        private readonly int mass;
        private readonly int after;
        private readonly int values;
        private int merged;
        private int massFinished;
        private int keysFinished;

        public PeriodItems(FastLayer layer, int period, bool withAfterMass)
        {
            this.layer = layer;
            done = period - 1;
            current = period;
            next = period + 1;
            bool scored = layer.Prefix > 0;
            merge = done >= 0 && scored ? 1 : 0;
            mass = merge * layer.ScoredChunks;
            after = done >= 0 && withAfterMass ? 1 : 0;
            values = current < layer.KvHeads ? layer.Chunks : 0;
            Keys = next < layer.KvHeads ? layer.Chunks : 0;
            GemmChunks = scored && period < layer.KvHeads ? layer.Chunks : 0;
        }

        /// <summary>Key chunks of head p + 1 in this period.</summary>
        public int Keys { get; }

        /// <summary>GEMM chunks of head p in this period.</summary>
        public int GemmChunks { get; }

        public int Count => merge + mass + after + values + Keys;

        /// <summary>The kind of item <paramref name="item"/> is (for a <see cref="PassRecorder"/>).</summary>
        public PipelinePass PassOf(int item) =>
            item < merge ? PipelinePass.Merge
            : item < merge + mass ? PipelinePass.Mass
            : item < merge + mass + after ? PipelinePass.AfterMass
            : item < merge + mass + after + values ? PipelinePass.ValueNorms
            : PipelinePass.KeyStats;

        public void Run(int item, HeadResult[] results, Action<int>? afterMass, ChunkWorker worker)
        {
            // The flags are raised in finally blocks: an item that throws must not leave another
            // thread spinning (the team rethrows the exception once every thread has returned).
            if (item < merge)
            {
                try
                {
                    WindowScoresPass.MergeChunkStatistics(layer, done);
                }
                finally
                {
                    Volatile.Write(ref merged, 1);
                }
            }
            else if ((item -= merge) < mass)
            {
                // Items are taken in order: the merge is finished or running on another thread.
                try
                {
                    SpinUntil(ref merged, 1);
                    WindowScoresPass.AccumulateChunk(layer, done, results[done], item, worker);
                }
                finally
                {
                    Interlocked.Increment(ref massFinished);
                }
            }
            else if ((item -= mass) < after)
            {
                WaitForMass();
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
                if (Interlocked.Increment(ref keysFinished) == Keys)
                {
                    WaitForMass();
                    FinishKeys(layer, next, results[next], worker);
                }
            }
        }

        /// <summary>Every mass item is finished or running on another thread (they come first): wait for them.</summary>
        private void WaitForMass() => SpinUntil(ref massFinished, mass);

        /// <summary>
        /// Spins (yielding, never sleeping) until another thread sets <paramref name="flag"/>: the waits
        /// here are tens of µs, and SpinWait.SpinUntil's Thread.Sleep(1) turned one into a 1.3 ms stall
        /// of the last period.
        /// </summary>
        private static void SpinUntil(ref int flag, int value)
        {
            var spin = default(SpinWait);
            while (Volatile.Read(ref flag) != value)
            {
                spin.SpinOnce(sleep1Threshold: -1);
            }
        }
    }
}
