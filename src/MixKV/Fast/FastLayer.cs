using MixKV.Options;

namespace MixKV.Fast;

/// <summary>
/// The plan of one layer on the fast path: shapes, pinned inputs, per-thread workers and the
/// per-head scratch, computed once before any pass runs (STYLE point 2). <see cref="LayerPipeline"/>
/// spreads each head's key chunks over the threads.
/// </summary>
internal sealed unsafe class FastLayer
{
    /// <summary>
    /// Keys per chunk: the chunk's packed keys (D=128: 126 KiB) and its [chunk, R] tile stay in L2.
    /// 21 blocks of <see cref="StrassenLogitKernel"/> (42 of the classical kernel) with none left over:
    /// at 256 the four keys past the last block took a whole classical block (~0.7 ms a layer).
    /// </summary>
    public const int ChunkTokens = 252;

    public FastLayer(PinnedRows keys, PinnedRows values, PinnedRows windowQueries, int tokens, int kvHeads, int queryHeads, int window, CompressionOptions options, FastWorkspace workspace, WorkerTeam team, bool wide, long tileLimitBytes)
    {
        Keys = keys;
        Values = values;
        Queries = windowQueries;
        KvHeads = kvHeads;
        Groups = queryHeads / kvHeads;
        Tokens = tokens;
        Dim = keys.Dim;
        Window = window;
        Options = options;
        Workspace = workspace;
        Wide = wide;
        Scheduler = new ChunkScheduler(team);
        GroupRows = Groups * window;
        Rows = (GroupRows + LogitKernel.Lanes - 1) / LogitKernel.Lanes * LogitKernel.Lanes;
        Chunks = (Tokens + ChunkTokens - 1) / ChunkTokens;
        Strassen = StrassenLogitKernel.Applies(Rows, Dim, wide);
        RoundedExp = wide && Rows % 64 == 0 && PackedExp.Supported;
        TileRowBytes = Rows * (RoundedExp ? PackedExp.EntryBytes : sizeof(float));
        // Two heads' tiles are alive at a time: one written by its GEMM, one read by its mass pass.
        StoreTiles = 2L * Chunks * ChunkTokens * TileRowBytes <= tileLimitBytes;
        PackedTiles = StoreTiles && RoundedExp;
        workspace.Prepare(this, Scheduler.Workers);
    }

    public PinnedRows Keys { get; }

    public PinnedRows Values { get; }

    /// <summary>The last W query rows, [Hq, W, D].</summary>
    public PinnedRows Queries { get; }

    public int KvHeads { get; }

    public int Groups { get; }

    public int Tokens { get; }

    public int Dim { get; }

    public int Window { get; }

    public int Prefix => Tokens - Window;

    public CompressionOptions Options { get; }

    public FastWorkspace Workspace { get; }

    public bool Wide { get; }

    public ChunkScheduler Scheduler { get; }

    /// <summary>G·W window rows of one KV head's group.</summary>
    public int GroupRows { get; }

    /// <summary>G·W padded to the vector width: the tile's row stride.</summary>
    public int Rows { get; }

    public int Chunks { get; }

    /// <summary>The GEMM runs <see cref="StrassenLogitKernel"/> on the chunks' whole 12-key blocks.</summary>
    public bool Strassen { get; }

    /// <summary>
    /// True: pass 1 leaves each chunk's exp tile in the head's [chunks, chunk, R] scratch and pass 2
    /// reads it back (one GEMM). False (the scratch would exceed the limit): pass 2 recomputes it.
    /// </summary>
    public bool StoreTiles { get; }

    /// <summary>The mass takes each exp entry as <see cref="PackedExp"/> rounds it: packed when the tile is kept, rounded in place when it is recomputed.</summary>
    public bool RoundedExp { get; }

    /// <summary>The kept tiles hold <see cref="PackedExp"/> entries (3 bytes) instead of fp32.</summary>
    public bool PackedTiles { get; }

    /// <summary>Bytes of one key's row in a kept tile.</summary>
    public int TileRowBytes { get; }

    /// <summary>Chunks holding prefix keys (the only ones whose mass is needed).</summary>
    public int ScoredChunks => (Prefix + ChunkTokens - 1) / ChunkTokens;

    /// <summary>When set, <see cref="LayerPipeline"/> times every item on its thread (<see cref="FastCompressor.ProfilePasses"/>).</summary>
    public PassRecorder? Profile { get; init; }

    /// <summary>Set (from any thread) when some K or V row held NaN/Inf (or overflowed fp32); the caller then runs the exact check.</summary>
    public bool SawNonFinite { get; set; }

    public int ChunkLength(int chunk) => Math.Min(ChunkTokens, Tokens - (chunk * ChunkTokens));

    /// <summary>The window-score scratch of <paramref name="head"/> (two heads are in progress at a time).</summary>
    public HeadSlot SlotOf(int head) => Workspace.Slots[head & 1];

    /// <summary>The head's mean raw key [D].</summary>
    public float* Center(int head) => Workspace.Center.Pointer + ((long)head * Dim);

    /// <summary>The head's μ [D].</summary>
    public float* MeanUnitKey(int head) => Workspace.MeanUnitKey.Pointer + ((long)head * Dim);
}
