using System.Diagnostics;
using MixKV.Cli.Backends;
using MixKV.Fast;
using MixKV.Kernels;
using MixKV.Options;

namespace MixKV.Cli.Bench;

/// <summary>What `mixkv bench` measures: one layer, one backend, options of spec sections 2–5.</summary>
/// <param name="CopyGigabytesPerSecond">With --per-kernel: the device's copy rate (bytes read + written), for each kernel's share of its floor; 0 leaves that column out.</param>
/// <param name="Resident">Kernel backends: the layer stays on the device and each repetition is the device API's queue-and-wait (no transfers, no per-stage times).</param>
/// <param name="HugePages">The random inputs in <see cref="HugePageMemory"/> instead of managed arrays (what an engine that allocates its cache that way sees).</param>
/// <param name="Graph">With <paramref name="Resident"/>: the layer captured once (<see cref="KernelBackend.CaptureEnqueue"/>) and each repetition one graph launch and a wait.</param>
/// <param name="PerPass">The fast backend: its chunk pipeline profiled per pass and thread (<see cref="FastCompressor.ProfilePasses"/>), in runs of its own.</param>
internal sealed record BenchRequest(BenchShape Shape, CompressionOptions Options, string Backend, int Repeat, int Warmup, bool PerKernel = false, double CopyGigabytesPerSecond = 0, bool Resident = false,
    bool HugePages = false, bool Graph = false, bool PerPass = false);

/// <summary>Wall time of every timed repetition and the stage times the backend reported for it.</summary>
/// <param name="Kernels">With --per-kernel: every kernel instance's time per layer (<see cref="KernelBackend.ProfileKernels"/>), else null.</param>
/// <param name="Multiprocessors">Kernel backends: the runtime's multiprocessors (they set the run kernels' run length, so their traffic), else 0.</param>
/// <param name="Passes">With --per-pass: the fast backend's pipeline profile, else null.</param>
internal sealed record BenchResult(BenchRequest Request, string Backend, string BackendNote, IReadOnlyList<TimeSpan> Times, IReadOnlyList<StageTimings> Stages, int KeptTokens,
    IReadOnlyList<KernelTime>? Kernels = null, int Multiprocessors = 0, PipelineProfile? Passes = null)
{
    public double MedianMs => Median.Of(Times.Select(t => t.TotalMilliseconds));

    public double MinMs => Times.Min(t => t.TotalMilliseconds);

    /// <summary>Per-stage medians in spec order, keyed by the JSON field name; none for a resident run.</summary>
    public IReadOnlyList<(string Name, double Ms)> StageMedians => Stages.Count == 0 ? [] :
    [
        ("window_scores", Median.Of(Stages.Select(s => s.WindowScores.TotalMilliseconds))),
        ("head_stats", Median.Of(Stages.Select(s => s.HeadStats.TotalMilliseconds))),
        ("mix", Median.Of(Stages.Select(s => s.Mix.TotalMilliseconds))),
        ("budget", Median.Of(Stages.Select(s => s.Budget.TotalMilliseconds))),
        ("select", Median.Of(Stages.Select(s => s.Select.TotalMilliseconds))),
        ("gather", Median.Of(Stages.Select(s => s.Gather.TotalMilliseconds))),
    ];
}

