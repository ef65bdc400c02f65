using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace MixKV.Bench;

/// <summary>Runs the suites chosen on the command line (BenchmarkDotNet's --filter, --list, ...).</summary>
public static class Program
{
    /// <summary>
    /// Set to 1 where only the .NET runtime is installed (bench/gpu-check.sh --bundle): every job, the
    /// suites' own [SimpleJob]s included, runs in this process instead of a generated project that
    /// needs the SDK to build. BenchmarkDotNet's --inProcess changes only the jobs it makes itself.
    /// </summary>
    public const string InProcessVariable = "MIXKV_BENCH_IN_PROCESS";

    public static void Main(string[] args)
    {
        IConfig? config = Environment.GetEnvironmentVariable(InProcessVariable) == "1"
            ? DefaultConfig.Instance.AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).AsDefault())
            : null;
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
    }
}
