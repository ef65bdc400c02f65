using System.Runtime.InteropServices;
using System.Text.Json;
using MixKV.Cli.Bench;
using MixKV.Tensors;
using NUnit.Framework;

namespace MixKV.Tests.Cli;

/// <summary>
/// `mixkv bench` on small layers through the cpu backend: the JSON object has every field with sane
/// values, the repeat count is honoured, the table names median and min, the random inputs depend only
/// on the seed, and bad options exit 2 with one line.
/// </summary>
[TestFixture]
public sealed class BenchCommandTests
{
    private static readonly string[] Small = ["bench", "--backend", "cpu", "--tokens", "96", "--q-heads", "4", "--kv-heads", "2", "--head-dim", "16", "--window", "8", "--budget", "24", "--warmup", "1"];

    private static readonly string[] Fields =
        ["backend", "tokens", "q_heads", "kv_heads", "head_dim", "window", "budget", "method", "score", "dtype", "repeat", "resident", "huge_pages", "graph", "median_ms", "min_ms", "times_ms", "stages_ms"];

    private static readonly string[] Stages = ["window_scores", "head_stats", "mix", "budget", "select", "gather"];

    [TestCase("snapkv", "mixkv", "f32")]
    [TestCase("adakv", "mixkv", "bf16")]
    [TestCase("pyramidkv", "attention", "f16")]
    public void JsonHasEveryFieldAndSaneTimes(string method, string score, string dtype)
    {
        CliRun run = CliRun.Of([.. Small, "--repeat", "3", "--method", method, "--score", score, "--dtype", dtype, "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(run.Stderr, Is.Empty);
        Assert.That(run.Stdout.Trim().Split('\n'), Has.Length.EqualTo(1), "one JSON object on one line");
        using JsonDocument doc = JsonDocument.Parse(run.Stdout);
        JsonElement root = doc.RootElement;
        foreach (string field in Fields)
        {
            Assert.That(root.TryGetProperty(field, out _), Is.True, $"field '{field}' in {run.Stdout}");
        }

        Assert.That(root.GetProperty("backend").GetString(), Is.EqualTo("cpu"));
        Assert.That(root.GetProperty("tokens").GetInt32(), Is.EqualTo(96));
        Assert.That(root.GetProperty("q_heads").GetInt32(), Is.EqualTo(4));
        Assert.That(root.GetProperty("kv_heads").GetInt32(), Is.EqualTo(2));
        Assert.That(root.GetProperty("head_dim").GetInt32(), Is.EqualTo(16));
        Assert.That(root.GetProperty("window").GetInt32(), Is.EqualTo(8));
        Assert.That(root.GetProperty("budget").GetInt32(), Is.EqualTo(24));
        Assert.That(root.GetProperty("method").GetString(), Is.EqualTo(method));
        Assert.That(root.GetProperty("score").GetString(), Is.EqualTo(score));
        Assert.That(root.GetProperty("dtype").GetString(), Is.EqualTo(dtype));

        double median = root.GetProperty("median_ms").GetDouble(), min = root.GetProperty("min_ms").GetDouble();
        double[] times = root.GetProperty("times_ms").EnumerateArray().Select(t => t.GetDouble()).ToArray();
        Assert.That(min, Is.GreaterThan(0));
        Assert.That(median, Is.GreaterThanOrEqualTo(min));
        Assert.That(min, Is.EqualTo(times.Min()));
        Assert.That(times, Is.All.GreaterThan(0));

        JsonElement stages = root.GetProperty("stages_ms");
        foreach (string stage in Stages)
        {
            Assert.That(stages.GetProperty(stage).GetDouble(), Is.GreaterThanOrEqualTo(0), $"stage '{stage}'");
        }

        Assert.That(stages.GetProperty("window_scores").GetDouble(), Is.GreaterThan(0), "scoring always runs");
    }

    [Test]
    public void FastBackendReportsItsName()
    {
        CliRun run = CliRun.Of([.. With("--backend", "fast"), "--repeat", "2", "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        using JsonDocument doc = JsonDocument.Parse(run.Stdout);
        Assert.That(doc.RootElement.GetProperty("backend").GetString(), Is.EqualTo("fast"));
        Assert.That(doc.RootElement.GetProperty("median_ms").GetDouble(), Is.GreaterThanOrEqualTo(doc.RootElement.GetProperty("min_ms").GetDouble()).And.GreaterThan(0));
    }

    [TestCase(1)]
    [TestCase(4)]
    public void RepeatCountIsHonoured(int repeat)
    {
        CliRun run = CliRun.Of([.. Small, "--repeat", repeat.ToString(System.Globalization.CultureInfo.InvariantCulture), "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        using JsonDocument doc = JsonDocument.Parse(run.Stdout);
        Assert.That(doc.RootElement.GetProperty("repeat").GetInt32(), Is.EqualTo(repeat));
        Assert.That(doc.RootElement.GetProperty("times_ms").GetArrayLength(), Is.EqualTo(repeat));
    }

    [Test]
    public void TableNamesMedianMinAndTheStages()
    {
        CliRun run = CliRun.Of([.. Small, "--repeat", "2"]);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(run.Stdout, Does.Contain("median").And.Contain("min").And.Contain("backend cpu"));
        foreach (string stage in Stages)
        {
            Assert.That(run.Stdout, Does.Contain(stage));
        }
    }

    [Test]
    public void InputsDependOnlyOnTheSeed()
    {
        var shape = new BenchShape(40, 4, 2, 8, 8, DType.F32, 5);

        LayerInputs a = shape.CreateInputs(), b = shape.CreateInputs(), c = (shape with { Seed = 6 }).CreateInputs();

        Assert.That(a.Keys.Data.ToArray(), Is.EqualTo(b.Keys.Data.ToArray()));
        Assert.That(a.Values.Data.ToArray(), Is.EqualTo(b.Values.Data.ToArray()));
        Assert.That(a.Queries.Data.ToArray(), Is.EqualTo(b.Queries.Data.ToArray()));
        Assert.That(a.Keys.Data.ToArray(), Is.Not.EqualTo(c.Keys.Data.ToArray()));
        Assert.That(a.Keys.Data.ToArray(), Is.Not.EqualTo(a.Values.Data.ToArray()), "K and V are different streams");
    }

    [Test]
    public void HugePageInputsHoldTheSameBytes()
    {
        var shape = new BenchShape(40, 4, 2, 8, 8, DType.BF16, 5);

        LayerInputs managed = shape.CreateInputs(), huge = shape.CreateInputs(hugePages: true);

        Assert.That(huge.Keys.Data.ToArray(), Is.EqualTo(managed.Keys.Data.ToArray()));
        Assert.That(huge.Values.Data.ToArray(), Is.EqualTo(managed.Values.Data.ToArray()));
        Assert.That(huge.Queries.Data.ToArray(), Is.EqualTo(managed.Queries.Data.ToArray()));
        Assert.That(MemoryMarshal.TryGetArray((ReadOnlyMemory<byte>)huge.Keys.Data, out _), Is.False, "native memory, not an array");
    }

    [Test]
    public void HugePagesRunKeepsWhatManagedInputsKeep()
    {
        (JsonDocument managed, JsonDocument huge) = WithAndWithout([.. With("--backend", "fast"), "--repeat", "2", "--json"], "--huge-pages", "huge_pages");
        managed.Dispose();
        huge.Dispose();
    }

    /// <summary>
    /// <paramref name="args"/> run without and with <paramref name="flag"/>: the flagged run exits 0 and
    /// reports <paramref name="field"/> true (the other false), and both keep the same number of rows.
    /// </summary>
    private static (JsonDocument Plain, JsonDocument Flagged) WithAndWithout(string[] args, string flag, string field)
    {
        CliRun plain = CliRun.Of(args), flagged = CliRun.Of([.. args, flag]);
        Assert.That(plain.ExitCode, Is.EqualTo(0), plain.ToString());
        Assert.That(flagged.ExitCode, Is.EqualTo(0), flagged.ToString());
        JsonDocument p = JsonDocument.Parse(plain.Stdout), f = JsonDocument.Parse(flagged.Stdout);
        Assert.That(f.RootElement.GetProperty(field).GetBoolean(), Is.True, $"{field} with {flag}");
        Assert.That(p.RootElement.GetProperty(field).GetBoolean(), Is.False, $"{field} without {flag}");
        Assert.That(f.RootElement.GetProperty("kept_tokens").GetInt32(), Is.EqualTo(p.RootElement.GetProperty("kept_tokens").GetInt32()), "rows kept");
        return (p, f);
    }

    /// <summary><see cref="Small"/> with <paramref name="flag"/> set to <paramref name="value"/> (replaced when present, else added).</summary>
    private static string[] With(string flag, string value)
    {
        int at = Array.IndexOf(Small, flag);
        return at < 0 ? [.. Small, flag, value] : [.. Small[..(at + 1)], value, .. Small[(at + 2)..]];
    }

    /// <summary>
    /// --per-kernel on the emulated kernels: every launched instance appears once with its launches per
    /// layer and a positive time; the window stage is the run one for bf16 (tensor cores, G·W = 16
    /// rows resident), the tile one for f32 (FMAs) up to D = 128 and the row one past it (whose key
    /// partials come from head_key_partials).
    /// </summary>
    [TestCase("bf16", 64, "window_run_stats<mixkv_bf16>", "window_tile_stats<mixkv_bf16>")]
    [TestCase("f32", 64, "window_tile_stats<float>", "window_row_stats<float>")]
    [TestCase("f32", 136, "window_row_stats<float>", "window_tile_stats<float>")]
    public void PerKernelListsEveryLaunchedKernel(string dtype, int dim, string present, string absent)
    {
        string[] args = With("--backend", "emulated");
        args[Array.IndexOf(args, "--head-dim") + 1] = dim.ToString(System.Globalization.CultureInfo.InvariantCulture);
        CliRun run = CliRun.Of([.. args, "--dtype", dtype, "--repeat", "2", "--per-kernel", "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        using JsonDocument doc = JsonDocument.Parse(run.Stdout);
        var kernels = doc.RootElement.GetProperty("kernels").EnumerateArray()
            .Select(k => (Name: k.GetProperty("kernel").GetString()!, Launches: k.GetProperty("launches").GetInt32(), Us: k.GetProperty("median_us").GetDouble())).ToArray();
        string[] names = kernels.Select(k => k.Name).ToArray();
        Assert.That(names, Is.Unique, run.Stdout);
        Assert.That(names, Does.Contain(present).And.Not.Contain(absent), run.Stdout);
        Assert.That(names, Does.Contain("mix_scores").And.Not.Contain("window_pool"), $"mix_partials pools A as it reads it: {run.Stdout}");
        Assert.That(names, Does.Contain("select_span_candidates").And.Contain("select_merge").And.Not.Contain("select_topk").And.Not.Contain("head_lengths"),
            $"a short layer's uniform cap takes the candidate form, whose merge writes the lengths: {run.Stdout}");
        Assert.That(names.Contains("head_key_partials<float>"), Is.EqualTo(dim > 128), run.Stdout);
        Assert.That(kernels.Single(k => k.Name.StartsWith("gather_rows_pair", StringComparison.Ordinal)).Launches, Is.EqualTo(1), "K' and V' in one launch");
        Assert.That(kernels.Select(k => k.Us), Is.All.GreaterThan(0), run.Stdout);
    }

    /// <summary>
    /// The per-kernel traffic model: every kernel but the scalar head_lengths has bytes, its GB/s and
    /// floor follow from them and its time, the window kernels count 2·Hq·W·N·D FLOP and the gathers
    /// read and write every kept row of K and V once.
    /// </summary>
    [Test]
    public void PerKernelReportsTrafficRatesAndFloor()
    {
        string[] args = With("--backend", "emulated");
        args[Array.IndexOf(args, "--head-dim") + 1] = "64";
        CliRun run = CliRun.Of([.. args, "--dtype", "bf16", "--repeat", "1", "--per-kernel", "--copy-gbps", "2500", "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        using JsonDocument doc = JsonDocument.Parse(run.Stdout);
        int kept = doc.RootElement.GetProperty("kept_tokens").GetInt32();
        foreach (JsonElement k in doc.RootElement.GetProperty("kernels").EnumerateArray())
        {
            string name = k.GetProperty("kernel").GetString()!;
            if (name == "head_lengths")
            {
                Assert.That(k.TryGetProperty("bytes", out _), Is.False, "head_lengths moves a few scalars: no rate");
                continue;
            }

            double bytes = k.GetProperty("bytes").GetDouble(), us = k.GetProperty("median_us").GetDouble();
            Assert.That(bytes, Is.GreaterThan(0), name);
            Assert.That(k.GetProperty("gbps").GetDouble(), Is.EqualTo(bytes / us / 1e3).Within(1e-9).Percent, name);
            Assert.That(k.GetProperty("floor_us").GetDouble(), Is.EqualTo(bytes / 2500 / 1e3).Within(1e-9).Percent, name);
            bool window = name.StartsWith("window_tile_", StringComparison.Ordinal) || name.StartsWith("window_run_", StringComparison.Ordinal);
            double expectedFlop = window ? 2.0 * 4 * 8 * 96 * 64 : 0;
            Assert.That(k.GetProperty("flop").GetDouble(), Is.EqualTo(expectedFlop), name);
            if (name.StartsWith("gather_rows", StringComparison.Ordinal))
            {
                Assert.That(bytes, Is.EqualTo((4.0 * kept * 64 * 2) + (2.0 * kept * sizeof(int))), "K and V rows read and written, positions read twice");
            }
        }
    }

    /// <summary>
    /// --resident on the emulated kernels: the layer is uploaded once and every repetition is the
    /// device API's queue-and-wait; it keeps as many rows as the host path, reports no stage times,
    /// and says so in the JSON.
    /// </summary>
    [Test]
    public void ResidentRunsKeepWhatTheHostPathKeeps()
    {
        (JsonDocument host, JsonDocument resident) = WithAndWithout([.. With("--backend", "emulated"), "--repeat", "2", "--method", "adakv", "--json"], "--resident", "resident");
        using JsonDocument h = host, r = resident;
        Assert.That(r.RootElement.GetProperty("stages_ms").EnumerateObject(), Is.Empty, "no per-stage times without per-stage waits");
        Assert.That(r.RootElement.GetProperty("times_ms").EnumerateArray().Select(t => t.GetDouble()), Has.Exactly(2).GreaterThan(0));
    }

    /// <summary>--graph: the resident layer captured once and launched per repetition keeps what Enqueue keeps.</summary>
    [Test]
    public void GraphRunsKeepWhatEnqueueKeeps()
    {
        (JsonDocument enqueued, JsonDocument graph) = WithAndWithout([.. With("--backend", "emulated"), "--repeat", "2", "--method", "adakv", "--resident", "--json"], "--graph", "graph");
        using JsonDocument e = enqueued, g = graph;
        Assert.That(g.RootElement.GetProperty("times_ms").EnumerateArray().Select(t => t.GetDouble()), Has.Exactly(2).GreaterThan(0));
    }

    [Test]
    public void GraphWithoutResidentExitsTwo()
    {
        CliRun run = CliRun.Of([.. With("--backend", "emulated"), "--graph", "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Stderr, Does.Contain("--graph").And.Contain("--resident"), run.ToString());
        Assert.That(run.Stdout, Is.Empty);
    }

    [Test]
    public void ResidentOnABackendWithoutADeviceExitsTwo()
    {
        CliRun run = CliRun.Of([.. Small, "--resident", "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Stderr, Does.Contain("--resident").And.Contain("cpu"), run.ToString());
        Assert.That(run.Stdout, Is.Empty);
    }

    [Test]
    public void NegativeCopyRateExitsTwo()
    {
        CliRun run = CliRun.Of([.. With("--backend", "emulated"), "--per-kernel", "--copy-gbps", "-1", "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Stderr, Does.Contain("--copy-gbps"), run.ToString());
    }

    /// <summary>--per-kernel needs a kernel backend and --per-pass the fast one: the cpu backend has neither.</summary>
    [TestCase("--per-kernel")]
    [TestCase("--per-pass")]
    public void ProfileFlagOnABackendWithoutItsWorkExitsTwo(string flag)
    {
        CliRun run = CliRun.Of([.. Small, flag, "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.StderrLines, Has.Length.EqualTo(1), run.ToString());
        Assert.That(run.Stderr, Does.Contain(flag).And.Contain("cpu"), run.ToString());
        Assert.That(run.Stdout, Is.Empty);
    }

    /// <summary>--per-pass on the fast backend: the seven passes in pipeline order, a time per thread, and rates where the pass has traffic.</summary>
    [Test]
    public void PerPassListsEveryPipelinePass()
    {
        CliRun run = CliRun.Of([.. With("--backend", "fast"), "--repeat", "2", "--per-pass", "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        using JsonDocument doc = JsonDocument.Parse(run.Stdout);
        JsonElement root = doc.RootElement;
        Assert.That(root.GetProperty("pipeline_ms").GetDouble(), Is.GreaterThan(0), run.Stdout);
        int threads = root.GetProperty("pipeline_wait_ms").GetArrayLength();
        Assert.That(threads, Is.GreaterThanOrEqualTo(1), run.Stdout);
        JsonElement[] passes = root.GetProperty("passes").EnumerateArray().ToArray();
        Assert.That(passes.Select(p => p.GetProperty("pass").GetString()), Is.EqualTo(new[] { "key_stats", "value_norms", "scores_gemm", "scores_softmax", "merge", "mass", "after_mass" }), run.Stdout);
        foreach (JsonElement pass in passes)
        {
            Assert.That(pass.GetProperty("items").GetInt64(), Is.GreaterThan(0), run.Stdout);
            Assert.That(pass.GetProperty("thread_ms").GetArrayLength(), Is.EqualTo(threads), run.Stdout);
        }

        JsonElement gemm = passes.Single(p => p.GetProperty("pass").GetString() == "scores_gemm");
        Assert.That(gemm.GetProperty("gflops_per_core").GetDouble(), Is.GreaterThan(0), run.Stdout);
        Assert.That(gemm.GetProperty("flop").GetDouble() / gemm.GetProperty("gflops_per_core").GetDouble() / 1e6,
            Is.EqualTo(gemm.GetProperty("thread_ms").EnumerateArray().Sum(t => t.GetDouble())).Within(1e-6).Percent, "the rate is FLOP over the summed thread time");
    }

    [Test]
    public void PerPassTableNamesThePassesAndTheWait()
    {
        CliRun run = CliRun.Of([.. With("--backend", "fast"), "--repeat", "1", "--per-pass"]);

        Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
        Assert.That(run.Stdout, Does.Contain("per pass").And.Contain("scores_gemm").And.Contain("wait at period ends").And.Contain("thread 0 ms"), run.ToString());
    }

    [TestCase("--repeat", "0", "--repeat")]
    [TestCase("--warmup", "-1", "--warmup")]
    [TestCase("--tokens", "0", "--tokens")]
    [TestCase("--q-heads", "3", "--q-heads")]
    [TestCase("--head-dim", "0", "--head-dim")]
    [TestCase("--window", "0", "--window")]
    [TestCase("--budget", "8", "--budget")]
    [TestCase("--dtype", "f64", "--dtype")]
    [TestCase("--method", "h2o", "--method")]
    [TestCase("--backend", "tpu", "--backend")]
    [TestCase("--repeat", "many", "--repeat")]
    public void BadOptionsExitTwoWithOneLine(string flag, string value, string named)
    {
        CliRun run = CliRun.Of([.. With(flag, value), "--json"]);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.StderrLines, Has.Length.EqualTo(1), run.ToString());
        Assert.That(run.Stderr, Does.Contain(named), run.ToString());
        Assert.That(run.Stdout, Is.Empty, "nothing on stdout for a script to mistake for a result");
    }
}
