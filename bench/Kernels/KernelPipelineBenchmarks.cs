using BenchmarkDotNet.Attributes;
using MixKV.Bench.Shared;
using MixKV.Device;
using MixKV.Options;
using MixKV.Tensors;

namespace MixKV.Bench.Kernels;

/// <summary>
/// The whole kernel pipeline on one layer (Hq = 32, Hkv = 8, D = 128, W = 32, budget 256), device
/// buffers resident, queued and synchronised per invocation. On a GPU (backend cuda) this is the
/// number engines pay; "emulated" runs the same kernels on the CPU fiber runtime and is only for
/// relative cost between stages and changes. The printed floor is two passes over K and one over V at
/// the GPU's copy bandwidth (issue: performance), reported beside the measured time.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
[Config(typeof(HbmRooflineConfig))]
public class KernelPipelineBenchmarks
{
    private const int QueryHeads = 32, KvHeads = 8, HeadDim = 128, Window = 32;
    private DeviceLayer? layer;
    private KernelBackend? backend;
    private DeviceLayerGraph? graph;

    [ParamsSource(nameof(Backends))]
    public string Backend { get; set; } = "emulated";

    [ParamsSource(nameof(TokenCounts))]
    public int Tokens { get; set; }

    [Params(BudgetMethod.SnapKV, BudgetMethod.AdaKV)]
    public BudgetMethod Method { get; set; }

    [Params(ScoreMode.Attention, ScoreMode.MixKV)]
    public ScoreMode Score { get; set; }

    /// <summary>cuda where a device is present; emulated only when asked (MIXKV_BENCH_EMULATED=1): it is slow.</summary>
    public static IEnumerable<string> Backends()
    {
        if (KernelBackendProbes.TryCuda(out _))
        {
            yield return "cuda";
        }

        if (Environment.GetEnvironmentVariable("MIXKV_BENCH_EMULATED") == "1" && KernelBackendProbes.TryEmulated(out _))
        {
            yield return "emulated";
        }
    }

    /// <summary>The sizes on a GPU; the CPU runtime gets the smallest only.</summary>
    public static IEnumerable<int> TokenCounts() => KernelBackendProbes.TryCuda(out _) ? [4096, 32768, 131072] : [4096];

    [GlobalSetup]
    public void Setup()
    {
        backend = Backend == "cuda" ? KernelBackend.OpenCuda() : KernelBackend.OpenEmulated();
        DType dtype = Backend == "cuda" ? DType.BF16 : DType.F32;
        var options = new CompressionOptions { Method = Method, Score = Score, Budget = 256, Window = Window };
        layer = new DeviceLayer(backend, dtype, QueryHeads, KvHeads, Tokens, HeadDim, Window, options);
        graph = backend.CaptureEnqueue(layer.Plan, layer.Keys, layer.Values, layer.Queries, layer.Output, layer.Workspace, layer.Plan.WorkspaceBytes);
        double floorMicros = 1.5 * layer.InputBytes / 3.0e12 * 1e6;
        Console.WriteLine($"// size: Hq={QueryHeads} Hkv={KvHeads} N={Tokens} D={HeadDim} W={Window} {dtype.Name()} {Method}/{Score}; HBM floor (2 passes K + 1 V at 3.0 TB/s) = {floorMicros:F1} us");
    }

    /// <summary>Every kernel and memset queued by the host, then a wait.</summary>
    [Benchmark(Baseline = true)]
    public void Pipeline() => layer!.Run();

    /// <summary>The same layer captured once (a CUDA graph on a GPU): one launch, then a wait.</summary>
    [Benchmark]
    public void PipelineGraph()
    {
        graph!.Launch();
        backend!.Runtime.Synchronize();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        graph?.Dispose();
        layer?.Dispose();
        backend?.Dispose();
    }
}
