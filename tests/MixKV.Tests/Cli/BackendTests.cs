using System.Globalization;
using MixKV.SafeTensors;
using MixKV.Tensors;
using NUnit.Framework;

namespace MixKV.Tests.Cli;

/// <summary>
/// `--backend emulated` runs the CUDA kernels on the CPU through the same launch code as the GPU: its
/// output must pass the same file checks as the reference's and agree with `--backend cpu`: scores
/// within 1e-5 (fp32 inputs) or 1e-3 (fp16/bf16) of the head's largest |score|, identical positions
/// except where the reference's own scores tie at the cut within that tolerance. `--backend cuda`
/// without a device is a usage error (exit 2) with one line saying why.
/// </summary>
[TestFixture]
public sealed class BackendTests
{
    [TestCaseSource(typeof(CompressRoundTripTests), nameof(CompressRoundTripTests.Cases))]
    public void EmulatedKernelsAgreeWithTheReference(CompressRoundTripTests.Case c)
    {
        using var folder = new CliTempFolder();
        string input = folder.File("in.safetensors"), cpu = folder.File("cpu.safetensors"), emulated = folder.File("emulated.safetensors");
        CacheFile.WriteRandom(input, c.Layers, c.DType, c.Layout, c.Seed);
        string layout = c.Layout == TensorLayout.Hnd ? "hnd" : "nhd";
        string[] common = ["--input", input, "--scores", "--layout", layout, "--window", c.Window.ToString(CultureInfo.InvariantCulture), .. c.Options];
        string context = $"{c.Name}, seed {c.Seed}";

        CliRun reference = CliRun.Of(["compress", "--output", cpu, "--backend", "cpu", .. common]);
        CliRun kernels = CliRun.Of(["compress", "--output", emulated, "--backend", "emulated", .. common]);

        Assert.That(reference.ExitCode, Is.EqualTo(0), $"{context}: {reference}");
        Assert.That(kernels.ExitCode, Is.EqualTo(0), $"{context}: {kernels}");
        CompressedFileChecks.Verify(input, emulated, c.Layout, c.Window, $"{context} (emulated)");
        double tolerance = c.DType == DType.F32 ? 1e-5 : 1e-3;
        CompareWithReference(cpu, emulated, c.Window, tolerance, context);
    }

    [Test]
    public void CudaWithoutADeviceIsAUsageError()
    {
        using var folder = new CliTempFolder();
        string input = folder.File("in.safetensors"), output = folder.File("out.safetensors");
        CacheFile.WriteRandom(input, [new LayerShape(2, 2, 64, 16, 8)], DType.F32, TensorLayout.Hnd, 7);

        CliRun run = CliRun.Of("compress", "--input", input, "--output", output, "--window", "8", "--budget", "16", "--backend", "cuda");

        if (run.ExitCode == 0)
        {
            Assert.Ignore("needs a machine WITHOUT a CUDA device: this one has one, so --backend cuda ran");
        }

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.StderrLines, Has.Length.EqualTo(1), run.ToString());
        Assert.That(run.Stderr, Does.Contain("--backend cuda").And.Contain("CUDA"), run.ToString());
        Assert.That(folder.Names(), Is.EqualTo(new[] { "in.safetensors" }), "no output file is left behind");
    }

    [Test]
    public void InfoNamesNvrtcAndTheMissingDevice()
    {
        CliRun run = CliRun.Of("info");

        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(run.Stdout, Does.Contain("cuda").And.Contain("emulated").And.Contain("cpu"), run.ToString());
        Assert.That(run.Stdout, Does.Contain("NVRTC 11.8").Or.Contain("NVRTC 12").Or.Contain("NVRTC 13"), $"info must say which NVRTC it found: {run}");
        if (!run.Stdout.Contains("device 0:", StringComparison.Ordinal))
        {
            Assert.That(run.Stdout, Does.Contain("no CUDA device"), run.ToString());
        }
    }

    private static void CompareWithReference(string cpuPath, string emulatedPath, int window, double tolerance, string context)
    {
        using SafeTensorsFile cpu = SafeTensorsFile.Open(cpuPath);
        using SafeTensorsFile emulated = SafeTensorsFile.Open(emulatedPath);
        for (int l = 0; cpu.TryGet($"layers.{l}.head_lens", out TensorInfo? lensInfo); l++)
        {
            string where = $"{context}, layer {l}";
            int[] lens = CompressedFileChecks.Ints(cpu.GetBytes(lensInfo));
            int[] kernelLens = CompressedFileChecks.Ints(emulated.GetBytes(emulated.Get($"layers.{l}.head_lens")));
            int[] positions = CompressedFileChecks.Ints(cpu.GetBytes(cpu.Get($"layers.{l}.positions")));
            int[] kernelPositions = CompressedFileChecks.Ints(emulated.GetBytes(emulated.Get($"layers.{l}.positions")));
            TensorInfo scoresInfo = cpu.Get($"layers.{l}.scores");
            float[] scores = CompressedFileChecks.Floats(cpu.GetBytes(scoresInfo));
            float[] kernelScores = CompressedFileChecks.Floats(emulated.GetBytes(emulated.Get($"layers.{l}.scores")));
            int heads = lens.Length, prefix = (int)scoresInfo.Shape[1];
            Assert.That(kernelScores, Has.Length.EqualTo(scores.Length), where);

            int start = 0, kernelStart = 0;
            for (int h = 0; h < heads; h++)
            {
                float[] row = scores.AsSpan(h * prefix, prefix).ToArray();
                double scale = row.Length == 0 ? 0 : row.Max(Math.Abs);
                for (int n = 0; n < prefix; n++)
                {
                    Assert.That(kernelScores[h * prefix + n], Is.EqualTo(row[n]).Within(tolerance * scale), $"{where}, head {h}, token {n}: score (tolerance {tolerance} x max|S| {scale})");
                }

                int[] expected = positions.AsSpan(start, lens[h]).ToArray();
                int[] actual = kernelPositions.AsSpan(kernelStart, kernelLens[h]).ToArray();
                if (!expected.SequenceEqual(actual))
                {
                    // Outside exact ties the kept sets agree; here the reference must be tied at its cut.
                    Assert.That(kernelLens[h], Is.EqualTo(lens[h]), $"{where}, head {h}: kept length");
                    int cap = lens[h] - Math.Min(window, lens[h]);
                    double[] sorted = row.Select(x => (double)x).OrderByDescending(x => x).ToArray();
                    bool nearTie = cap > 0 && cap < prefix && Math.Abs(sorted[cap - 1] - sorted[cap]) <= 2 * tolerance * scale;
                    Assert.That(nearTie, $"{where}, head {h}: positions differ from the reference away from any tie (cap {cap}); reference [{string.Join(",", expected)}] kernels [{string.Join(",", actual)}]");
                }

                start += lens[h];
                kernelStart += kernelLens[h];
            }
        }
    }
}
