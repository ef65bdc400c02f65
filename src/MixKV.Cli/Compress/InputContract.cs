using System.Globalization;
using System.Text.RegularExpressions;
using MixKV.Options;
using MixKV.SafeTensors;
using MixKV.Tensors;

namespace MixKV.Cli.Compress;

/// <summary>
/// The input side of the file contract (spec section 9), checked for every layer before any layer is
/// compressed: names layers.{l}.keys|values|queries for l = 0..L-1 without gaps and nothing else;
/// F32, F16 or BF16, one dtype per layer; K and V [Hkv, N, D] and Q [Hq, Wq, D] (or [N, Hkv, D] and
/// [Wq, Hq, D] with --layout nhd) with Hq a multiple of Hkv and Wq >= W.
/// </summary>
internal static partial class InputContract
{
    public static IReadOnlyList<LayerSpec> Read(SafeTensorsFile file, TensorLayout layout, int window)
    {
        var layers = new SortedDictionary<int, Dictionary<string, TensorInfo>>();
        foreach (TensorInfo tensor in file.Tensors)
        {
            Match match = ContractName().Match(tensor.Name);
            if (!match.Success)
            {
                throw new CliUsageException($"unexpected tensor '{tensor.Name}': the input may hold only layers.{{l}}.keys, layers.{{l}}.values and layers.{{l}}.queries");
            }

            int layer = int.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture);
            if (!layers.TryGetValue(layer, out Dictionary<string, TensorInfo>? parts))
            {
                layers[layer] = parts = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
            }

            parts[match.Groups[2].Value] = tensor;
        }

        if (layers.Count == 0)
        {
            throw new CliUsageException("the input holds no tensors; expected layers.0.keys, layers.0.values and layers.0.queries");
        }

        int count = layers.Keys.Max() + 1;
        var specs = new LayerSpec[count];
        for (int l = 0; l < count; l++)
        {
            if (!layers.TryGetValue(l, out Dictionary<string, TensorInfo>? parts))
            {
                throw new CliUsageException($"layer {l} is missing: layers must be numbered 0..L-1 without gaps (found layers {string.Join(", ", layers.Keys)})");
            }

            specs[l] = CheckLayer(l, parts, layout, window);
        }

        return specs;
    }

    /// <summary>An offline table must have one row per layer and one value per KV head of that layer.</summary>
    public static void CheckRedundancyShape(RedundancyTable table, IReadOnlyList<LayerSpec> layers, string path)
    {
        if (table.LayerCount != layers.Count)
        {
            throw new CliUsageException($"--redundancy {path}: the table has {table.LayerCount} layers but the input has {layers.Count}");
        }

        foreach (LayerSpec layer in layers)
        {
            if (table.HeadCount(layer.Index) != layer.KvHeads)
            {
                throw new CliUsageException($"--redundancy {path}: layer {layer.Index} of the table has {table.HeadCount(layer.Index)} heads but the input layer has Hkv = {layer.KvHeads}");
            }
        }
    }

    private static LayerSpec CheckLayer(int l, Dictionary<string, TensorInfo> parts, TensorLayout layout, int window)
    {
        TensorInfo keys = Require(l, parts, TensorNames.Keys);
        TensorInfo values = Require(l, parts, TensorNames.Values);
        TensorInfo queries = Require(l, parts, TensorNames.Queries);

        DType dtype = StorageDType(keys);
        foreach (TensorInfo other in new[] { values, queries })
        {
            DType otherType = StorageDType(other);
            if (otherType != dtype)
            {
                throw new CliUsageException($"{other.Name}: dtype {otherType.Name()} differs from {keys.Name} ({dtype.Name()}); all tensors of a layer share one dtype");
            }
        }

        string kvShape = layout == TensorLayout.Hnd ? "[Hkv, N, D]" : "[N, Hkv, D]";
        string qShape = layout == TensorLayout.Hnd ? "[Hq, Wq, D]" : "[Wq, Hq, D]";
        (int kvHeads, int tokens, int dim) = Dimensions(keys, layout, kvShape);
        (int vHeads, int vTokens, int vDim) = Dimensions(values, layout, kvShape);
        if (vHeads != kvHeads || vTokens != tokens || vDim != dim)
        {
            throw new CliUsageException($"{values.Name}: shape {Shape(values)} does not match {keys.Name} {Shape(keys)}");
        }

        (int queryHeads, int queryRows, int qDim) = Dimensions(queries, layout, qShape);
        if (qDim != dim)
        {
            throw new CliUsageException($"{queries.Name}: head dim {qDim} differs from the keys' head dim {dim}");
        }

        if (queryHeads % kvHeads != 0)
        {
            throw new CliUsageException($"{queries.Name}: query heads Hq = {queryHeads} must be a multiple of KV heads Hkv = {kvHeads}");
        }

        if (queryRows < window)
        {
            throw new CliUsageException($"{queries.Name}: {queryRows} query rows but the window needs {window} (Wq >= W; lower --window or export more rows)");
        }

        return new LayerSpec(l, keys, values, queries, dtype, kvHeads, queryHeads, tokens, queryRows, dim);
    }

    private static TensorInfo Require(int layer, Dictionary<string, TensorInfo> parts, string part) =>
        parts.TryGetValue(part, out TensorInfo? tensor)
            ? tensor
            : throw new CliUsageException($"{TensorNames.Of(layer, part)} is missing: every layer needs keys, values and queries");

    private static DType StorageDType(TensorInfo tensor) => tensor.DType switch
    {
        SafeTensorDType.F32 => DType.F32,
        SafeTensorDType.F16 => DType.F16,
        SafeTensorDType.BF16 => DType.BF16,
        _ => throw new CliUsageException($"{tensor.Name}: dtype {tensor.DType.FormatName()} is not supported (F32, F16 or BF16)"),
    };

    /// <summary>(heads, tokens, dim) of a rank-3 tensor in the given layout; every dimension at least 1.</summary>
    private static (int Heads, int Tokens, int Dim) Dimensions(TensorInfo tensor, TensorLayout layout, string expected)
    {
        long[] shape = tensor.Shape;
        if (shape.Length != 3)
        {
            throw new CliUsageException($"{tensor.Name}: shape {Shape(tensor)} must have 3 dimensions {expected} ({Name(layout)} layout)");
        }

        foreach (long dim in shape)
        {
            if (dim < 1 || dim > int.MaxValue)
            {
                throw new CliUsageException($"{tensor.Name}: shape {Shape(tensor)} needs every dimension in [1, {int.MaxValue}] ({expected}, {Name(layout)} layout)");
            }
        }

        return layout == TensorLayout.Hnd
            ? ((int)shape[0], (int)shape[1], (int)shape[2])
            : ((int)shape[1], (int)shape[0], (int)shape[2]);
    }

    public static string Name(TensorLayout layout) => layout == TensorLayout.Hnd ? "hnd" : "nhd";

    private static string Shape(TensorInfo tensor) => $"[{string.Join(", ", tensor.Shape)}]";

    [GeneratedRegex(@"^layers\.(0|[1-9][0-9]{0,8})\.(keys|values|queries)$", RegexOptions.CultureInvariant)]
    private static partial Regex ContractName();
}
