using System.Numerics;
using BenchmarkDotNet.Attributes;
using MixKV.Bench.Shared;
using MixKV.Fast;

namespace MixKV.Bench.Fast;

/// <summary>
/// The fast path's chunk GEMM (252 keys of D = 128 times 128 window rows, keys in L2) on machines
/// without AVX-512, on one core: the portable kernel as it was until the thirty-second session (one
/// row vector and one key at a time, so every FMA waits on the one before; kept here as the
/// baseline), the register-blocked <see cref="PortableLogitKernel"/> that replaced it, and the
/// AVX-512 classical kernel for scale where this machine has it. Run with DOTNET_EnableAVX512=0 to
/// see Vector&lt;T&gt; at 8 lanes as an AVX2 machine has it (it is 8 by default either way).
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 15)]
public unsafe class PortableLogitKernelBenchmarks
{
    private const int Dim = 128, Rows = 128, Keys = FastLayer.ChunkTokens;
    private float* keys;
    private float* queries;
    private float* center;
    private float* tile;
    private float* rowMax;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(1);
        keys = NativeFloats.Random(Keys * Dim, rng, 1f);
        queries = NativeFloats.Random(Dim * Rows, rng, 0.13f);
        center = NativeFloats.Random(Dim, rng, 0.1f);
        tile = NativeFloats.Random(Keys * Rows, rng, 1f);
        rowMax = NativeFloats.Random(Rows, rng, 1f);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeFloats.Free(keys, queries, center, tile, rowMax);
    }

    [Benchmark(Baseline = true, Description = "chunk GEMM 252x128x128, Vector<T> one key x one vector (before)")]
    public void Unblocked()
    {
        int width = Vector<float>.Count;
        for (int j = 0; j < Keys; j++)
        {
            float* k = keys + (j * Dim);
            float* output = tile + (j * Rows);
            for (int r = 0; r < Rows; r += width)
            {
                var acc = Vector<float>.Zero;
                for (int d = 0; d < Dim; d++)
                {
                    acc = Vector.FusedMultiplyAdd(RowMath.Load(queries + (d * Rows) + r), new Vector<float>(k[d] - center[d]), acc);
                }

                RowMath.Store(acc, output + r);
            }

            for (int r = 0; r < Rows; r++)
            {
                rowMax[r] = MathF.Max(rowMax[r], output[r]);
            }
        }
    }

    [Benchmark(Description = "chunk GEMM 252x128x128, Vector<T> 2 vectors x 6 keys (the portable path's)")]
    public void Blocked() =>
        PortableLogitKernel.Compute(queries, Rows, keys, Dim, center, Keys, Keys, Dim, tile, rowMax);

    [Benchmark(Description = "chunk GEMM 252x128x128, AVX-512 classical 64x6 (for scale)")]
    public void Wide()
    {
        if (!WideKernels.Available)
        {
            throw new NotSupportedException("no AVX-512 on this machine (or DOTNET_EnableAVX512=0): this case has nothing to measure");
        }

        LogitKernel.Compute(queries, Rows, keys, Dim, center, Keys, Keys, Dim, tile, rowMax, wide: true);
    }
}
