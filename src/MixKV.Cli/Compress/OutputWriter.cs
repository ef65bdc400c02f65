using System.Buffers.Binary;
using MixKV.SafeTensors;
using MixKV.Tensors;

namespace MixKV.Cli.Compress;

/// <summary>
/// The output side of the file contract (spec section 9): per layer K' and V' [T, D] in the input
/// dtype, head_lens [Hkv] I32, positions [T] I32, and with --scores the final S [Hkv, P] F32. The file
/// goes through a temporary sibling and a rename, so a failure leaves no output behind.
/// </summary>
internal static class OutputWriter
{
    public static void Write(string path, IReadOnlyList<CompressedLayer> layers, bool withScores, IReadOnlyDictionary<string, string> metadata)
    {
        var declarations = new List<TensorDeclaration>();
        for (int l = 0; l < layers.Count; l++)
        {
            CompressedLayer layer = layers[l];
            KeptTokens kept = layer.Kept;
            SafeTensorDType dtype = FileDType(layer.DType);
            declarations.Add(new(TensorNames.Of(l, TensorNames.Keys), dtype, [kept.TotalTokens, layer.HeadDim]));
            declarations.Add(new(TensorNames.Of(l, TensorNames.Values), dtype, [kept.TotalTokens, layer.HeadDim]));
            declarations.Add(new(TensorNames.Of(l, TensorNames.HeadLens), SafeTensorDType.I32, [kept.KvHeads]));
            declarations.Add(new(TensorNames.Of(l, TensorNames.Positions), SafeTensorDType.I32, [kept.TotalTokens]));
            if (withScores)
            {
                declarations.Add(new(TensorNames.Of(l, TensorNames.Scores), SafeTensorDType.F32, [kept.KvHeads, kept.Prefix]));
            }
        }

        SafeTensorsWriter.Write(
            path,
            declarations,
            writer =>
            {
                for (int l = 0; l < layers.Count; l++)
                {
                    CompressedLayer layer = layers[l];
                    writer.WriteData(TensorNames.Of(l, TensorNames.Keys), layer.Keys);
                    writer.WriteData(TensorNames.Of(l, TensorNames.Values), layer.Values);
                    writer.WriteData(TensorNames.Of(l, TensorNames.HeadLens), Int32Bytes(layer.Kept.HeadLens));
                    writer.WriteData(TensorNames.Of(l, TensorNames.Positions), Int32Bytes(layer.Kept.Positions));
                    if (withScores)
                    {
                        float[] scores = layer.Kept.Scores ?? throw new InvalidOperationException($"layer {l}: the backend returned no scores although they were asked for");
                        writer.WriteData(TensorNames.Of(l, TensorNames.Scores), SingleBytes(scores));
                    }
                }
            },
            metadata);
    }

    public static SafeTensorDType FileDType(DType dtype) => dtype switch
    {
        DType.F32 => SafeTensorDType.F32,
        DType.F16 => SafeTensorDType.F16,
        DType.BF16 => SafeTensorDType.BF16,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "dtype must be F32, F16 or BF16"),
    };

    // safetensors is little-endian whatever the host is.
    private static byte[] Int32Bytes(int[] values)
    {
        var bytes = new byte[values.Length * sizeof(int)];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * sizeof(int)), values[i]);
        }

        return bytes;
    }

    private static byte[] SingleBytes(float[] values)
    {
        var bytes = new byte[values.Length * sizeof(float)];
        for (int i = 0; i < values.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * sizeof(float)), values[i]);
        }

        return bytes;
    }
}
