using System.Text;
using NUnit.Framework;

namespace MixKV.Tests.Cli;

/// <summary>Broken safetensors inputs: exit 2, one line on stderr, no output file (nor a temporary one).</summary>
[TestFixture]
public sealed class MalformedInputTests
{
    private const int Seed = 20260301;

    private static readonly string ThreeTensorsHeaderTail =
        ""","layers.0.values":{"dtype":"F32","shape":[1,8,4],"data_offsets":[128,256]},"layers.0.queries":{"dtype":"F32","shape":[1,4,4],"data_offsets":[256,320]}}""";

    private static IEnumerable<TestCaseData> Files()
    {
        yield return Case("empty file", "truncated", _ => []);
        yield return Case("shorter than the length prefix", "truncated", r => MalformedSafeTensors.Valid(r)[..5]);
        yield return Case("truncated inside the data", "out of range", r => MalformedSafeTensors.Valid(r)[..^40]);
        yield return Case("truncated inside the header", "runs past the end", r => MalformedSafeTensors.Valid(r)[..60]);
        yield return Case("header length past the end", "runs past the end", r =>
        {
            byte[] header = Encoding.UTF8.GetBytes("""{"layers.0.keys":{"dtype":"F32","shape":[1,8,4],"data_offsets":[0,128]}}""");
            return MalformedSafeTensors.Build(header, 100_000, MalformedSafeTensors.RandomFloats(r, 32));
        });
        yield return Case("header length zero", "header length is 0", r => MalformedSafeTensors.Build([], 0, MalformedSafeTensors.RandomFloats(r, 8)));
        yield return Case("offsets out of range", "out of range", r => MalformedSafeTensors.Build(
            """{"layers.0.keys":{"dtype":"F32","shape":[1,8,4],"data_offsets":[0,128]}""" + ThreeTensorsHeaderTail.Replace("[256,320]", "[256,320000]").Replace("[1,4,4]", "[1,4,20000]"),
            MalformedSafeTensors.RandomFloats(r, 80)));
        yield return Case("overlapping tensors", "overlap", r => MalformedSafeTensors.Build(
            """{"layers.0.keys":{"dtype":"F32","shape":[1,8,4],"data_offsets":[64,192]}""" + ThreeTensorsHeaderTail,
            MalformedSafeTensors.RandomFloats(r, 80)));
        yield return Case("wrong byte count", "wrong byte count", r => MalformedSafeTensors.Build(
            """{"layers.0.keys":{"dtype":"F32","shape":[1,8,4],"data_offsets":[0,64]}""" + ThreeTensorsHeaderTail,
            MalformedSafeTensors.RandomFloats(r, 80)));
        yield return Case("unknown dtype", "unknown dtype 'F64'", r => MalformedSafeTensors.Build(
            """{"layers.0.keys":{"dtype":"F64","shape":[1,8,2],"data_offsets":[0,128]}""" + ThreeTensorsHeaderTail,
            MalformedSafeTensors.RandomFloats(r, 80)));
        yield return Case("shape overflow", "shape overflow", r => MalformedSafeTensors.Build(
            """{"layers.0.keys":{"dtype":"F32","shape":[4611686018427387904,4611686018427387904,4],"data_offsets":[0,128]}""" + ThreeTensorsHeaderTail,
            MalformedSafeTensors.RandomFloats(r, 80)));
        yield return Case("negative dimension", "negative dimension", r => MalformedSafeTensors.Build(
            """{"layers.0.keys":{"dtype":"F32","shape":[1,-8,4],"data_offsets":[0,128]}""" + ThreeTensorsHeaderTail,
            MalformedSafeTensors.RandomFloats(r, 80)));
        yield return Case("non-JSON header", "not valid JSON", r => MalformedSafeTensors.Build("this is not JSON at all\n{", MalformedSafeTensors.RandomFloats(r, 80)));
        yield return Case("header is a JSON array", "not a JSON object", r => MalformedSafeTensors.Build("[1, 2, 3]", MalformedSafeTensors.RandomFloats(r, 80)));
        yield return Case("duplicate tensor name", "duplicate tensor name", r => MalformedSafeTensors.Build(
            """{"layers.0.keys":{"dtype":"F32","shape":[1,8,4],"data_offsets":[0,128]},"layers.0.keys":{"dtype":"F32","shape":[1,8,4],"data_offsets":[0,128]}}""",
            MalformedSafeTensors.RandomFloats(r, 80)));
        yield return Case("header not UTF-8", "UTF-8", r => MalformedSafeTensors.Build([0x7B, 0xFF, 0xFE, 0x7D], 4, MalformedSafeTensors.RandomFloats(r, 8)));
    }

    private static TestCaseData Case(string name, string problem, Func<Random, byte[]> bytes) =>
        new TestCaseData(name, problem, bytes).SetName($"Malformed_{name.Replace(' ', '_')}");

    [TestCaseSource(nameof(Files))]
    public void MalformedFileExitsTwoWithOneLineAndNoOutput(string name, string problem, Func<Random, byte[]> bytes)
    {
        using var folder = new CliTempFolder();
        string input = folder.File("in.safetensors"), output = folder.File("out.safetensors");
        File.WriteAllBytes(input, bytes(new Random(Seed)));

        CliRun run = CliRun.Of("compress", "--input", input, "--output", output);

        string context = $"{name} (seed {Seed}): {run}";
        Assert.That(run.ExitCode, Is.EqualTo(2), context);
        Assert.That(run.StderrLines, Has.Length.EqualTo(1), context);
        Assert.That(run.Stderr, Does.StartWith("mixkv: error: "), context);
        Assert.That(run.Stderr, Does.Contain(problem), $"{context}: names the problem");
        Assert.That(run.Stderr, Does.Not.Contain("   at "), $"{context}: no stack trace");
        Assert.That(folder.Names(), Is.EqualTo(new[] { "in.safetensors" }), $"{context}: no output or temporary file");
    }

    [Test]
    public void ValidBaselineOfTheMalformedCasesCompresses()
    {
        using var folder = new CliTempFolder();
        string input = folder.File("in.safetensors"), output = folder.File("out.safetensors");
        File.WriteAllBytes(input, MalformedSafeTensors.Valid(new Random(Seed)));

        CliRun run = CliRun.Of("compress", "--input", input, "--output", output, "--window", "4", "--budget", "6");

        Assert.That(run.ExitCode, Is.EqualTo(0), $"seed {Seed}: {run}");
        Assert.That(File.Exists(output), Is.True, $"seed {Seed}");
    }
}
