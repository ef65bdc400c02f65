using MixKV.Tensors;

namespace MixKV.Fast;

/// <summary>
/// Row addressing over a pinned <see cref="HeadTensor"/> (any head/token strides, D contiguous), with
/// fp32 access: fp32 rows are read in place, fp16/bf16 rows are widened into the caller's scratch.
/// Valid only while the pin that produced <see cref="Base"/> is held.
/// </summary>
internal readonly unsafe struct PinnedRows
{
    public PinnedRows(HeadTensor tensor, byte* basePointer)
    {
        Base = basePointer;
        DType = tensor.DType;
        Dim = tensor.Dim;
        ElementSize = tensor.ElementSize;
        HeadStride = tensor.HeadStride;
        TokenStride = tensor.TokenStride;
        Offset = tensor.Offset;
    }

    public byte* Base { get; }

    public DType DType { get; }

    public int Dim { get; }

    public int ElementSize { get; }

    public long HeadStride { get; }

    public long TokenStride { get; }

    public long Offset { get; }

    public byte* Row(int head, int token) => Base + ((Offset + head * HeadStride + token * TokenStride) * ElementSize);

    /// <summary>Row [head, token] as fp32: the source itself for fp32, else widened into <paramref name="scratch"/> (Dim floats).</summary>
    public float* Floats(int head, int token, float* scratch)
    {
        byte* row = Row(head, token);
        if (DType == DType.F32)
        {
            return (float*)row;
        }

        ElementConvert.ToSingle(row, DType, Dim, scratch);
        return scratch;
    }
}
