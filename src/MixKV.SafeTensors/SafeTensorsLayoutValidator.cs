using static MixKV.SafeTensors.FormatErrors;

namespace MixKV.SafeTensors;

/// <summary>
/// Checks that every entry's byte range matches its dtype and shape, lies inside the data section,
/// and shares no byte with another. Gaps and trailing unused bytes are allowed, as in the format.
/// </summary>
internal static class SafeTensorsLayoutValidator
{
    public static IReadOnlyList<TensorInfo> Validate(IReadOnlyList<HeaderEntry> entries, long dataSectionLength, string source)
    {
        var tensors = new List<TensorInfo>(entries.Count);
        foreach (HeaderEntry entry in entries)
        {
            if (!TensorSize.TryCompute(entry.Shape, entry.DType, out long elementCount, out long byteLength))
            {
                throw Fail(source, $"tensor '{entry.Name}': shape overflow: [{string.Join(", ", entry.Shape)}] of {entry.DType.FormatName()} needs more than Int64 bytes");
            }

            if (entry.End > dataSectionLength)
            {
                throw Fail(source, $"tensor '{entry.Name}': data_offsets out of range: end {entry.End} is past the end of the {dataSectionLength}-byte data section");
            }

            long spanned = entry.End - entry.Begin;
            if (spanned != byteLength)
            {
                throw Fail(source, $"tensor '{entry.Name}': wrong byte count: data_offsets span {spanned} bytes but [{string.Join(", ", entry.Shape)}] of {entry.DType.FormatName()} needs {byteLength}");
            }

            tensors.Add(new TensorInfo(entry.Name, entry.DType, entry.Shape, entry.Begin, byteLength, elementCount));
        }

        RejectOverlaps(tensors, source);
        return tensors;
    }

    private static void RejectOverlaps(List<TensorInfo> tensors, string source)
    {
        // Empty tensors own no bytes, so they may sit anywhere, even inside another tensor's range.
        TensorInfo[] byBegin = tensors.Where(t => t.ByteLength > 0).OrderBy(t => t.DataOffset).ToArray();
        for (int i = 1; i < byBegin.Length; i++)
        {
            TensorInfo previous = byBegin[i - 1];
            TensorInfo current = byBegin[i];
            if (previous.DataOffset + previous.ByteLength > current.DataOffset)
            {
                throw Fail(source, $"tensors '{previous.Name}' and '{current.Name}' overlap: [{previous.DataOffset}, {previous.DataOffset + previous.ByteLength}) and [{current.DataOffset}, {current.DataOffset + current.ByteLength})");
            }
        }
    }
}
