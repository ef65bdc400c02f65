using BenchmarkDotNet.Attributes;
using MixKV.Bench.Reference;
using MixKV.Bench.Shared;
using MixKV.Fast;
using MixKV.Options;

namespace MixKV.Bench.Fast;

/// <summary>
/// Whole-layer compression by the fast CPU path on one fp32 layer (Hq = 32, Hkv = 8, D = 128, W = 32,
/// budget 256, mixkv), N from 4K to 128K, with the roofline column against the sgemm floor, on the
/// kernels this machine picks and on the portable ones (what a CPU without AVX-512 runs). The
/// reference's time on the same layers is ReferenceStageBenchmarks.EndToEnd (N up to 32K: at 128K it
/// takes tens of seconds a call); per-stage times of either path: `mixkv bench --json` (stages_ms);
/// the PyTorch comparison: bench/peer/compare.sh.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 3, iterationCount: 10)]
[Config(typeof(RooflineConfig))]
public class FastCompressorBenchmarks
{
    private const int QueryHeads = 32, KvHeads = 8, HeadDim = 128, Window = 32;
    private readonly FastCompressor fast = new();
    private readonly FastCompressor portable = new() { ForcePortable = true };
    private LayerInputs inputs = null!;
    private CompressionOptions options = null!;

    [Params(4096, 32768, 131072)]
    public int Tokens { get; set; }

    [Params(BudgetMethod.SnapKV, BudgetMethod.AdaKV)]
    public BudgetMethod Method { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        inputs = BenchInputs.Layer(KvHeads, QueryHeads, Tokens, HeadDim, Window);
        options = new CompressionOptions { Method = Method, Score = ScoreMode.MixKV, Budget = 256, Window = Window };
        Console.WriteLine($"// size: Hq={QueryHeads} Hkv={KvHeads} N={Tokens} D={HeadDim} W={Window} fp32 {Method}/mixkv budget 256");
    }

    [Benchmark(Baseline = true)]
    public CompressedLayer Fast() => fast.Compress(inputs, options, LayerPosition.Single);

    /// <summary>The Vector&lt;T&gt; kernels a machine without AVX-512 runs (8 lanes here, as with AVX2).</summary>
    [Benchmark]
    public CompressedLayer Portable() => portable.Compress(inputs, options, LayerPosition.Single);
}
