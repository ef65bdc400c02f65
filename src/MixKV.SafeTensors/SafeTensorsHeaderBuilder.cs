using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MixKV.SafeTensors;

/// <summary>The header bytes a writer emits, and where each declared tensor's data goes.</summary>
internal sealed record HeaderLayout(byte[] HeaderJson, long[] ByteLengths, long DataSectionLength);

/// <summary>
/// Lays tensors out back to back in declaration order and serialises the header for them,
/// padded with spaces so the data section starts 8-byte aligned in the file.
/// </summary>
internal static class SafeTensorsHeaderBuilder
{
    private const int Alignment = 8;

    public static HeaderLayout Build(IReadOnlyList<TensorDeclaration> tensors, IReadOnlyDictionary<string, string>? metadata)
    {
        long[] byteLengths = ComputeByteLengths(tensors);
        var buffer = new ArrayBufferWriter<byte>();

        // Relaxed escaping keeps non-ASCII names readable in the file; the output is still strict JSON.
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            WriteMetadata(json, metadata);

            long offset = 0;
            for (int i = 0; i < tensors.Count; i++)
            {
                long end = checked(offset + byteLengths[i]);
                WriteEntry(json, tensors[i], offset, end);
                offset = end;
            }

            json.WriteEndObject();
        }

        // The 8-byte length prefix is itself aligned, so padding the JSON to a multiple of 8 aligns the data section.
        int padded = (buffer.WrittenCount + Alignment - 1) / Alignment * Alignment;
        if (padded > SafeTensorsFile.MaxHeaderLength)
        {
            throw new ArgumentException($"header would be {padded} bytes, over the {SafeTensorsFile.MaxHeaderLength}-byte limit readers accept", nameof(tensors));
        }

        byte[] header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return new HeaderLayout(header, byteLengths, byteLengths.Aggregate(0L, (sum, n) => checked(sum + n)));
    }

    private static long[] ComputeByteLengths(IReadOnlyList<TensorDeclaration> tensors)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var lengths = new long[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            TensorDeclaration tensor = tensors[i] ?? throw new ArgumentException($"tensor declaration {i} is null", nameof(tensors));
            ArgumentNullException.ThrowIfNull(tensor.Name, nameof(tensors));
            ArgumentNullException.ThrowIfNull(tensor.Shape, nameof(tensors));
            if (tensor.Name == SafeTensorsHeaderParser.MetadataKey)
            {
                throw new ArgumentException($"'{SafeTensorsHeaderParser.MetadataKey}' is reserved for metadata and cannot name a tensor", nameof(tensors));
            }

            if (!names.Add(tensor.Name))
            {
                throw new ArgumentException($"duplicate tensor name '{tensor.Name}'", nameof(tensors));
            }

            if (!Enum.IsDefined(tensor.DType))
            {
                throw new ArgumentException($"tensor '{tensor.Name}': unknown dtype {tensor.DType}", nameof(tensors));
            }

            if (tensor.Shape.Any(dim => dim < 0))
            {
                throw new ArgumentException($"tensor '{tensor.Name}': shape has a negative dimension", nameof(tensors));
            }

            if (!TensorSize.TryCompute(tensor.Shape, tensor.DType, out _, out lengths[i]))
            {
                throw new ArgumentException($"tensor '{tensor.Name}': shape overflow: byte length does not fit in Int64", nameof(tensors));
            }
        }

        return lengths;
    }

    private static void WriteMetadata(Utf8JsonWriter json, IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null || metadata.Count == 0)
        {
            return;
        }

        json.WriteStartObject(SafeTensorsHeaderParser.MetadataKey);
        foreach ((string key, string value) in metadata)
        {
            ArgumentNullException.ThrowIfNull(value, nameof(metadata));
            json.WriteString(key, value);
        }

        json.WriteEndObject();
    }

    private static void WriteEntry(Utf8JsonWriter json, TensorDeclaration tensor, long begin, long end)
    {
        json.WriteStartObject(tensor.Name);
        json.WriteString("dtype", tensor.DType.FormatName());
        json.WriteStartArray("shape");
        foreach (long dim in tensor.Shape)
        {
            json.WriteNumberValue(dim);
        }

        json.WriteEndArray();
        json.WriteStartArray("data_offsets");
        json.WriteNumberValue(begin);
        json.WriteNumberValue(end);
        json.WriteEndArray();
        json.WriteEndObject();
    }
}
