namespace MixKV.SafeTensors;

/// <summary>One tensor's entry in a safetensors header, already validated against the file.</summary>
public sealed class TensorInfo
{
    internal TensorInfo(string name, SafeTensorDType dtype, long[] shape, long dataOffset, long byteLength, long elementCount)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        DataOffset = dataOffset;
        ByteLength = byteLength;
        ElementCount = elementCount;
    }

    public string Name { get; }

    public SafeTensorDType DType { get; }

    /// <summary>Dimensions, outermost first; empty for a scalar. Treat as read-only: it is the reader's own copy.</summary>
    public long[] Shape { get; }

    /// <summary>Offset of the first byte, relative to the start of the data section (not the file).</summary>
    public long DataOffset { get; }

    public long ByteLength { get; }

    /// <summary>Product of <see cref="Shape"/>; 1 for a scalar, 0 when any dimension is 0.</summary>
    public long ElementCount { get; }

    public override string ToString() => $"{Name}: {DType.FormatName()}[{string.Join(", ", Shape)}] @ {DataOffset}+{ByteLength}";
}
