using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
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
        keys = Fill(KeyChunks * Keys * Dim, rng, 1f);
        queries = Fill(Dim * Rows, rng, 0.13f);
        center = Fill(Dim, rng, 0.1f);
        tile = Fill(Keys * Rows, rng, 1f);
        rowMax = Fill(Rows, rng, 1f);
        panels = Fill((int)StrassenLogitKernel.PanelFloats(Rows, Dim), rng, 1f);
        combinations = Fill(StrassenLogitKernel.CombinationFloats(Dim), rng, 1f);
        mu = Fill(Dim, rng, 0.2f);
        partials = Fill(Keys * LogitKernel.Lanes, rng, 1f);
        dots = Fill(Keys, rng, 1f);
        StrassenLogitKernel.PackPanels(queries, Rows, Dim, panels);
    }

    private static float* Fill(int count, Random rng, float scale)
    {
        float* p = (float*)NativeMemory.AlignedAlloc((nuint)count * sizeof(float), 64);
        for (int i = 0; i < count; i++)
        {
            p[i] = (float)(rng.NextDouble() - 0.5) * scale;
        }

        return p;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (nint p in new[] { (nint)keys, (nint)queries, (nint)panels, (nint)center, (nint)tile, (nint)rowMax, (nint)combinations, (nint)mu, (nint)partials, (nint)dots })
        {
            NativeMemory.AlignedFree((void*)p);
        }
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
