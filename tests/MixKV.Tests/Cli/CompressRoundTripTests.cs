using System.Globalization;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Cli;

/// <summary>
/// Random section-9 files through `mixkv compress --scores` in-process, checked row by row against the
/// input and against an independent top-k over the written scores (<see cref="CompressedFileChecks"/>).
/// </summary>
[TestFixture]
public sealed class CompressRoundTripTests
{
    public sealed record Case(string Name, LayerShape[] Layers, DType DType, TensorLayout Layout, int Seed, int Window, string[] Options)
    {
        public override string ToString() => Name;
    }

    internal static IEnumerable<TestCaseData> Cases()
    {
        static LayerShape S(int hkv, int g, int n, int d, int wq) => new(hkv, g, n, d, wq);
        Case[] cases =
        [
            new("tiny snapkv mixkv f32 hnd", [S(1, 1, 40, 16, 4)], DType.F32, TensorLayout.Hnd, 101, 4, ["--budget", "12"]),
            new("adakv mixkv f16 nhd 2 layers", [S(2, 4, 200, 32, 13), S(2, 4, 180, 32, 8)], DType.F16, TensorLayout.Nhd, 102, 8, ["--method", "adakv", "--budget", "40"]),
            new("pyramidkv attention bf16 hnd 3 layers", [S(4, 2, 300, 64, 16), S(4, 2, 300, 64, 16), S(4, 2, 300, 64, 20)], DType.BF16, TensorLayout.Hnd, 103, 16, ["--method", "pyramidkv", "--score", "attention", "--budget", "48", "--beta", "4"]),
            new("adakv keydiff f32 nhd odd N", [S(8, 1, 97, 16, 32)], DType.F32, TensorLayout.Nhd, 104, 32, ["--method", "adakv", "--score", "keydiff", "--budget", "40", "--floor-alpha", "0.5"]),
            new("snapkv vnorm bf16 nhd max pooling", [S(3, 3, 150, 24, 9), S(3, 3, 150, 24, 9)], DType.BF16, TensorLayout.Nhd, 105, 8, ["--score", "vnorm", "--budget", "20", "--pooling", "max", "--gqa", "max", "--kernel", "3"]),
            new("adakv knorm f32 hnd skip no-normalize", [S(6, 2, 128, 48, 12), S(6, 2, 128, 48, 12)], DType.F32, TensorLayout.Hnd, 106, 12, ["--method", "adakv", "--score", "knorm", "--budget", "30", "--skip", "1", "--no-normalize"]),
            new("adakv mixkv-uniform f16 hnd kernel 1", [S(2, 2, 90, 16, 6)], DType.F16, TensorLayout.Hnd, 107, 6, ["--method", "adakv", "--score", "mixkv-uniform", "--budget", "25", "--kernel", "1"]),
            new("snapkv N below budget is returned whole", [S(4, 1, 60, 16, 8)], DType.F32, TensorLayout.Hnd, 108, 8, ["--budget", "64"]),
            new("N below window is returned whole", [S(2, 2, 20, 16, 32)], DType.F16, TensorLayout.Nhd, 109, 32, []),
            new("big snapkv mixkv f16 hnd N 4096", [S(2, 2, 4096, 128, 32)], DType.F16, TensorLayout.Hnd, 110, 32, ["--budget", "256"]),
        ];
        return cases.Select(c => new TestCaseData(c).SetName($"Compress_{c.Name.Replace(' ', '_')}"));
    }

    [TestCaseSource(nameof(Cases))]
    public void OutputRowsArePositionsOfInputAndTopKOfScores(Case c)
    {
        using var folder = new CliTempFolder();
        string input = folder.File("in.safetensors"), output = folder.File("out.safetensors");
        CacheFile.WriteRandom(input, c.Layers, c.DType, c.Layout, c.Seed);
        string layout = c.Layout == TensorLayout.Hnd ? "hnd" : "nhd";
        string[] args = ["compress", "--input", input, "--output", output, "--scores", "--layout", layout, "--window", c.Window.ToString(CultureInfo.InvariantCulture), .. c.Options];
        string context = $"{c.Name}, seed {c.Seed}";

        CliRun run = CliRun.Of(args);

        Assert.That(run.ExitCode, Is.EqualTo(0), $"{context}: {run}");
        Assert.That(run.Stderr, Is.Empty, context);
        Assert.That(run.Stdout, Does.Contain("kept T"), $"{context}: summary table");
        int[][] lens = CompressedFileChecks.Verify(input, output, c.Layout, c.Window, context);
        CheckMethodCaps(c, lens, context);
    }

