using MixKV.Cli;
using MixKV.SafeTensors;
using MixKV.Tensors;
using NUnit.Framework;

namespace MixKV.Tests.Cli;

/// <summary>demo, info, generate, help and the exit-code mapping.</summary>
[TestFixture]
public sealed class CommandTests
{
    [Test]
    public void DemoPrintsTheComparisonTable()
    {
        CliRun run = CliRun.Of("demo");

        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(run.Stderr, Is.Empty);
        Assert.That(run.Stdout, Does.Contain("seed 1"));
        foreach (string column in new[] { "method", "score", "budget", "kept T", "% of full", "WindowScores ms", "HeadStats ms", "Mix ms", "Budget ms", "Select ms", "Gather ms", "err" })
        {
            Assert.That(run.Stdout, Does.Contain(column), $"demo table column '{column}'");
        }

        Assert.That(run.Stdout, Does.Contain("not evidence of quality"));
        string[] rows = run.Stdout.Split('\n').Where(line => line.Contains("snapkv", StringComparison.Ordinal) || line.Contains("adakv", StringComparison.Ordinal)).ToArray();
        Assert.That(rows, Has.Length.EqualTo(12), "2 methods x 2 scores x 3 budgets");
    }

    [Test]
    public void InfoListsTheCpuBackend()
    {
        CliRun run = CliRun.Of("info");

        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(run.Stdout, Does.Contain(".NET"));
        Assert.That(run.Stdout.Split('\n').Any(line => line.Contains("cpu", StringComparison.Ordinal) && line.Contains("yes", StringComparison.Ordinal)), Is.True, run.Stdout);
    }

    [Test]
    public void HelpAndVersionExitZero()
    {
        CliRun help = CliRun.Of("compress", "--help");
        CliRun version = CliRun.Of("--version");

        Assert.That(help.ExitCode, Is.EqualTo(0), help.ToString());
        Assert.That(help.Stdout, Does.Contain("--layout"));
        Assert.That(help.Stdout, Does.Contain("mixkv compress"));
        Assert.That(version.ExitCode, Is.EqualTo(0), version.ToString());
        Assert.That(version.Stdout, Is.Not.Empty);
    }

