using System.Diagnostics;

namespace MixKV.Fast;

/// <summary>The kinds of work item <see cref="LayerPipeline"/> runs, in the order a profile lists them.</summary>
internal enum PipelinePass
{
    /// <summary>Key norms, Σ k̂ and Σ k of one chunk (<see cref="HeadStatsPass.KeyChunk"/>).</summary>
    KeyStats,

    /// <summary>Value norms of one chunk.</summary>
    ValueNorms,

    /// <summary>One chunk's GEMM (with the similarity's k·μ started in its packing).</summary>
    ScoresGemm,

    /// <summary>The same chunk's mask, exp tile, softmax statistics and similarity.</summary>
    ScoresSoftmax,

    /// <summary>A head's chunk statistics merged into row max and sum.</summary>
    Merge,

    /// <summary>One chunk's attention mass from its kept (or recomputed) exp tile.</summary>
    Mass,

    /// <summary>The caller's work on a head's finished mass (pooling, the AdaKV sort).</summary>
    AfterMass,
}

/// <summary>
/// Per-thread busy time of each <see cref="PipelinePass"/> over one layer, and each thread's wait at
/// the ends of the pipeline's periods (what `mixkv bench --per-pass` prints). A thread writes only its
/// own row (the used parts of two rows at least a cache line apart, so no two threads share a line); the caller reads them
/// once the team has joined. Two timestamps an item (~40 µs each here): profiled runs are kept apart
/// from timed ones all the same.
/// </summary>
internal sealed class PassRecorder
{
    public static readonly int Passes = Enum.GetValues<PipelinePass>().Length;

    /// <summary>Longs per worker row: the passes' ticks, the passes' item counts, busy ticks, padded past a cache line.</summary>
    private static readonly int RowLength = (2 * Passes) + 1 + 8;

    private readonly long[] rows;
    private readonly long[] idle;
    private readonly long[] busyAtPeriodStart;

    /// <summary>Bytes each pass must move and FLOP of its products, per layer (<see cref="Describe"/>).</summary>
    private readonly (double Bytes, double Flop)[] traffic = new (double, double)[Passes];
    private long periodStart;

    public PassRecorder(int workers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        Workers = workers;
        rows = new long[workers * RowLength];
        idle = new long[workers];
        busyAtPeriodStart = new long[workers];
    }

    public int Workers { get; }

    /// <summary>Wall ticks of all periods (the first head's key pass counts as one).</summary>
    public long PeriodTicks { get; private set; }

    public long Now() => Stopwatch.GetTimestamp();

    /// <summary>The JSON and table name of a pass.</summary>
    public static string Name(PipelinePass pass) => pass switch
    {
        PipelinePass.KeyStats => "key_stats",
        PipelinePass.ValueNorms => "value_norms",
        PipelinePass.ScoresGemm => "scores_gemm",
        PipelinePass.ScoresSoftmax => "scores_softmax",
        PipelinePass.Merge => "merge",
        PipelinePass.Mass => "mass",
        _ => "after_mass",
    };

    /// <summary>
    /// What each pass of <paramref name="layer"/> must move and compute (see <see cref="PassTime"/>):
    /// the GEMM counted as the classical product, the tiles as kept (a recomputed tile's mass redoes
    /// the prefix's GEMM instead).
    /// </summary>
    public void Describe(FastLayer layer)
    {
        double heads = layer.KvHeads, tokens = layer.Tokens, prefix = layer.Prefix;
        double keyRow = (double)layer.Dim * layer.Keys.ElementSize, valueRow = (double)layer.Dim * layer.Values.ElementSize;
        double flopPerKey = 2.0 * layer.GroupRows * layer.Dim;
        traffic[(int)PipelinePass.KeyStats] = (heads * tokens * keyRow, 0);
        traffic[(int)PipelinePass.ValueNorms] = (heads * tokens * valueRow, 0);
        traffic[(int)PipelinePass.ScoresGemm] = (heads * tokens * keyRow, heads * tokens * flopPerKey);
        traffic[(int)PipelinePass.ScoresSoftmax] = (layer.StoreTiles ? heads * tokens * layer.TileRowBytes : 0, 0);
        traffic[(int)PipelinePass.Mass] = layer.StoreTiles
            ? (heads * prefix * layer.TileRowBytes, 0)
            : (heads * prefix * keyRow, heads * prefix * flopPerKey);
    }

    public (double Bytes, double Flop) Traffic(PipelinePass pass) => traffic[(int)pass];

    /// <summary>Adds [<paramref name="start"/>, now) and <paramref name="items"/> items to the pass on this worker; returns now, the next item's start.</summary>
    public long Add(PipelinePass pass, int worker, long start, int items = 1)
    {
        long now = Stopwatch.GetTimestamp();
        int row = worker * RowLength;
        rows[row + (int)pass] += now - start;
        rows[row + Passes + (int)pass] += items;
        rows[row + (2 * Passes)] += now - start;
        return now;
    }

    /// <summary>Called by the caller before a period's items start (no worker is running).</summary>
    public void BeginPeriod()
    {
        for (int w = 0; w < Workers; w++)
        {
            busyAtPeriodStart[w] = rows[(w * RowLength) + (2 * Passes)];
        }

        periodStart = Stopwatch.GetTimestamp();
    }

    /// <summary>Called by the caller once every worker has finished the period: each worker's wall time in it not spent in an item is its wait.</summary>
    public void EndPeriod()
    {
        long wall = Stopwatch.GetTimestamp() - periodStart;
        PeriodTicks += wall;
        for (int w = 0; w < Workers; w++)
        {
            idle[w] += wall - (rows[(w * RowLength) + (2 * Passes)] - busyAtPeriodStart[w]);
        }
    }

    public long Ticks(PipelinePass pass, int worker) => rows[(worker * RowLength) + (int)pass];

    public double Milliseconds(PipelinePass pass, int worker) => Ms(Ticks(pass, worker));

    public long Items(PipelinePass pass)
    {
        long total = 0;
        for (int w = 0; w < Workers; w++)
        {
            total += rows[(w * RowLength) + Passes + (int)pass];
        }

        return total;
    }

    /// <summary>The worker's wall time in the periods outside any item (with its busy time, the periods' whole wall time).</summary>
    public long IdleTicks(int worker) => idle[worker];

    public double IdleMilliseconds(int worker) => Ms(idle[worker]);

    public static double Ms(long ticks) => ticks * 1000.0 / Stopwatch.Frequency;
}
