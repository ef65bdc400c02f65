using System.Buffers.Binary;
using MixKV.SafeTensors;
using MixKV.Tensors;
using NUnit.Framework;
using Tensor = (string Name, MixKV.SafeTensors.SafeTensorDType DType, long[] Shape, System.ReadOnlyMemory<byte> Data);

namespace MixKV.Tests.Cli;

/// <summary>
/// Well-formed safetensors that break the file contract (spec section 9), and bad option values
/// (spec section 8): exit 2, one stderr line naming the problem, no output file.
/// </summary>
[TestFixture]
public sealed class ContractErrorTests
{
    private const int Seed = 4242;
    private const string Output = "out.safetensors";

    /// <summary>A valid layer: Hkv 2, Hq 4, N 48, D 8, Wq 8 (used with --window 8 --budget 16).</summary>
    private static Tensor[] Layer(int l, Random r, DType dtype = DType.F32) =>
    [
        CacheFile.Tensor($"layers.{l}.keys", dtype, TensorLayout.Hnd, 2, 48, 8, r),
        CacheFile.Tensor($"layers.{l}.values", dtype, TensorLayout.Hnd, 2, 48, 8, r),
        CacheFile.Tensor($"layers.{l}.queries", dtype, TensorLayout.Hnd, 4, 8, 8, r),
    ];

    private static Tensor Random(string name, int heads, int tokens, int dim, Random r, DType dtype = DType.F32) =>
        CacheFile.Tensor(name, dtype, TensorLayout.Hnd, heads, tokens, dim, r);

    private static IEnumerable<TestCaseData> Cases()
    {
        // File contract.
        yield return FileCase("unknown tensor name", "model.embed", r => [.. Layer(0, r), Random("model.embed", 1, 4, 8, r)]);
        yield return FileCase("name with leading zero", "layers.01.keys", r => [.. Layer(0, r), Random("layers.01.keys", 2, 48, 8, r)]);
        yield return FileCase("layer gap", "layer 1 is missing", r => [.. Layer(0, r), .. Layer(2, r)]);
        yield return FileCase("missing queries", "layers.0.queries is missing", r => Layer(0, r)[..2]);
        yield return FileCase("no tensors", "no tensors", _ => []);
        yield return FileCase("values shape mismatch", "layers.0.values", r => [Layer(0, r)[0], Random("layers.0.values", 2, 47, 8, r), Layer(0, r)[2]]);
        yield return FileCase("keys not rank 3", "3 dimensions", r => [(("layers.0.keys", SafeTensorDType.F32, [96, 8], Layer(0, r)[0].Data)), .. Layer(0, r)[1..]]);
        yield return FileCase("query head dim mismatch", "head dim", r => [.. Layer(0, r)[..2], Random("layers.0.queries", 4, 8, 16, r)]);
        yield return FileCase("query heads not a multiple", "multiple", r => [.. Layer(0, r)[..2], Random("layers.0.queries", 3, 8, 8, r)]);
        yield return FileCase("Wq below W", "Wq >= W", r => [.. Layer(0, r)[..2], Random("layers.0.queries", 4, 7, 8, r)]);
        yield return FileCase("dtypes differ within a layer", "dtype", r => [.. Layer(0, r)[..2], Random("layers.0.queries", 4, 8, 8, r, DType.F16)]);
        yield return FileCase("I32 input", "I32", r => [(("layers.0.keys", SafeTensorDType.I32, [2, 48, 8], Layer(0, r)[0].Data)), .. Layer(0, r)[1..]]);
        yield return FileCase("zero-sized dimension", "layers.0.keys", r => [(("layers.0.keys", SafeTensorDType.F32, [2, 0, 8], ReadOnlyMemory<byte>.Empty)), .. Layer(0, r)[1..]]);
        yield return FileCase("NaN in keys", "non-finite", r => [WithNaN(Layer(0, r)[0], 77), .. Layer(0, r)[1..]]);

        // Option values.
        yield return OptionCase("even kernel", "--kernel", "--kernel", "4");
        yield return OptionCase("budget equal to window", "--budget", "--budget", "8");
        yield return OptionCase("floor-alpha 1.0", "--floor-alpha", "--floor-alpha", "1.0");
        yield return OptionCase("beta zero", "--beta", "--beta", "0");
        yield return OptionCase("negative skip", "--skip", "--skip", "-1");
        yield return OptionCase("unknown method", "--method", "--method", "h2o");
        yield return OptionCase("unknown score", "--score", "--score", "random");
        yield return OptionCase("unknown backend", "--backend", "--backend", "tpu");
        yield return OptionCase("budget not a number", "--budget", "--budget", "many");
        yield return OptionCase("unknown option", "--frobnicate", "--frobnicate");
        yield return RedundancyCase("redundancy not JSON", "not valid JSON", "[[0.5, 0.5]");
        yield return RedundancyCase("redundancy not an array", "expected a JSON array", """{"layers": 1}""");
        yield return RedundancyCase("redundancy wrong layer count", "2 layers", "[[0.1, 0.2], [0.3, 0.4]]");
        yield return RedundancyCase("redundancy wrong head count", "3 heads", "[[0.1, 0.2, 0.3]]");
        yield return RedundancyCase("redundancy value above 1", "[0, 1]", "[[0.1, 1.5]]");
        yield return RedundancyCase("redundancy entry not a number", "expected a number", """[[0.1, "high"]]""");
        yield return new TestCaseData("redundancy file missing", "--redundancy", (Func<CliTempFolder, Random, string[]>)((f, r) =>
            [.. Base(f, r), "--redundancy", f.File("absent.json")])).SetName("Contract_redundancy_file_missing");
        yield return new TestCaseData("input missing", "absent.safetensors", (Func<CliTempFolder, Random, string[]>)((f, _) =>
            ["compress", "--input", f.File("absent.safetensors"), "--output", f.File(Output)])).SetName("Contract_input_missing");
        yield return new TestCaseData("input option missing", "--input", (Func<CliTempFolder, Random, string[]>)((f, _) =>
            ["compress", "--output", f.File(Output)])).SetName("Contract_input_option_missing");
        yield return new TestCaseData("output folder missing", "does not exist", (Func<CliTempFolder, Random, string[]>)((f, r) =>
            [.. Base(f, r)[..^2], "--output", Path.Combine(f.Path, "absent", Output)])).SetName("Contract_output_folder_missing");
    }

