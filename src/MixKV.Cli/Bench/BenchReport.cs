using System.Globalization;
using System.Text.Json;
using MixKV.Kernels;
using MixKV.Options;
using MixKV.Tensors;
using Spectre.Console;

namespace MixKV.Cli.Bench;

/// <summary>How `mixkv bench` prints a result: one JSON object (for scripts) or a small table.</summary>
internal static class BenchReport
{
    /// <summary>The command-line spelling of a dtype (f32, f16, bf16).</summary>
    public static string DTypeFlag(DType dtype) => dtype.Name().ToLowerInvariant();

    public static void WriteJson(BenchResult result, TextWriter writer)
    {
        BenchRequest r = result.Request;
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteString("backend", result.Backend);
            json.WriteNumber("tokens", r.Shape.Tokens);
            json.WriteNumber("q_heads", r.Shape.QueryHeads);
            json.WriteNumber("kv_heads", r.Shape.KvHeads);
            json.WriteNumber("head_dim", r.Shape.HeadDim);
            json.WriteNumber("window", r.Shape.Window);
            json.WriteNumber("budget", r.Options.Budget);
            json.WriteString("method", r.Options.Method.Name());
            json.WriteString("score", r.Options.Score.Name());
            json.WriteString("dtype", DTypeFlag(r.Shape.DType));
            json.WriteNumber("repeat", r.Repeat);
            json.WriteNumber("warmup", r.Warmup);
            json.WriteNumber("seed", r.Shape.Seed);
            json.WriteBoolean("check_finite", r.Options.CheckFinite);
            json.WriteBoolean("resident", r.Resident);
            json.WriteBoolean("huge_pages", r.HugePages);
            json.WriteBoolean("graph", r.Graph);
            json.WriteNumber("kept_tokens", result.KeptTokens);
            json.WriteNumber("median_ms", result.MedianMs);
            json.WriteNumber("min_ms", result.MinMs);
            json.WriteStartArray("times_ms");
            foreach (TimeSpan time in result.Times)
            {
                json.WriteNumberValue(time.TotalMilliseconds);
            }

            json.WriteEndArray();
            json.WriteStartObject("stages_ms");
            foreach ((string name, double ms) in result.StageMedians)
            {
                json.WriteNumber(name, ms);
            }

            json.WriteEndObject();
            if (result.Kernels is { } kernels)
            {
                json.WriteStartArray("kernels");
                foreach (KernelTime kernel in kernels)
                {
                    json.WriteStartObject();
                    json.WriteString("kernel", kernel.Instance);
                    json.WriteNumber("launches", kernel.LaunchesPerLayer);
                    json.WriteNumber("median_us", kernel.MedianMicroseconds);
                    if (KernelTraffic.Of(kernel.Instance, r.Shape, result.KeptTokens, result.Multiprocessors, kernel.LaunchesPerLayer) is var (bytes, flop))
                    {
                        json.WriteNumber("bytes", bytes);
                        json.WriteNumber("flop", flop);
                        json.WriteNumber("gbps", Rate(bytes, kernel.MedianMicroseconds));
                        json.WriteNumber("tflops", Rate(flop, kernel.MedianMicroseconds) / 1e3);
                        if (r.CopyGigabytesPerSecond > 0)
                        {
                            json.WriteNumber("floor_us", bytes / r.CopyGigabytesPerSecond / 1e3);
                        }
                    }

                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            if (result.Passes is { } passes)
            {
                PassReport.WriteJson(passes, json);
            }

            json.WriteEndObject();
        }

        writer.WriteLine(System.Text.Encoding.UTF8.GetString(stream.ToArray()));
    }

    public static void WriteTable(BenchResult result, IAnsiConsole console)
    {
        BenchRequest r = result.Request;
        BenchShape s = r.Shape;
        console.WriteLine(Invariant($"mixkv bench: backend {result.BackendNote}; N {s.Tokens}, Hq {s.QueryHeads}, Hkv {s.KvHeads}, D {s.HeadDim}, W {s.Window}, budget {r.Options.Budget}, {r.Options.Method.Name()}+{r.Options.Score.Name()}, {DTypeFlag(s.DType)}, seed {s.Seed}"));
        console.WriteLine(Invariant($"  {r.Repeat} timed repetitions after {r.Warmup} warm-up; {result.KeptTokens} rows kept per call{(r.HugePages ? "; inputs in HugePageMemory" : "")}"));
        var table = new Table().AddColumns("", "ms");
        table.Columns[1].RightAligned();
        table.AddRow("median", Ms(result.MedianMs));
        table.AddRow("min", Ms(result.MinMs));
        foreach ((string name, double ms) in result.StageMedians)
        {
            table.AddRow(Markup.Escape($"  {name} (median)"), Ms(ms));
        }

        console.Write(table);
        if (result.Kernels is { } kernels)
        {
            console.WriteLine("  per kernel (each launch timed alone, waits before and after; median per layer):");
            console.WriteLine("  GB/s and TFLOP/s count each kernel's compulsory traffic and arithmetic (KernelTraffic: inputs read once, outputs written once)");
            bool floor = r.CopyGigabytesPerSecond > 0;
            if (floor)
            {
                console.WriteLine(Invariant($"  % of floor: that traffic at the copy rate given (--copy-gbps {r.CopyGigabytesPerSecond:F0}) over the measured time"));
            }

            var perKernel = new Table().AddColumns("kernel", "launches", "µs", "share", "GB/s", "TFLOP/s");
            if (floor)
            {
                perKernel.AddColumn("% of floor");
            }

            for (int column = 1; column < perKernel.Columns.Count; column++)
            {
                perKernel.Columns[column].RightAligned();
            }

            double total = kernels.Sum(k => k.MedianMicroseconds);
            foreach (KernelTime kernel in kernels)
            {
                double us = kernel.MedianMicroseconds;
                var row = new List<string>
                {
                    Markup.Escape(kernel.Instance), kernel.LaunchesPerLayer.ToString(CultureInfo.InvariantCulture),
                    us.ToString("F1", CultureInfo.InvariantCulture), (us / total).ToString("P1", CultureInfo.InvariantCulture),
                };
                if (KernelTraffic.Of(kernel.Instance, s, result.KeptTokens, result.Multiprocessors, kernel.LaunchesPerLayer) is var (bytes, flop))
                {
                    row.Add(Rate(bytes, us).ToString("F1", CultureInfo.InvariantCulture));
                    row.Add(flop > 0 ? (Rate(flop, us) / 1e3).ToString("F2", CultureInfo.InvariantCulture) : "-");
                    if (floor)
                    {
                        row.Add((bytes / r.CopyGigabytesPerSecond / 1e3 / us).ToString("P1", CultureInfo.InvariantCulture));
                    }
                }
                else
                {
                    row.AddRange(Enumerable.Repeat("-", floor ? 3 : 2));
                }

                perKernel.AddRow(row.ToArray());
            }

            console.Write(perKernel);
        }

        if (result.Passes is { } passes)
        {
            PassReport.WriteTable(passes, console);
        }
    }

    /// <summary>Giga-units per second of <paramref name="amount"/> done in <paramref name="microseconds"/>.</summary>
    private static double Rate(double amount, double microseconds) => microseconds > 0 ? amount / microseconds / 1e3 : 0;

    private static string Ms(double ms) => ms.ToString("F3", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
