using System.Diagnostics;
using System.Runtime.InteropServices;
using MixKV.Cli;
using MixKV.Fast;
using NUnit.Framework;

namespace MixKV.Tests.Cli;

/// <summary>
/// Which kernels the fast path runs is decided by the instruction sets, not by the runtime's
/// preferred vector width (<see cref="WideKernels"/>): `mixkv info`, run as its own process, names
/// the AVX-512 kernels when the preference is 256 bits (the default on some Intel parts, where the
/// portable kernels would take the layer about twice as long), and the portable ones once AVX-512
/// is switched off. The settings are read at process start, so each case is a child process.
/// </summary>
[TestFixture]
public sealed class FastKernelChoiceTests
{
    private const string Avx512Kernels = "AVX-512 kernels";
    private const string PortableKernels = "portable Vector<T> kernels";

    [Test]
    public void A256BitPreferenceKeepsTheAvx512Kernels()
    {
        if (!WideKernels.Available)
        {
            Assert.Ignore("needs AVX-512 (F, BW, CD, DQ, VL) on this machine");
        }

        string info = Info(("DOTNET_PreferredVectorBitWidth", "256"));
        Assert.That(FastRow(info), Does.Contain(Avx512Kernels), info);
    }

    /// <summary>
    /// AVX-512 without VBMI (Skylake-SP, Cascade Lake) keeps the wide kernels with an fp32 exp tile
    /// instead of the packed one. .NET 10 groups VBMI with IFMA as "AVX512v2": switching that off
    /// shows what such a machine runs.
    /// </summary>
    [Test]
    public void WithoutVbmiTheFp32ExpTileIsNamed()
    {
        if (!WideKernels.Available)
        {
            Assert.Ignore("needs AVX-512 (F, BW, CD, DQ, VL) on this machine");
        }

        string info = Info(("DOTNET_EnableAVX512v2", "0"));
        Assert.That(FastRow(info), Does.Contain($"{Avx512Kernels} (no VBMI: fp32 exp tile)"), info);
    }

    [Test]
    public void WithoutAvx512ThePortableKernelsAreNamed()
    {
        string info = Info(("DOTNET_EnableAVX512", "0"));
        Assert.That(FastRow(info), Does.Contain(PortableKernels).And.Not.Contain(Avx512Kernels), info);
    }

    [Test]
    public void InProcessInfoMatchesThisMachine()
    {
        CliRun run = CliRun.Of("info");
        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(FastRow(run.Stdout), Does.Contain(WideKernels.Available ? Avx512Kernels : PortableKernels), run.ToString());
    }

    private static string FastRow(string info) =>
        info.Split('\n').FirstOrDefault(line => line.Contains(" fast ", StringComparison.Ordinal)) ?? throw new AssertionException($"no fast row in:\n{info}");

    /// <summary>stdout of `mixkv info` in a child process with the given environment.</summary>
    private static string Info(params (string Name, string Value)[] environment)
    {
        string cli = typeof(CliApp).Assembly.Location;
        var start = new ProcessStartInfo(DotnetHost(), ["exec", cli, "info"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach ((string name, string value) in environment)
        {
            start.Environment[name] = value;
        }

        using Process process = Process.Start(start) ?? throw new AssertionException($"could not start {start.FileName}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(), stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new AssertionException("mixkv info did not finish in 2 minutes");
        }

        Assert.That(process.ExitCode, Is.EqualTo(0), $"mixkv info exited {process.ExitCode}: {stderr.Result}");
        return stdout.Result;
    }

    /// <summary>The dotnet host running these tests (DOTNET_HOST_PATH under `dotnet test`), else the one beside the runtime.</summary>
    private static string DotnetHost()
    {
        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        string beside = Path.GetFullPath(Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "..", "..", "..", "dotnet"));
        return File.Exists(beside) ? beside : "dotnet";
    }
}
