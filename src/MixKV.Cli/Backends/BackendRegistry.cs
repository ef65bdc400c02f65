using MixKV.Fast;
using MixKV.Reference;

namespace MixKV.Cli.Backends;

/// <summary>What a probe found: whether the backend can run here, and a short reason either way.</summary>
internal readonly record struct BackendStatus(bool Available, string Detail);

/// <summary>A backend the tool knows: how to check for it and how to make its compressor.</summary>
internal sealed record BackendProbe(string Name, string Description, Func<BackendStatus> Probe, Func<ILayerCompressor> Create, bool InAuto = true);

/// <summary>
/// Every backend the command line offers, in the order `--backend auto` prefers them. A new backend
/// (CUDA: NVRTC found? device present?) is one more entry ahead of cpu; nothing else changes.
/// </summary>
internal static class BackendRegistry
{
    public const string Auto = "auto";

    public static IReadOnlyList<BackendProbe> All { get; } =
    [
        new("cuda", "CUDA kernels on the GPU (NVRTC-compiled)", () => Probe(KernelBackendProbes.TryCuda), () => KernelBackend.OpenCuda()),
        new("fast", "vectorised multithreaded CPU path", () => new BackendStatus(true, $"always available: {new FastCompressor().Kernels}"), () => new FastCompressor()),
        new("cpu", "reference pipeline, double precision", () => new BackendStatus(true, "always available"), () => new ReferenceCompressor()),
        // The same .cu kernels run on the CPU, one fiber per thread: for checking kernels, never picked by auto.
        new("emulated", "CUDA kernels executed on the CPU (fiber runtime)", () => Probe(KernelBackendProbes.TryEmulated), () => KernelBackend.OpenEmulated(), InAuto: false),
    ];

    private delegate bool Prober(out string detail);

    private static BackendStatus Probe(Prober prober) => new(prober(out string detail), detail);

    /// <summary>"auto" plus every backend name, for the option's accepted values.</summary>
    public static string[] Choices => [Auto, .. All.Select(b => b.Name)];

    /// <summary>
    /// The compressor for <paramref name="name"/>. A named backend never falls back (spec STYLE 12); auto
    /// takes the first available one and says in <paramref name="note"/> which backends it passed over.
    /// </summary>
    public static ILayerCompressor Resolve(string name, out string note)
    {
        if (name == Auto)
        {
            var skipped = new List<string>();
            foreach (BackendProbe backend in All.Where(b => b.InAuto))
            {
                BackendStatus status = backend.Probe();
                if (status.Available)
                {
                    note = skipped.Count == 0 ? $"auto -> {backend.Name}" : $"auto -> {backend.Name} ({string.Join("; ", skipped)})";
                    return backend.Create();
                }

                skipped.Add($"{backend.Name} unavailable: {status.Detail}");
            }

            throw new CliUsageException($"--backend auto: no backend is available ({string.Join("; ", skipped)})");
        }

        BackendProbe? chosen = All.FirstOrDefault(b => b.Name == name)
            ?? throw new CliUsageException($"--backend: unknown backend '{name}' (choose from {string.Join(", ", Choices)})");
        BackendStatus chosenStatus = chosen.Probe();
        if (!chosenStatus.Available)
        {
            throw new CliUsageException($"--backend {name}: not available here: {chosenStatus.Detail}");
        }

        note = name;
        return chosen.Create();
    }
}
