using BenchmarkDotNet.Attributes;
using MixKV.Options;
using MixKV.Reference;
using MixKV.Bench.Shared;

namespace MixKV.Bench.Reference;

/// <summary>
/// The CPU reference, stage by stage, on one fp32 layer (Hq = 32, Hkv = 8, D = 128, W = 32, budget 256,
/// AdaKV + mixkv so every stage does its full work). The reference accumulates in double and is the
/// oracle, not the fast path: these numbers are the baseline later paths are reported against. Work per
/// stage: WindowScores 2·Hq·W·N·D FLOP (the floor of any backend); the others are single passes.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3)]
[MemoryDiagnoser]
[Config(typeof(RooflineConfig))]
public class ReferenceStageBenchmarks
{
    private const int KvHeads = 8, QueryHeads = 32, HeadDim = 128, Window = 32;

    private readonly CompressionOptions options = new() { Method = BudgetMethod.AdaKV, Score = ScoreMode.MixKV, Budget = 256, Window = Window };
    private LayerInputs inputs = null!;
    private double[][] attention = null!;
    private HeadStatistics stats = null!;
    private double[][] scores = null!;
    private int[] caps = null!;
    private KeptTokens kept = null!;
    private byte[] output = null!;

    [Params(4096, 32768)]
    public int Tokens { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        inputs = BenchInputs.Layer(KvHeads, QueryHeads, Tokens, HeadDim, Window);
        attention = WindowScoresStage();
        stats = HeadStatsStage();
        scores = MixStage();
        caps = BudgetStage();
        kept = new ReferenceCompressor().Plan(inputs, options, LayerPosition.Single, withScores: false, out _);
        output = new byte[kept.TotalTokens * HeadDim * sizeof(float)];
        double gflop = 2.0 * QueryHeads * Window * Tokens * HeadDim / 1e9;
        Console.WriteLine($"// size: Hq={QueryHeads} Hkv={KvHeads} N={Tokens} D={HeadDim} W={Window} fp32; WindowScores floor = {gflop:F2} GFLOP of Qw·Kᵀ");
    }

    [Benchmark]
    public double[][] WindowScoresStage() =>
        WindowScores.Compute(inputs.Keys, inputs.WindowQueries(Window), options.Gqa, options.Pooling, options.PoolingKernel);

    [Benchmark]
    public HeadStatistics HeadStatsStage() => HeadStats.Compute(inputs.Keys, inputs.Values, Tokens - Window);

    [Benchmark]
    public double[][] MixStage() => Mix.Compute(options.Score, attention, stats, stats.Redundancy);

    [Benchmark]
    public int[] BudgetStage() => Budget.Caps(options, LayerPosition.Single, attention, KvHeads, Tokens);

    [Benchmark]
    public int[][] SelectStage() => Select.Positions(scores, caps, Tokens, Window);

    [Benchmark]
    public byte[] GatherStage()
    {
        Gather.Flattened(inputs.Keys, kept, output);
        return output;
    }

    [Benchmark]
    public CompressedLayer EndToEnd() => new ReferenceCompressor().Compress(inputs, options, LayerPosition.Single);
}
