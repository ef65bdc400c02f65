using MixKV.SafeTensors;
using MixKV.Tensors;

namespace MixKV.Tests.Cli;

/// <summary>Shape of one input layer: K, V [Hkv, N, D] and Q [Hkv * G, Wq, D] (logical order, whatever the layout).</summary>
public sealed record LayerShape(int KvHeads, int Group, int Tokens, int HeadDim, int QueryRows)
{
    public int QueryHeads => KvHeads * Group;
}

/// <summary>
/// Writes compress inputs with the safetensors writer: standard-normal values (never zeros or
/// constants) from a seeded generator, encoded in the storage dtype, stored in the hnd or nhd layout.
/// </summary>
internal static class CacheFile
{
    public static void WriteRandom(string path, IReadOnlyList<LayerShape> layers, DType dtype, TensorLayout layout, int seed)
    {
        var random = new Random(seed);
        var tensors = new List<(string, SafeTensorDType, long[], ReadOnlyMemory<byte>)>();
        for (int l = 0; l < layers.Count; l++)
        {
            LayerShape s = layers[l];
            tensors.Add(Tensor($"layers.{l}.keys", dtype, layout, s.KvHeads, s.Tokens, s.HeadDim, random));
            tensors.Add(Tensor($"layers.{l}.values", dtype, layout, s.KvHeads, s.Tokens, s.HeadDim, random));
            tensors.Add(Tensor($"layers.{l}.queries", dtype, layout, s.QueryHeads, s.QueryRows, s.HeadDim, random));
        }

        SafeTensorsWriter.Write(path, tensors);
    }

    /// <summary>A random [heads, tokens, dim] tensor stored as [heads, tokens, dim] (hnd) or [tokens, heads, dim] (nhd).</summary>
    public static (string, SafeTensorDType, long[], ReadOnlyMemory<byte>) Tensor(string name, DType dtype, TensorLayout layout, int heads, int tokens, int dim, Random random)
    {
        int size = dtype.Size();
        var bytes = new byte[(long)heads * tokens * dim * size];
        for (int i = 0; i < bytes.Length / size; i++)
        {
            ElementCodec.Write(bytes.AsSpan(i * size, size), dtype, (float)Normal(random));
        }

        long[] shape = layout == TensorLayout.Hnd ? [heads, tokens, dim] : [tokens, heads, dim];
        return (name, FileDType(dtype), shape, bytes);
    }

    public static SafeTensorDType FileDType(DType dtype) => dtype switch
    {
        DType.F32 => SafeTensorDType.F32,
        DType.F16 => SafeTensorDType.F16,
        _ => SafeTensorDType.BF16,
    };

    /// <summary>Byte offset of row [head, token] of a tensor stored in <paramref name="layout"/>.</summary>
    public static long RowOffset(TensorLayout layout, int heads, int tokens, int dim, int elementSize, int head, int token) =>
        (layout == TensorLayout.Hnd ? ((long)head * tokens) + token : ((long)token * heads) + head) * dim * elementSize;

    public static double Normal(Random random) =>
        Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble())) * Math.Cos(2.0 * Math.PI * random.NextDouble());
}
