using System.CommandLine;
using System.Globalization;
using MixKV.Cli.Demo;
using MixKV.Options;
using MixKV.Reference;
using Spectre.Console;
using static MixKV.Cli.Commands.OptionParsing;

namespace MixKV.Cli.Commands;

/// <summary>
/// `mixkv demo`: compresses one synthetic multi-modal layer (<see cref="SyntheticCache"/>) with SnapKV
/// and AdaKV, attention and mixkv scores, at three budgets, and prints what each kept, how long each
/// stage took, and how far the attention output of held-out queries moved.
/// </summary>
internal static class DemoCommand
{
    private static readonly int[] Budgets = [64, 128, 256];
    private static readonly BudgetMethod[] Methods = [BudgetMethod.SnapKV, BudgetMethod.AdaKV];
    private static readonly ScoreMode[] Scores = [ScoreMode.Attention, ScoreMode.MixKV];

    public static Command Build(CliIO io)
    {
        var seed = With("--seed", "seed of the synthetic cache", 1);
        var command = new Command("demo", "Compress a synthetic image+text cache with SnapKV and AdaKV, attention vs mixkv scores, and compare") { seed };
        command.SetAction(result => Run(io, result.GetValue(seed)));
        return command;
    }

    private static int Run(CliIO io, int seed)
    {
        IAnsiConsole console = io.StdoutConsole();
        SyntheticCache cache = SyntheticCache.Build(seed);
        LayerInputs inputs = cache.Inputs();
        int fullTokens = SyntheticCache.KvHeads * SyntheticCache.Tokens;
        var compressor = new ReferenceCompressor();
        HeadStatistics stats = HeadStats.Compute(inputs.Keys, inputs.Values, SyntheticCache.Tokens - SyntheticCache.Window);

        console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"MixKV demo, seed {seed}: one layer of a synthetic multi-modal cache"));
        console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {SyntheticCache.GridSide}x{SyntheticCache.GridSide} image patches ({SyntheticCache.Centroids} key centroids) + {SyntheticCache.TextTokens} text tokens: N = {SyntheticCache.Tokens}, Hkv = {SyntheticCache.KvHeads}, Hq = {SyntheticCache.QueryHeads}, D = {SyntheticCache.HeadDim}, W = {SyntheticCache.Window}, {SyntheticCache.HeldOutRows} held-out queries per query head"));
        console.WriteLine($"  image-key spread per KV head: {Join(SyntheticCache.ClusterSpread)}; online redundancy r_h: {Join(stats.Redundancy)}");

        // The first call pays for JIT compilation; keep it out of the stage times.
        compressor.Compress(inputs, new CompressionOptions(), LayerPosition.Single);

        var table = new Table()
            .Caption(Markup.Escape("Synthetic cache: a smoke test of the pipeline, not evidence of quality. err = mean ||o_full - o_comp|| / ||o_full|| over held-out queries."))
            .AddColumns("method", "score", "budget", "kept T", "% of full", "WindowScores ms", "HeadStats ms", "Mix ms", "Budget ms", "Select ms", "Gather ms", "err");
        foreach (TableColumn column in table.Columns.Skip(2))
        {
            column.RightAligned();
        }

        foreach (BudgetMethod method in Methods)
        {
            foreach (ScoreMode score in Scores)
            {
                foreach (int budget in Budgets)
                {
                    var options = new CompressionOptions { Method = method, Score = score, Budget = budget, Window = SyntheticCache.Window };
                    CompressedLayer result = compressor.Compress(inputs, options, LayerPosition.Single);
                    StageTimings t = result.Timings;
                    double error = AttentionError.MeanRelative(cache, result.Kept);
                    table.AddRow(
                        method.Name(),
                        score.Name(),
                        budget.ToString(CultureInfo.InvariantCulture),
                        result.Kept.TotalTokens.ToString(CultureInfo.InvariantCulture),
                        (result.Kept.TotalTokens / (double)fullTokens).ToString("P1", CultureInfo.InvariantCulture),
                        Ms(t.WindowScores),
                        Ms(t.HeadStats),
                        Ms(t.Mix),
                        Ms(t.Budget),
                        Ms(t.Select),
                        Ms(t.Gather),
                        error.ToString("F4", CultureInfo.InvariantCulture));
                }
            }
        }

        console.Write(table);
        return ExitCodes.Ok;
    }

    private static string Ms(TimeSpan time) => time.TotalMilliseconds.ToString("F2", CultureInfo.InvariantCulture);

    private static string Join(IEnumerable<double> values) => string.Join(", ", values.Select(v => v.ToString("F2", CultureInfo.InvariantCulture)));
}