/// <summary>
/// Times whole-layer compressions. Every repetition is a fresh <see cref="ILayerCompressor.Compress"/>
/// call on the same inputs (all stages, output gathered into new arrays): nothing is cached between
/// calls except what the backend itself keeps (compiled kernels, a device context), and the inputs are
/// only read. Warm-up calls run first and are not timed, so JIT compilation stays out of the numbers.
/// </summary>
internal static class BenchRunner
{
    public static BenchResult Run(BenchRequest request)
    {
        if (request.Repeat < 1)
        {
            throw new CliUsageException($"--repeat: must be >= 1 (got {request.Repeat})");
        }

        if (request.Warmup < 0)
        {
            throw new CliUsageException($"--warmup: must be >= 0 (got {request.Warmup})");
        }

        if (request.CopyGigabytesPerSecond < 0 || !double.IsFinite(request.CopyGigabytesPerSecond))
        {
            throw new CliUsageException($"--copy-gbps: must be a finite number >= 0 (got {request.CopyGigabytesPerSecond})");
        }

        request.Shape.Check();
        request.Options.Validate();
        ILayerCompressor backend = BackendRegistry.Resolve(request.Backend, out string note);
        using IDisposable? owned = backend as IDisposable; // kernel backends hold a device context or a runtime
        if (request.PerKernel && backend is not KernelBackend)
        {
            throw new CliUsageException($"--per-kernel: only the kernel backends (cuda, emulated) launch kernels; backend '{backend.Name}' does not");
        }

        if (request.PerPass && backend is not FastCompressor)
        {
            throw new CliUsageException($"--per-pass: only the fast backend runs a chunk pipeline; backend '{backend.Name}' does not");
        }

        if (request.Resident && backend is not KernelBackend)
        {
            throw new CliUsageException($"--resident: only the kernel backends (cuda, emulated) have a device to keep the layer on; backend '{backend.Name}' does not");
        }

        if (request.Graph && !request.Resident)
        {
            throw new CliUsageException("--graph: only with --resident (a graph replays launches over buffers already on the device)");
        }

        if (backend is KernelBackend { Runtime.WarpgroupProducts: true })
        {
            note += " (window kernels: wgmma)";  // MIXKV_WGMMA=1 took effect: said, so no timing is mistaken for the other path's
        }

        LayerInputs inputs = request.Shape.CreateInputs(request.HugePages);
        if (request.Resident)
        {
            return RunResident(request, (KernelBackend)backend, note, inputs);
        }

        var times = new List<TimeSpan>(request.Repeat);
        var stages = new List<StageTimings>(request.Repeat);
        int kept = 0;
        for (int i = 0; i < request.Warmup + request.Repeat; i++)
        {
            long start = Stopwatch.GetTimestamp();
            CompressedLayer layer = backend.Compress(inputs, request.Options, LayerPosition.Single);
            TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
            kept = layer.Kept.TotalTokens;
            if (i >= request.Warmup)
            {
                times.Add(elapsed);
                stages.Add(layer.Timings);
            }
        }

        // Separately from the timed runs: the per-kernel profile waits around every launch, the
        // per-pass one takes two timestamps an item.
        IReadOnlyList<KernelTime>? kernels = request.PerKernel ? ((KernelBackend)backend).ProfileKernels(inputs, request.Options, LayerPosition.Single, request.Repeat) : null;
        PipelineProfile? passes = request.PerPass ? ((FastCompressor)backend).ProfilePasses(inputs, request.Options, LayerPosition.Single, request.Repeat) : null;
        return new BenchResult(request, backend.Name, note, times, stages, kept, kernels, (backend as KernelBackend)?.Runtime.Multiprocessors ?? 0, passes);
    }

    /// <summary>
    /// The layer uploaded once; each repetition queues it through the device API and waits, as an
    /// engine does per layer over its own buffers. Upload and allocation stay out of the times.
    /// </summary>
    private static BenchResult RunResident(BenchRequest request, KernelBackend backend, string note, LayerInputs inputs)
    {
        using KernelBackend.ResidentLayer layer = backend.Resident(inputs, request.Options, LayerPosition.Single, request.Graph);
        var times = new List<TimeSpan>(request.Repeat);
        for (int i = 0; i < request.Warmup + request.Repeat; i++)
        {
            long start = Stopwatch.GetTimestamp();
            layer.Run();
            TimeSpan elapsed = Stopwatch.GetElapsedTime(start);
            if (i >= request.Warmup)
            {
                times.Add(elapsed);
            }
        }

        // Read once, after the timed runs: a 4-byte copy back per repetition is no part of compressing.
        int kept = layer.KeptTokens();
        IReadOnlyList<KernelTime>? kernels = request.PerKernel ? backend.ProfileKernels(inputs, request.Options, LayerPosition.Single, request.Repeat) : null;
        return new BenchResult(request, backend.Name, note + (request.Graph ? " (resident, graph)" : " (resident)"), times, [], kept, kernels, backend.Runtime.Multiprocessors);
    }
}