    /// <summary>
    /// Files nobody listed: layer count, shapes (N from 1, at and around W), dtype, layout, method,
    /// score, pooling and backend drawn from the seed, each output held to its input and its written
    /// scores by the same independent checks.
    /// </summary>
    [Test]
    public void RandomFilesRoundTrip()
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        for (int draw = 0; draw < 6; draw++)
        {
            using var folder = new CliTempFolder();
            string input = folder.File("in.safetensors"), output = folder.File("out.safetensors");
            int window = rng.Pick([1, 2, rng.Int(1, 40)]), kvHeads = rng.Int(1, 4), group = rng.Pick([1, 2, 4]), dim = rng.Pick([rng.Int(1, 9), rng.Int(1, 200)]);
            LayerShape[] layers = [.. Enumerable.Range(0, rng.Int(1, 4)).Select(_ => new LayerShape(kvHeads, group, rng.Pick([1, window, window + 1, rng.Int(1, 300)]), dim, window + rng.Int(0, 3)))];
            DType dtype = rng.Pick([DType.F32, DType.F16, DType.BF16]);
            TensorLayout layout = rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd;
            CacheFile.WriteRandom(input, layers, dtype, layout, rng.Int(0, int.MaxValue - 1));
            string[] options =
            [
                "--layout", layout == TensorLayout.Hnd ? "hnd" : "nhd", "--window", window.ToString(CultureInfo.InvariantCulture),
                "--budget", (window + rng.Int(1, 100)).ToString(CultureInfo.InvariantCulture), "--method", rng.Pick(["snapkv", "pyramidkv", "adakv"]),
                "--score", rng.Pick(["attention", "mixkv", "mixkv-uniform", "keydiff", "vnorm", "knorm"]), "--backend", rng.Pick(["cpu", "fast", "emulated"]),
                "--kernel", rng.Pick(["1", "3", "7"]), "--pooling", rng.Pick(["avg", "max"]), "--gqa", rng.Pick(["mean", "max"]),
            ];
            string context = rng.Say($"draw {draw}: {string.Join(" ", options)} {dtype}, layers (Hkv x G x N x D) {string.Join(", ", layers.Select(l => $"{l.KvHeads}x{l.Group}x{l.Tokens}x{l.HeadDim}"))}");

            CliRun run = CliRun.Of(["compress", "--input", input, "--output", output, "--scores", .. options]);

            Assert.That(run.ExitCode, Is.EqualTo(0), $"{context}: {run}");
            CompressedFileChecks.Verify(input, output, layout, window, context);
        }
    }

    /// <summary>SnapKV's uniform cap and the whole-layer rule are simple enough to state here (spec section 5).</summary>
    private static void CheckMethodCaps(Case c, int[][] lens, string context)
    {
        int budget = OptionValue(c.Options, "--budget", 64);
        bool snap = OptionValue(c.Options, "--method", "snapkv") == "snapkv";
        for (int l = 0; l < c.Layers.Length; l++)
        {
            int n = c.Layers[l].Tokens;
            if (n < c.Window || (snap && n < budget))
            {
                Assert.That(lens[l], Is.All.EqualTo(n), $"{context}, layer {l}: uncompressed layer keeps all N = {n}");
            }
            else if (snap)
            {
                Assert.That(lens[l], Is.All.EqualTo(budget), $"{context}, layer {l}: SnapKV keeps the budget per head");
            }
            else
            {
                Assert.That(lens[l], Is.All.InRange(c.Window, n), $"{context}, layer {l}: every head keeps its window and at most N");
            }
        }
    }

    private static int OptionValue(string[] options, string name, int fallback) =>
        int.Parse(OptionValue(options, name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);

    private static string OptionValue(string[] options, string name, string fallback)
    {
        int at = Array.IndexOf(options, name);
        return at >= 0 ? options[at + 1] : fallback;
    }
}
