using System.CommandLine;
using MixKV.Cli.Backends;
using MixKV.Cli.Compress;
using MixKV.Options;
using MixKV.Tensors;
using static MixKV.Cli.Commands.OptionParsing;

namespace MixKV.Cli.Commands;

/// <summary>`mixkv compress`: options of spec sections 2–5 on a safetensors cache (file contract: spec section 9).</summary>
internal static class CompressCommand
{
    public static Command Build(CliIO io)
    {
        var input = RequiredPath("--input", "safetensors file with layers.{l}.keys, layers.{l}.values and layers.{l}.queries");
        var output = RequiredPath("--output", "safetensors file to write (K', V', head_lens, positions per layer)");
        var method = Choice("--method", "budget allocation", BudgetMethod.SnapKV.Name(), Enum.GetValues<BudgetMethod>().Select(m => m.Name()).ToArray());
        var score = Choice("--score", "token score", ScoreMode.MixKV.Name(), Enum.GetValues<ScoreMode>().Select(m => m.Name()).ToArray());
        var budget = With("--budget", "kept tokens per head, window included", SpecConstants.DefaultBudget);
        var window = With("--window", "observation window W (the last W query rows)", SpecConstants.DefaultWindow);
        var kernel = With("--kernel", "pooling kernel, odd", SpecConstants.DefaultPoolingKernel);
        var pooling = Choice("--pooling", "pooling of the attention mass", PoolingKind.Avg.Name(), PoolingKind.Avg.Name(), PoolingKind.Max.Name());
        var gqa = Choice("--gqa", "reduction over a KV head's query heads", GqaReduction.Mean.Name(), GqaReduction.Mean.Name(), GqaReduction.Max.Name());
        var floorAlpha = With("--floor-alpha", "AdaKV: guaranteed share of each head's cap, in [0, 1)", SpecConstants.DefaultFloorAlpha);
        var noNormalize = Flag("--no-normalize", "AdaKV: do not rescale each head's scores by its top-budget share");
        var skip = With("--skip", "AdaKV: layers below this use SnapKV's uniform cap", 0);
        var beta = With("--beta", "PyramidKV: ratio of the base budget to the smallest layer's cap", SpecConstants.DefaultBeta);
        var redundancy = With("--redundancy", "head redundancy: 'online' (from the keys) or a JSON file [[r per KV head] per layer]", RedundancyFile.Online);
        var scores = Flag("--scores", "also write layers.{l}.scores [Hkv, P] F32 (the final S)");
        var backend = Choice("--backend", "where to compute", BackendRegistry.Auto, BackendRegistry.Choices);
        var noCheckFinite = Flag("--no-check-finite", "skip the NaN/Inf check of K, V and the window queries");
        var layout = Choice("--layout", "tensor layout: hnd = K/V [Hkv, N, D], Q [Hq, Wq, D]; nhd = [N, Hkv, D], [Wq, Hq, D]", "hnd", "hnd", "nhd");

        var command = new Command("compress", "Compress every layer of a safetensors KV cache")
        {
            input, output, method, score, budget, window, kernel, pooling, gqa, floorAlpha, noNormalize, skip, beta, redundancy, scores, backend, noCheckFinite, layout,
        };

        command.SetAction(result =>
        {
            var options = new CompressionOptions
            {
                Method = Parse<BudgetMethod>(result.GetValue(method)!, "--method", OptionNames.TryParse),
                Score = Parse<ScoreMode>(result.GetValue(score)!, "--score", OptionNames.TryParse),
                Budget = result.GetValue(budget),
                Window = result.GetValue(window),
                PoolingKernel = result.GetValue(kernel),
                Pooling = Parse<PoolingKind>(result.GetValue(pooling)!, "--pooling", OptionNames.TryParse),
                Gqa = Parse<GqaReduction>(result.GetValue(gqa)!, "--gqa", OptionNames.TryParse),
                FloorAlpha = result.GetValue(floorAlpha),
                Normalize = !result.GetValue(noNormalize),
                Skip = result.GetValue(skip),
                Beta = result.GetValue(beta),
                CheckFinite = !result.GetValue(noCheckFinite),
            };
            var request = new CompressRequest(
                result.GetValue(input)!,
                result.GetValue(output)!,
                options,
                result.GetValue(redundancy)!,
                result.GetValue(backend)!,
                result.GetValue(scores),
                result.GetValue(layout) == "nhd" ? TensorLayout.Nhd : TensorLayout.Hnd);
            return CompressRunner.Run(request, io);
        });
        return command;
    }
}
