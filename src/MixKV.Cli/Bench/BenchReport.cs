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
                    json.WriteEndObject();
                }

                json.WriteEndArray();
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
        console.WriteLine(Invariant($"  {r.Repeat} timed repetitions after {r.Warmup} warm-up; {result.KeptTokens} rows kept per call"));
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
            var perKernel = new Table().AddColumns("kernel", "launches", "µs", "share");
            foreach (int column in (int[])[1, 2, 3])
            {
                perKernel.Columns[column].RightAligned();
            }

            double total = kernels.Sum(k => k.MedianMicroseconds);
            foreach (KernelTime kernel in kernels)
            {
                perKernel.AddRow(Markup.Escape(kernel.Instance), kernel.LaunchesPerLayer.ToString(CultureInfo.InvariantCulture),
                    kernel.MedianMicroseconds.ToString("F1", CultureInfo.InvariantCulture), (kernel.MedianMicroseconds / total).ToString("P1", CultureInfo.InvariantCulture));
            }

            console.Write(perKernel);
        }
    }

    private static string Ms(double ms) => ms.ToString("F3", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