    private static TestCaseData FileCase(string name, string problem, Func<Random, Tensor[]> tensors) =>
        new TestCaseData(name, problem, (Func<CliTempFolder, Random, string[]>)((folder, random) =>
        {
            string input = folder.File("in.safetensors");
            SafeTensorsWriter.Write(input, tensors(random).Select(t => (t.Name, t.DType, t.Shape, t.Data)));
            return ["compress", "--input", input, "--output", folder.File(Output), "--window", "8", "--budget", "16"];
        })).SetName($"Contract_{name.Replace(' ', '_')}");

    private static TestCaseData OptionCase(string name, string problem, params string[] options) =>
        new TestCaseData(name, problem, (Func<CliTempFolder, Random, string[]>)((folder, random) => Base(folder, random, options)))
            .SetName($"Contract_{name.Replace(' ', '_')}");

    private static TestCaseData RedundancyCase(string name, string problem, string json) =>
        new TestCaseData(name, problem, (Func<CliTempFolder, Random, string[]>)((folder, random) =>
        {
            string table = folder.File("redundancy.json");
            File.WriteAllText(table, json);
            return [.. Base(folder, random), "--redundancy", table];
        })).SetName($"Contract_{name.Replace(' ', '_')}");

    /// <summary>
    /// A valid one-layer input and the arguments that compress it (--window 8 --budget 16 unless
    /// <paramref name="options"/> gives them: an option may appear only once).
    /// </summary>
    private static string[] Base(CliTempFolder folder, Random random, params string[] options)
    {
        string input = folder.File("in.safetensors");
        SafeTensorsWriter.Write(input, Layer(0, random).Select(t => (t.Name, t.DType, t.Shape, t.Data)));
        string[] defaults = [.. new[] { "--window", "8", "--budget", "16" }.Chunk(2).Where(pair => !options.Contains(pair[0])).SelectMany(pair => pair)];
        return ["compress", "--input", input, .. defaults, "--output", folder.File(Output), .. options];
    }

    private static Tensor WithNaN(Tensor tensor, int element)
    {
        byte[] bytes = tensor.Data.ToArray();
        BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(element * 4), float.NaN);
        return tensor with { Data = bytes };
    }

    [TestCaseSource(nameof(Cases))]
    public void ContractOrOptionErrorExitsTwoWithOneLineNamingTheProblem(string name, string problem, Func<CliTempFolder, Random, string[]> arrange)
    {
        using var folder = new CliTempFolder();
        string[] args = arrange(folder, new Random(Seed));

        CliRun run = CliRun.Of(args);

        string context = $"{name} (seed {Seed}): {run}";
        Assert.That(run.ExitCode, Is.EqualTo(2), context);
        Assert.That(run.StderrLines, Has.Length.EqualTo(1), context);
        Assert.That(run.Stderr, Does.StartWith("mixkv: error: "), context);
        Assert.That(run.Stderr, Does.Contain(problem), $"{context}: names the problem");
        Assert.That(run.Stdout, Is.Empty, context);
        Assert.That(folder.Names().Where(n => n.Contains(Output, StringComparison.Ordinal)), Is.Empty, $"{context}: no output or temporary file");
    }

    [Test]
    public void BaseOfTheContractCasesCompresses()
    {
        using var folder = new CliTempFolder();
        string[] args = Base(folder, new Random(Seed));

        CliRun run = CliRun.Of(args);

        Assert.That(run.ExitCode, Is.EqualTo(0), $"seed {Seed}: {run}");
        Assert.That(File.Exists(folder.File(Output)), Is.True, $"seed {Seed}");
    }

    [Test]
    public void OfflineRedundancyTableOfTheRightShapeIsAccepted()
    {
        using var folder = new CliTempFolder();
        string table = folder.File("redundancy.json");
        File.WriteAllText(table, "[[0.0, 1.0]]");
        string[] args = [.. Base(folder, new Random(Seed)), "--redundancy", table];

        CliRun run = CliRun.Of(args);

        Assert.That(run.ExitCode, Is.EqualTo(0), $"seed {Seed}: {run}");
    }
}
