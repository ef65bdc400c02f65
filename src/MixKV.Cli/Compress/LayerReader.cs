using MixKV.SafeTensors;
using MixKV.Tensors;

namespace MixKV.Cli.Compress;

/// <summary>
/// Copies one layer out of the memory-mapped input into managed buffers (the library's tensors are
/// <see cref="Memory{T}"/> views); only the layer being compressed is held, never the whole file.
/// </summary>
internal static class LayerReader
{
    public static LayerInputs Read(SafeTensorsFile file, LayerSpec layer, TensorLayout layout) => new(
        Load(file, layer.Keys, layer.DType, layout, layer.KvHeads, layer.Tokens, layer.HeadDim),
        Load(file, layer.Values, layer.DType, layout, layer.KvHeads, layer.Tokens, layer.HeadDim),
        Load(file, layer.Queries, layer.DType, layout, layer.QueryHeads, layer.QueryRows, layer.HeadDim));

    private static HeadTensor Load(SafeTensorsFile file, TensorInfo tensor, DType dtype, TensorLayout layout, int heads, int tokens, int dim)
    {
        if (tensor.ByteLength > Array.MaxLength)
        {
            throw new CliUsageException($"{tensor.Name}: {tensor.ByteLength} bytes is more than one buffer holds ({Array.MaxLength}); split the layer");
        }

        var bytes = new byte[tensor.ByteLength];
        file.CopyTo(tensor, bytes);
        return HeadTensor.Create(bytes, dtype, layout, heads, tokens, dim);
    }
}