    [TestCase(new string[0], "command")]
    [TestCase(new[] { "compres" }, "compres")]
    [TestCase(new[] { "generate", "--output" }, "--output")]
    public void UsageErrorsExitTwoWithOneLine(string[] args, string problem)
    {
        CliRun run = CliRun.Of(args);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.StderrLines, Has.Length.EqualTo(1), run.ToString());
        Assert.That(run.Stderr, Does.Contain(problem), run.ToString());
    }

    [TestCase(new[] { "--q-heads", "6" }, "--q-heads")]
    [TestCase(new[] { "--tokens", "0" }, "--tokens")]
    [TestCase(new[] { "--dtype", "f64" }, "--dtype")]
    public void GenerateRejectsBadShapesWithoutWriting(string[] options, string problem)
    {
        using var folder = new CliTempFolder();

        CliRun run = CliRun.Of(["generate", "--output", folder.File("g.safetensors"), "--kv-heads", "4", .. options]);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.StderrLines, Has.Length.EqualTo(1), run.ToString());
        Assert.That(run.Stderr, Does.Contain(problem), run.ToString());
        Assert.That(folder.Names(), Is.Empty, "no output or temporary file");
    }

    /// <summary>Like compress, generate names the user's path, not the hidden temporary file it writes first.</summary>
    [TestCase("missing folder", "does not exist")]
    [TestCase("a folder", "is a folder, not a file")]
    public void GenerateRefusesAnOutputItCannotWrite(string where, string problem)
    {
        using var folder = new CliTempFolder();
        string output = where == "a folder" ? folder.Path : folder.File(Path.Combine("absent", "g.safetensors"));

        CliRun run = CliRun.Of("generate", "--output", output, "--kv-heads", "2", "--q-heads", "4", "--tokens", "16");

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.StderrLines, Has.Length.EqualTo(1), run.ToString());
        Assert.That(run.Stderr, Does.Contain($"--output {output}: ").And.Contain(problem).And.Not.Contain(".tmp"), run.ToString());
        Assert.That(folder.Names(), Is.Empty, "nothing written");
    }

    [TestCase("hnd", "f32", 11)]
    [TestCase("nhd", "bf16", 12)]
    [TestCase("hnd", "f16", 13)]
    public void GenerateThenCompressRoundTrips(string layout, string dtype, int seed)
    {
        using var folder = new CliTempFolder();
        string input = folder.File("g.safetensors"), output = folder.File("c.safetensors");
        string context = $"layout {layout}, dtype {dtype}, seed {seed}";

        CliRun generate = CliRun.Of("generate", "--output", input, "--layers", "2", "--kv-heads", "2", "--q-heads", "6", "--tokens", "300", "--head-dim", "32", "--query-rows", "20", "--dtype", dtype, "--seed", $"{seed}", "--layout", layout);
        CliRun compress = CliRun.Of("compress", "--input", input, "--output", output, "--method", "adakv", "--window", "16", "--budget", "48", "--scores", "--layout", layout);

        Assert.That(generate.ExitCode, Is.EqualTo(0), $"{context}: {generate}");
        Assert.That(compress.ExitCode, Is.EqualTo(0), $"{context}: {compress}");
        using (SafeTensorsFile generated = SafeTensorsFile.Open(input))
        {
            Assert.That(generated.Tensors.Select(t => t.Name), Is.EquivalentTo(new[] { "layers.0.keys", "layers.0.values", "layers.0.queries", "layers.1.keys", "layers.1.values", "layers.1.queries" }), context);
            Assert.That(generated.Get("layers.1.queries").Shape, Is.EqualTo(layout == "hnd" ? new long[] { 6, 20, 32 } : new long[] { 20, 6, 32 }), context);
        }

        CompressedFileChecks.Verify(input, output, layout == "hnd" ? TensorLayout.Hnd : TensorLayout.Nhd, 16, context);
    }

    [Test]
    public void GenerateIsDeterministicInItsSeed()
    {
        using var folder = new CliTempFolder();
        string[] shape = ["--kv-heads", "2", "--q-heads", "2", "--tokens", "64", "--head-dim", "16", "--query-rows", "8"];

        CliRun.Of(["generate", "--output", folder.File("a"), "--seed", "5", .. shape]);
        CliRun.Of(["generate", "--output", folder.File("b"), "--seed", "5", .. shape]);
        CliRun.Of(["generate", "--output", folder.File("c"), "--seed", "6", .. shape]);

        Assert.That(File.ReadAllBytes(folder.File("a")), Is.EqualTo(File.ReadAllBytes(folder.File("b"))), "seed 5 twice");
        Assert.That(File.ReadAllBytes(folder.File("a")), Is.Not.EqualTo(File.ReadAllBytes(folder.File("c"))), "seeds 5 and 6");
    }

    [Test]
    public void InternalErrorsMapToExitOneWithTheExceptionType()
    {
        (int code, string line) = ExitCodes.Classify(new InvalidOperationException("stage failed\nwith detail"));

        Assert.That(code, Is.EqualTo(1));
        Assert.That(line, Is.EqualTo("mixkv: internal error: InvalidOperationException: stage failed with detail"));
    }

    [Test]
    public void InputErrorsMapToExitTwo()
    {
        Assert.That(ExitCodes.Classify(new ArgumentException("window must be >= 1 (got 0)", "Window")), Is.EqualTo((2, "mixkv: error: --window: window must be >= 1 (got 0)")));
        Assert.That(ExitCodes.Classify(new SafeTensorsFormatException("f: header is not valid JSON")).Code, Is.EqualTo(2));
        Assert.That(ExitCodes.Classify(new FileNotFoundException("gone")).Code, Is.EqualTo(2));
        Assert.That(ExitCodes.Classify(new CliUsageException("bad")).Code, Is.EqualTo(2));
    }
}
