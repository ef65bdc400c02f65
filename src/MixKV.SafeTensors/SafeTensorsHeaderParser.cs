using System.Text.Json;
using System.Text.Unicode;
using static MixKV.SafeTensors.FormatErrors;

namespace MixKV.SafeTensors;

/// <summary>
/// Turns header JSON into entries, rejecting anything that is not the documented shape.
/// Uses Utf8JsonReader rather than JsonDocument so duplicate keys are seen as they stream by
/// (JsonDocument would keep both) and the header is parsed straight out of the mapped file.
/// </summary>
internal static class SafeTensorsHeaderParser
{
    public const string MetadataKey = "__metadata__";

    /// <param name="json">The header bytes, including any trailing space padding.</param>
    /// <param name="dataSectionLength">Bytes after the header, for the offset checks.</param>
    /// <param name="source">Names the file in error messages.</param>
    public static SafeTensorsHeader Parse(ReadOnlySpan<byte> json, long dataSectionLength, string source)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var entries = new List<HeaderEntry>();

        // Checked up front because Utf8JsonReader only validates UTF-8 lazily, when a string is decoded.
        if (!Utf8.IsValid(json))
        {
            throw Fail(source, "header is not valid UTF-8 JSON");
        }

        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw Fail(source, "header is not a JSON object");
            }

            var seenNames = new HashSet<string>(StringComparer.Ordinal);
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name = reader.GetString()!;
                if (!seenNames.Add(name))
                {
                    throw Fail(source, name == MetadataKey
                        ? $"duplicate \"{MetadataKey}\" key in header"
                        : $"duplicate tensor name '{name}' in header");
                }

                reader.Read();
                if (name == MetadataKey)
                {
                    ReadMetadata(ref reader, metadata, source);
                }
                else
                {
                    entries.Add(ReadEntry(ref reader, name, source));
                }
            }

            // The loop above stops at the closing brace; anything after it other than whitespace is not one JSON object.
            if (reader.Read())
            {
                throw Fail(source, "header has content after its JSON object");
            }
        }
        catch (JsonException ex)
        {
            throw Fail(source, $"header is not valid JSON: {FirstLine(ex.Message)}", ex);
        }

        return new SafeTensorsHeader(SafeTensorsLayoutValidator.Validate(entries, dataSectionLength, source), metadata);
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, Dictionary<string, string> metadata, string source)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Fail(source, $"\"{MetadataKey}\" is not a JSON object");
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            reader.Read();
            if (reader.TokenType != JsonTokenType.String)
            {
                throw Fail(source, $"\"{MetadataKey}\" value for '{key}' is not a string");
            }

            if (!metadata.TryAdd(key, reader.GetString()!))
            {
                throw Fail(source, $"duplicate \"{MetadataKey}\" key '{key}'");
            }
        }
    }

    private static HeaderEntry ReadEntry(ref Utf8JsonReader reader, string name, string source)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Fail(source, $"tensor '{name}': entry is not a JSON object");
        }

        string? dtypeName = null;
        long[]? shape = null;
        long[]? offsets = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            string key = reader.GetString()!;
            reader.Read();
            switch (key)
            {
                case "dtype":
                    RejectRepeat(dtypeName is not null, key, name, source);
                    if (reader.TokenType != JsonTokenType.String)
                    {
                        throw Fail(source, $"tensor '{name}': \"dtype\" is not a string");
                    }

                    dtypeName = reader.GetString()!;
                    break;
                case "shape":
                    RejectRepeat(shape is not null, key, name, source);
                    shape = ReadIntegerArray(ref reader, key, name, source);
                    break;
                case "data_offsets":
                    RejectRepeat(offsets is not null, key, name, source);
                    offsets = ReadIntegerArray(ref reader, key, name, source);
                    break;
                default:
                    // Fields this version does not know are skipped, not rejected, so files from newer writers still open.
                    reader.Skip();
                    break;
            }
        }

        if (dtypeName is null || shape is null || offsets is null)
        {
            string missing = dtypeName is null ? "dtype" : shape is null ? "shape" : "data_offsets";
            throw Fail(source, $"tensor '{name}': missing \"{missing}\"");
        }

        if (!SafeTensorDTypeExtensions.TryParseFormatName(dtypeName, out SafeTensorDType dtype))
        {
            throw Fail(source, $"tensor '{name}': unknown dtype '{dtypeName}' (supported: F32, F16, BF16, I32)");
        }

        foreach (long dim in shape)
        {
            if (dim < 0)
            {
                throw Fail(source, $"tensor '{name}': shape has negative dimension {dim}");
            }
        }

        if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < 0 || offsets[0] > offsets[1])
        {
            throw Fail(source, $"tensor '{name}': data_offsets must be [begin, end] with 0 <= begin <= end, got [{string.Join(", ", offsets)}]");
        }

        return new HeaderEntry(name, dtype, shape, offsets[0], offsets[1]);
    }

    private static long[] ReadIntegerArray(ref Utf8JsonReader reader, string key, string name, string source)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Fail(source, $"tensor '{name}': \"{key}\" is not an array of integers");
        }

        var values = new List<long>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            // TryGetInt64 fails for fractions, exponents and numbers beyond Int64, all of which are malformed here.
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long value))
            {
                throw Fail(source, $"tensor '{name}': \"{key}\" is not an array of integers");
            }

            values.Add(value);
        }

        return values.ToArray();
    }

    private static void RejectRepeat(bool alreadySeen, string key, string name, string source)
    {
        if (alreadySeen)
        {
            throw Fail(source, $"tensor '{name}': duplicate \"{key}\" field");
        }
    }

    private static string FirstLine(string text)
    {
        int newline = text.IndexOfAny(['\r', '\n']);
        return newline < 0 ? text : text[..newline];
    }
}
