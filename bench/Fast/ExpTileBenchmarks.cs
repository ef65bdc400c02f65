using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using MixKV.Fast;

namespace MixKV.Bench.Fast;

/// <summary>
/// The fast path's softmax step on one chunk of the performance issue's layer (256 keys against the
/// 128 window rows of one KV head's group; 1024 chunks a layer), on one core: exp of the logit tile
/// into the head's streamed exp tile, key by key (what the layer runs: 256 contiguous bytes per store
/// run) against one row vector at a time (the baseline: one line every 512 bytes). Destinations
/// rotate through 32 MB, as the two head tiles do, so the streamed stores reach memory.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
public unsafe class ExpTileBenchmarks
{
    private const int Rows = 128, Keys = FastLayer.ChunkTokens, Tiles = 256;
    private float* logits;
    private float* scratch;
    private float* exp;
    private float* max;
    private double* sum;
    private int next;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        logits = Allocate(Keys * Rows);
        scratch = Allocate(Keys * Rows);
        exp = Allocate((long)Tiles * Keys * Rows);
        max = Allocate(Rows);
        sum = (double*)NativeMemory.AlignedAlloc(Rows * sizeof(double), 64);
        Fill(logits, Keys * Rows, rng, 8f);
        Fill(scratch, Keys * Rows, rng, 8f);
        for (int r = 0; r < Rows; r++)
        {
            max[r] = 8f;
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (void* p in new void*[] { logits, scratch, exp, max, sum })
        {
            NativeMemory.AlignedFree(p);
        }
    }

    [Benchmark(Baseline = true, Description = "exp tile, row vector by row vector")]
    public void ExponentiateByRowVector() => TileSoftmax.WideByRowVector(logits, NextTile(), Keys, Rows, max, sum, computeMax: false);

    [Benchmark(Description = "exp tile, key by key (fp32, where VBMI is missing)")]
    public void ExponentiateByKey() => TileSoftmax.Exponentiate(logits, NextTile(), Keys, Rows, max, sum, computeMax: false, wide: true);

    [Benchmark(Description = "exp tile, key by key into 3-byte entries (the layer's)")]
    public void ExponentiateByKeyPacked() => TileSoftmax.ExponentiateBy64(logits, null, (byte*)NextTile(), Keys, Rows, max, sum, computeMax: false, rounded: false);

    [Benchmark(Description = "exp arithmetic only: in place, nothing streamed")]
    public void ExponentiateInPlace() => TileSoftmax.ExponentiateBy64(scratch, scratch, null, Keys, Rows, max, sum, computeMax: false, rounded: false);

    private float* NextTile() => exp + ((long)(next++ % Tiles) * Keys * Rows);

    private static float* Allocate(long count) => (float*)NativeMemory.AlignedAlloc((nuint)(count * sizeof(float)), 64);

    private static void Fill(float* p, long count, Random rng, float scale)
    {
        for (long i = 0; i < count; i++)
        {
            p[i] = (float)(rng.NextDouble() - 0.5) * scale;
        }
    }
}
