using System.Globalization;
using System.Text.Json;
using MixKV.Fast;
using Spectre.Console;

namespace MixKV.Cli.Bench;

/// <summary>
/// How `mixkv bench --per-pass` prints the fast backend's pipeline profile: each pass's time on each
/// thread, its rate per busy core (bytes or classical FLOP over its summed thread time), and each
/// thread's wait at the ends of the pipeline's periods.
/// </summary>
internal static class PassReport
{
    public static void WriteJson(PipelineProfile profile, Utf8JsonWriter json)
    {
        json.WriteNumber("pipeline_ms", profile.MedianPipelineMs);
        WriteArray(json, "pipeline_wait_ms", profile.MedianIdleMsPerThread);
        json.WriteStartArray("passes");
        foreach (PassTime pass in profile.Passes)
        {
            json.WriteStartObject();
            json.WriteString("pass", pass.Pass);
            json.WriteNumber("items", pass.ItemsPerLayer);
            WriteArray(json, "thread_ms", pass.MedianMsPerThread);
            json.WriteNumber("bytes", pass.Bytes);
            json.WriteNumber("flop", pass.Flop);
            if (pass.TotalMs > 0)
            {
                json.WriteNumber("gbps_per_core", PerCore(pass.Bytes, pass.TotalMs));
                json.WriteNumber("gflops_per_core", PerCore(pass.Flop, pass.TotalMs));
            }

            json.WriteEndObject();
        }

        json.WriteEndArray();
    }

    public static void WriteTable(PipelineProfile profile, IAnsiConsole console)
    {
        if (profile.Passes.Count == 0)
        {
            console.WriteLine("  per pass: no chunk pipeline ran (the layer is kept whole or is shorter than the window)");
            return;
        }

        console.WriteLine(Invariant($"  per pass (separate runs, every item timed on its thread; median per layer): pipeline {profile.MedianPipelineMs:F3} ms on {profile.Threads} threads"));
        console.WriteLine("  rates per busy core: the pass's bytes (or classical GEMM FLOP) over its time summed over the threads");
        var table = new Table().AddColumn("pass").AddColumn("items");
        for (int t = 0; t < profile.Threads; t++)
        {
            table.AddColumn(Invariant($"thread {t} ms"));
        }

        table.AddColumns("GB/s", "GFLOP/s");
        for (int column = 1; column < table.Columns.Count; column++)
        {
            table.Columns[column].RightAligned();
        }

        foreach (PassTime pass in profile.Passes)
        {
            var row = new List<string> { pass.Pass, pass.ItemsPerLayer.ToString(CultureInfo.InvariantCulture) };
            row.AddRange(pass.MedianMsPerThread.Select(Ms));
            row.Add(pass.Bytes > 0 && pass.TotalMs > 0 ? PerCore(pass.Bytes, pass.TotalMs).ToString("F1", CultureInfo.InvariantCulture) : "-");
            row.Add(pass.Flop > 0 && pass.TotalMs > 0 ? PerCore(pass.Flop, pass.TotalMs).ToString("F1", CultureInfo.InvariantCulture) : "-");
            table.AddRow(row.ToArray());
        }

        var wait = new List<string> { "wait at period ends", "" };
        wait.AddRange(profile.MedianIdleMsPerThread.Select(Ms));
        wait.AddRange(["", ""]);
        table.AddRow(wait.ToArray());
        console.Write(table);
    }

    /// <summary>Giga-units per second of <paramref name="amount"/> done in <paramref name="ms"/> of core time.</summary>
    private static double PerCore(double amount, double ms) => amount / ms / 1e6;

    private static void WriteArray(Utf8JsonWriter json, string name, IReadOnlyList<double> values)
    {
        json.WriteStartArray(name);
        foreach (double value in values)
        {
            json.WriteNumberValue(value);
        }

        json.WriteEndArray();
    }

    private static string Ms(double ms) => ms.ToString("F3", CultureInfo.InvariantCulture);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
