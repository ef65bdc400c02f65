using System.CommandLine;
using MixKV.Cli.Backends;
using MixKV.Cli.Bench;
using MixKV.Options;
using MixKV.Tensors;
using static MixKV.Cli.Commands.OptionParsing;

namespace MixKV.Cli.Commands;

/// <summary>
/// `mixkv bench`: times the whole compression of one random layer (Gaussian, seeded) through a backend
/// and prints median and min wall time plus per-stage medians, as a table or one JSON object.
/// </summary>
internal static class BenchCommand
{
    public static Command Build(CliIO io)
    {
        var tokens = With("--tokens", "prompt tokens N", 32768);
        var qHeads = With("--q-heads", "query heads Hq (a multiple of Hkv)", 32);
        var kvHeads = With("--kv-heads", "KV heads Hkv", 8);
        var headDim = With("--head-dim", "head dimension D", 128);
        var window = With("--window", "observation window W", SpecConstants.DefaultWindow);
        var budget = With("--budget", "kept tokens per head, window included", SpecConstants.DefaultBudget);
        var method = Choice("--method", "budget allocation", BudgetMethod.SnapKV.Name(), Enum.GetValues<BudgetMethod>().Select(m => m.Name()).ToArray());
        var score = Choice("--score", "token score", ScoreMode.MixKV.Name(), Enum.GetValues<ScoreMode>().Select(m => m.Name()).ToArray());
        var dtype = Choice("--dtype", "storage dtype", "f32", "f32", "f16", "bf16");
        var backend = Choice("--backend", "where to compute", BackendRegistry.Auto, BackendRegistry.Choices);
        var repeat = With("--repeat", "timed repetitions", 10);
        var warmup = With("--warmup", "untimed repetitions first", 2);
        var seed = With("--seed", "random seed of K, V and Q", 1);
        var noCheckFinite = Flag("--no-check-finite", "skip the NaN/Inf check of K, V and the window queries");
        var json = Flag("--json", "print one JSON object instead of a table");
        var perKernel = Flag("--per-kernel", "kernel backends: also time every kernel alone (waits around each launch), median per layer");
        var perPass = Flag("--per-pass", "fast backend: also time every item of its chunk pipeline on its thread (separate runs), median per layer: each pass's time per thread, its rate per busy core, and each thread's wait");
        var resident = Flag("--resident", "kernel backends: upload the layer once and time only the device API's queue-and-wait per repetition (what an engine pays per layer; no per-stage times)");
        var graph = Flag("--graph", "with --resident: capture the layer once as a graph (a CUDA graph on a GPU) and time one graph launch and wait per repetition");
        var hugePages = Flag("--huge-pages", "the random K, V and queries in HugePageMemory (2 MB aligned, advised for transparent huge pages) instead of managed arrays");
        var copyGbps = With("--copy-gbps", "with --per-kernel: the device's measured copy rate in GB/s (read + written), for each kernel's % of its memory floor", 0.0);

        var command = new Command("bench", "Time the compression of one random layer through a backend (median and min of repeated runs)")
        {
            tokens, qHeads, kvHeads, headDim, window, budget, method, score, dtype, backend, repeat, warmup, seed, noCheckFinite, json, perKernel, copyGbps, resident, graph, hugePages, perPass,
        };

        command.SetAction(result =>
        {
            var shape = new BenchShape(
                result.GetValue(tokens),
                result.GetValue(qHeads),
                result.GetValue(kvHeads),
                result.GetValue(headDim),
                result.GetValue(window),
                result.GetValue(dtype) switch { "f16" => DType.F16, "bf16" => DType.BF16, _ => DType.F32 },
                result.GetValue(seed));
            var options = new CompressionOptions
            {
                Method = Parse<BudgetMethod>(result.GetValue(method)!, "--method", OptionNames.TryParse),
                Score = Parse<ScoreMode>(result.GetValue(score)!, "--score", OptionNames.TryParse),
                Budget = result.GetValue(budget),
                Window = shape.Window,
                CheckFinite = !result.GetValue(noCheckFinite),
            };
            var request = new BenchRequest(shape, options, result.GetValue(backend)!, result.GetValue(repeat), result.GetValue(warmup), result.GetValue(perKernel), result.GetValue(copyGbps), result.GetValue(resident),
                result.GetValue(hugePages), result.GetValue(graph), result.GetValue(perPass));
            BenchResult measured = BenchRunner.Run(request);
            if (result.GetValue(json))
            {
                BenchReport.WriteJson(measured, io.Stdout);
            }
            else
            {
                BenchReport.WriteTable(measured, io.StdoutConsole());
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
