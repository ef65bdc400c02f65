using System.Text.Json;
using MixKV.Options;

namespace MixKV.Cli.Compress;

/// <summary>
/// Reads an offline head-redundancy table (spec section 9): a JSON array of L arrays of Hkv numbers,
/// each in [0, 1]. The shape against the input's layers is checked by <see cref="InputContract"/>.
/// </summary>
internal static class RedundancyFile
{
    public const string Online = "online";

    public static RedundancyTable Load(string path)
    {
        string flag = $"--redundancy {path}";
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliUsageException($"{flag}: cannot read the table: {ex.Message}", ex);
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(bytes);
        }
        catch (JsonException ex)
        {
            throw new CliUsageException($"{flag}: not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Array)
            {
                throw new CliUsageException($"{flag}: expected a JSON array of L arrays of Hkv numbers, got {Kind(root)}");
            }

            var rows = new List<IReadOnlyList<double>>();
            foreach (JsonElement row in root.EnumerateArray())
            {
                int layer = rows.Count;
                if (row.ValueKind != JsonValueKind.Array)
                {
                    throw new CliUsageException($"{flag}: layer {layer} is {Kind(row)}, expected an array of Hkv numbers");
                }

                var values = new List<double>();
                foreach (JsonElement cell in row.EnumerateArray())
                {
                    if (cell.ValueKind != JsonValueKind.Number || !cell.TryGetDouble(out double value))
                    {
                        throw new CliUsageException($"{flag}: entry [{layer}][{values.Count}] is {Kind(cell)}, expected a number in [0, 1]");
                    }

                    values.Add(value);
                }

                rows.Add(values);
            }

            try
            {
                return new RedundancyTable(rows);
            }
            catch (ArgumentException ex)
            {
                throw new CliUsageException($"{flag}: {ExitCodes.Describe(ex)}", ex);
            }
        }
    }

    private static string Kind(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => element.ValueKind.ToString(),
    };
}
