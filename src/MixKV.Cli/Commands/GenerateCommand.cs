using System.CommandLine;
using System.Globalization;
using MixKV.Cli.Generate;
using MixKV.Cli.Shared;
using MixKV.Tensors;
using static MixKV.Cli.Commands.OptionParsing;

namespace MixKV.Cli.Commands;

/// <summary>`mixkv generate`: a random input file in the section-9 format to try `compress` on.</summary>
internal static class GenerateCommand
{
    public static Command Build(CliIO io)
    {
        var output = RequiredPath("--output", "safetensors file to write");
        var layers = With("--layers", "layers L", 1);
        var kvHeads = With("--kv-heads", "KV heads Hkv", 8);
        var qHeads = With("--q-heads", "query heads Hq (a multiple of Hkv)", 32);
        var tokens = With("--tokens", "prompt tokens N", 1024);
        var headDim = With("--head-dim", "head dimension D", 128);
        var queryRows = With("--query-rows", "query rows Wq (>= the window compress will use)", 32);
        var dtype = Choice("--dtype", "storage dtype", "f32", "f32", "f16", "bf16");
        var seed = With("--seed", "random seed", 1);
        var layout = Choice("--layout", "tensor layout written (see compress --layout)", "hnd", "hnd", "nhd");

        var command = new Command("generate", "Write a random KV cache (Gaussian keys, values, queries) in the compress input format")
        {
            output, layers, kvHeads, qHeads, tokens, headDim, queryRows, dtype, seed, layout,
        };

        command.SetAction(result =>
        {
            var shape = new RandomCacheShape(
                result.GetValue(layers),
                result.GetValue(kvHeads),
                result.GetValue(qHeads),
                result.GetValue(tokens),
                result.GetValue(headDim),
                result.GetValue(queryRows),
                result.GetValue(dtype) switch { "f16" => DType.F16, "bf16" => DType.BF16, _ => DType.F32 },
                result.GetValue(layout) == "nhd" ? TensorLayout.Nhd : TensorLayout.Hnd,
                result.GetValue(seed));
            string path = result.GetValue(output)!;
            OutputFile.Check(path);
            long bytes = RandomCacheWriter.Write(path, shape);
            io.Stdout.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"wrote {path}: {shape.Layers} layers, Hkv {shape.KvHeads}, Hq {shape.QueryHeads}, N {shape.Tokens}, D {shape.HeadDim}, Wq {shape.QueryRows}, {shape.DType.Name()}, seed {shape.Seed} ({bytes / (1024.0 * 1024.0):F1} MiB of tensor data)"));
            return ExitCodes.Ok;
        });
        return command;
    }
}
