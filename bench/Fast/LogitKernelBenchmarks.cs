using BenchmarkDotNet.Attributes;
using MixKV.Bench.Shared;
using MixKV.Fast;

namespace MixKV.Bench.Fast;

/// <summary>
/// The fast path's GEMM on one chunk (252 keys of D = 128 times the 128 window rows of a KV head's
/// group; 131 chunks per head, 1048 a layer of the performance issue), tile in L2 as in the layer,
/// keys in L2 or streamed from memory, on one core: the classical 64×6 kernel (the baseline) against
/// one level of Strassen on 12-key blocks (7/8 of the FMAs, plus the sums and the C blocks' extra
/// writes); and the similarity's k·μ of the chunk's keys, re-read after the GEMM or started in the
/// Strassen packing while each key row is in L1.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
public unsafe class LogitKernelBenchmarks
{
    private const int Dim = 128, Rows = 128, Keys = FastLayer.ChunkTokens;
    private float* keys;
    private float* queries;
    private float* panels;
    private float* center;
    private float* tile;
    private float* rowMax;
    private float* combinations;
    private float* mu;
    private float* partials;
    private float* dots;
    private int chunk;

    /// <summary>1: the chunk's keys stay in L2; 128: each call takes the next of 128 chunks (16 MB, about a head), read from memory as in the layer.</summary>
    [Params(1, 128)]
    public int KeyChunks { get; set; }

    private float* NextChunkKeys => keys + ((long)(chunk = (chunk + 1) % KeyChunks) * Keys * Dim);

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        keys = NativeFloats.Random(KeyChunks * Keys * Dim, rng, 1f);
        queries = NativeFloats.Random(Dim * Rows, rng, 0.13f);
        center = NativeFloats.Random(Dim, rng, 0.1f);
        tile = NativeFloats.Random(Keys * Rows, rng, 1f);
        rowMax = NativeFloats.Random(Rows, rng, 1f);
        panels = NativeFloats.Random((int)StrassenLogitKernel.PanelFloats(Rows, Dim), rng, 1f);
        combinations = NativeFloats.Random(StrassenLogitKernel.CombinationFloats(Dim), rng, 1f);
        mu = NativeFloats.Random(Dim, rng, 0.2f);
        partials = NativeFloats.Random(Keys * LogitKernel.Lanes, rng, 1f);
        dots = NativeFloats.Random(Keys, rng, 1f);
        StrassenLogitKernel.PackPanels(queries, Rows, Dim, panels);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeFloats.Free(keys, queries, panels, center, tile, rowMax, combinations, mu, partials, dots);
    }

    [Benchmark(Baseline = true, Description = "chunk GEMM 252x128x128, classical 64x6")]
    public void Classical() =>
        LogitKernel.Compute(queries, Rows, NextChunkKeys, Dim, center, Keys, Keys, Dim, tile, rowMax, wide: true);

    [Benchmark(Description = "chunk GEMM 252x128x128, Strassen on 12-key blocks (the layer's)")]
    public void Strassen() => Strassen(NextChunkKeys);

    [Benchmark(Description = "Strassen chunk GEMM, then k·mu of its keys re-read after it (16 at a time)")]
    public void StrassenThenKeyDots()
    {
        float* chunkKeys = NextChunkKeys;
        Strassen(chunkKeys);
        for (int j = 0; j + 16 <= Keys; j += 16)
        {
            RowMath.Dots128x16(chunkKeys + (j * Dim), Dim, mu, dots + j);
        }
    }

    [Benchmark(Description = "Strassen chunk GEMM with k·mu started in its packing (the layer's), then the lane sums reduced")]
    public void StrassenWithKeyDots()
    {
        float* chunkKeys = NextChunkKeys;
        int done = StrassenLogitKernel.Compute(panels, Rows, chunkKeys, Dim, center, Keys, Keys, Dim, tile, rowMax, combinations, mu, partials);
        LogitKernel.Compute(queries, Rows, chunkKeys + (done * Dim), Dim, center, Keys - done, Keys - done, Dim, tile + (done * Rows), rowMax, wide: true);
        for (int j = 0; j + 16 <= done; j += 16)
        {
            RowMath.SumsOf16(partials + (j * LogitKernel.Lanes), dots + j);
        }
    }

    private void Strassen(float* chunkKeys)
    {
        int done = StrassenLogitKernel.Compute(panels, Rows, chunkKeys, Dim, center, Keys, Keys, Dim, tile, rowMax, combinations);
        LogitKernel.Compute(queries, Rows, chunkKeys + (done * Dim), Dim, center, Keys - done, Keys - done, Dim, tile + (done * Rows), rowMax, wide: true);
    }
}
