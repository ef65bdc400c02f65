using System.Diagnostics;
using System.Globalization;
using MixKV.Cli.Backends;
using MixKV.Cli.Shared;
using MixKV.Options;
using MixKV.SafeTensors;
using Spectre.Console;

namespace MixKV.Cli.Compress;

/// <summary>
/// `mixkv compress`: every check first (options, redundancy table, backend, the input's file contract
/// for all layers, the output folder), then one layer at a time through the backend, then the output
/// file in one atomic write. Any failure before that write leaves no output file. The input is read one
/// layer at a time; the kept rows of every layer wait in memory for the write, because the header that
/// opens the file needs each layer's T (a layer returned whole, N below the budget, is kept whole).
/// </summary>
internal static class CompressRunner
{
    public static int Run(CompressRequest request, CliIO io)
    {
        CompressionOptions options = request.Options;
        options.Validate();
        if (request.Redundancy != RedundancyFile.Online)
        {
            options = options with { Redundancy = RedundancyFile.Load(request.Redundancy) };
        }

        ILayerCompressor backend = BackendRegistry.Resolve(request.Backend, out string backendNote);
        using IDisposable? ownedBackend = backend as IDisposable; // kernel backends hold a device context or a runtime
        OutputFile.Check(request.Output);

        var results = new List<CompressedLayer>();
        var rows = new List<SummaryRow>();
        using (SafeTensorsFile input = OpenInput(request.Input))
        {
            IReadOnlyList<LayerSpec> layers = InputContract.Read(input, request.Layout, options.Window);
            if (options.Redundancy is { } table)
            {
                InputContract.CheckRedundancyShape(table, layers, request.Redundancy);
            }

            void CompressLayer(LayerSpec layer)
            {
                LayerInputs inputs = LayerReader.Read(input, layer, request.Layout);
                var clock = Stopwatch.StartNew();
                try
                {
                    results.Add(backend.Compress(inputs, options, new LayerPosition(layer.Index, layers.Count), request.WithScores));
                }
                catch (ArgumentException ex)
                {
                    throw new CliUsageException($"layer {layer.Index}: {ExitCodes.Describe(ex)}", ex);
                }

                rows.Add(new SummaryRow(layer, results[^1].Kept, clock.Elapsed));
            }

            if (io.StderrIsTerminal)
            {
                io.StderrConsole().Progress().AutoClear(true).Start(context =>
                {
                    ProgressTask task = context.AddTask($"compressing {layers.Count} layers ({backend.Name})", maxValue: layers.Count);
                    foreach (LayerSpec layer in layers)
                    {
                        CompressLayer(layer);
                        task.Increment(1);
                    }
                });
            }
            else
            {
                foreach (LayerSpec layer in layers)
                {
                    CompressLayer(layer);
                }
            }
        }

        OutputWriter.Write(request.Output, results, request.WithScores, Metadata(request, options, backend));
        PrintSummary(io, request, options, backendNote, rows);
        return ExitCodes.Ok;
    }

    private static SafeTensorsFile OpenInput(string path)
    {
        try
        {
            return SafeTensorsFile.Open(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliUsageException($"cannot read input '{path}': {ex.Message}", ex);
        }
    }

    private static Dictionary<string, string> Metadata(CompressRequest request, CompressionOptions options, ILayerCompressor backend) => new(StringComparer.Ordinal)
    {
        ["producer"] = "mixkv compress",
        ["method"] = options.Method.Name(),
        ["score"] = options.Score.Name(),
        ["budget"] = options.Budget.ToString(CultureInfo.InvariantCulture),
        ["window"] = options.Window.ToString(CultureInfo.InvariantCulture),
        ["redundancy"] = request.Redundancy == RedundancyFile.Online ? RedundancyFile.Online : "offline",
        ["backend"] = backend.Name,
    };

    private static void PrintSummary(CliIO io, CompressRequest request, CompressionOptions options, string backendNote, IReadOnlyList<SummaryRow> rows)
    {
        IAnsiConsole console = io.StdoutConsole();
        console.WriteLine($"{options.Method.Name()} / {options.Score.Name()}, budget {options.Budget}, window {options.Window}, redundancy {request.Redundancy}, backend {backendNote}");
        var table = new Table()
            .AddColumns("layer", "Hkv", "N", "kept T", "ratio", "ms");
        foreach (TableColumn column in table.Columns.Skip(1))
        {
            column.RightAligned();
        }

        foreach (SummaryRow row in rows)
        {
            table.AddRow(
                Integer(row.Layer.Index),
                Integer(row.Layer.KvHeads),
                Integer(row.Layer.Tokens),
                Integer(row.Kept.TotalTokens),
                Ratio(row.Kept.TotalTokens, row.FullTokens),
                Milliseconds(row.Elapsed));
        }

        table.AddRow(
            "all",
            string.Empty,
            string.Empty,
            Integer(rows.Sum(r => (long)r.Kept.TotalTokens)),
            Ratio(rows.Sum(r => (long)r.Kept.TotalTokens), rows.Sum(r => r.FullTokens)),
            Milliseconds(TimeSpan.FromTicks(rows.Sum(r => r.Elapsed.Ticks))));
        console.Write(table);
        console.WriteLine($"wrote {request.Output}");
    }

    private static string Integer(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Milliseconds(TimeSpan elapsed) => elapsed.TotalMilliseconds.ToString("F1", CultureInfo.InvariantCulture);

    private static string Ratio(long kept, long full) => full == 0 ? "-" : (kept / (double)full).ToString("P1", CultureInfo.InvariantCulture);

    private sealed record SummaryRow(LayerSpec Layer, KeptTokens Kept, TimeSpan Elapsed)
    {
        public long FullTokens => (long)Layer.KvHeads * Layer.Tokens;
    }
}
