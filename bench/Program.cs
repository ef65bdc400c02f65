using BenchmarkDotNet.Running;

namespace MixKV.Bench;

/// <summary>Runs the suites chosen on the command line (BenchmarkDotNet's --filter, --list, ...).</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
