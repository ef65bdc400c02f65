using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using MixKV.Fast;

namespace MixKV.Bench.Fast;

/// <summary>
/// The dots behind the fast path's similarity step k̂·μ on one chunk (252 keys of D = 128 against μ;
/// 1048 chunks a layer of the performance issue), keys in L2 as after the chunk's GEMM, on one core:
/// sixteen rows at a time with one shuffle-tree reduction (what the layer runs) against one
/// horizontal sum per row (the baseline).
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public unsafe class KeyDotBenchmarks
{
    private const int Dim = 128, Keys = FastLayer.ChunkTokens;
    private float* keys;
    private float* mu;
    private float* dots;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        keys = (float*)NativeMemory.AlignedAlloc(Keys * Dim * sizeof(float), 64);
        mu = (float*)NativeMemory.AlignedAlloc(Dim * sizeof(float), 64);
        dots = (float*)NativeMemory.AlignedAlloc(Keys * sizeof(float), 64);
        for (int i = 0; i < Keys * Dim; i++)
        {
            keys[i] = (float)(rng.NextDouble() - 0.5);
        }

        for (int i = 0; i < Dim; i++)
        {
            mu[i] = (float)(rng.NextDouble() - 0.5) * 0.1f;
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeMemory.AlignedFree(keys);
        NativeMemory.AlignedFree(mu);
        NativeMemory.AlignedFree(dots);
    }

    [Benchmark(Baseline = true, Description = "256 key dots, one horizontal sum each")]
    public void OneByOne()
    {
        for (int n = 0; n < Keys; n++)
        {
            dots[n] = RowMath.Dot128(keys + (n * Dim), mu);
        }
    }

    [Benchmark(Description = "256 key dots, sixteen at a time (the layer's)")]
    public void SixteenAtATime()
    {
        for (int n = 0; n < Keys; n += 16)
        {
            RowMath.Dots128x16(keys + (n * Dim), Dim, mu, dots + n);
        }
    }
}
