using System.Buffers.Binary;
using System.Text;

namespace MixKV.SafeTensors.Tests;

/// <summary>
/// Writes one malformed safetensors file per kind of damage, byte by byte (the library's writer refuses
/// to produce them). Each variant carries a phrase the reader's error message must contain.
/// Self-contained on purpose so other test projects (such as the command-line tool's) can copy it.
/// </summary>
public static class MalformedFiles
{
    /// <param name="Name">Short label for test names.</param>
    /// <param name="ExpectedHint">Text the SafeTensorsFormatException message must contain.</param>
    /// <param name="Write">Writes the malformed file at the given path.</param>
    public sealed record Variant(string Name, string ExpectedHint, Action<string> Write)
    {
        public override string ToString() => Name;
    }

    public static IReadOnlyList<Variant> All { get; } =
    [
        new("empty file", "truncated", path => File.WriteAllBytes(path, [])),
        new("truncated prefix", "truncated", path => File.WriteAllBytes(path, [1, 0, 0, 0, 0])),
        new("zero header length", "header length is 0", path => WriteWithDeclaredLength(path, 0, "{}", 0)),
        new("header length past end", "past the end of the file", path => WriteWithDeclaredLength(path, 1000, "{}", 0)),
        new("header length over cap", "exceeds", path => WriteWithDeclaredLength(path, 200UL * 1024 * 1024, "{}", 0)),
        new("non-JSON header", "not valid JSON", path => WriteWithHeader(path, "this is not json", 0)),
        new("JSON with trailing text", "not valid JSON", path => WriteWithHeader(path, "{} trailing", 0)),
        new("invalid UTF-8", "not valid UTF-8", path => WriteWithHeaderBytes(path, [(byte)'{', 0xFF, 0xFE, (byte)'}'], 0)),
        new("header is an array", "not a JSON object", path => WriteWithHeader(path, "[]", 0)),
        new("entry not an object", "tensor 'a': entry is not a JSON object", path => WriteWithHeader(path, """{"a": 5}""", 0)),
        new("missing dtype", "tensor 'a': missing \"dtype\"", path => WriteWithHeader(path, """{"a": {"shape": [1], "data_offsets": [0, 4]}}""", 4)),
        new("missing shape", "tensor 'a': missing \"shape\"", path => WriteWithHeader(path, """{"a": {"dtype": "F32", "data_offsets": [0, 4]}}""", 4)),
        new("missing data_offsets", "tensor 'a': missing \"data_offsets\"", path => WriteWithHeader(path, """{"a": {"dtype": "F32", "shape": [1]}}""", 4)),
        new("dtype not a string", "tensor 'a': \"dtype\" is not a string", path => WriteWithHeader(path, """{"a": {"dtype": 7, "shape": [1], "data_offsets": [0, 4]}}""", 4)),
        new("shape not an array", "tensor 'a': \"shape\" is not an array of integers", path => WriteWithHeader(path, """{"a": {"dtype": "F32", "shape": 1, "data_offsets": [0, 4]}}""", 4)),
        new("shape with fraction", "tensor 'a': \"shape\" is not an array of integers", path => WriteWithHeader(path, """{"a": {"dtype": "F32", "shape": [1.5], "data_offsets": [0, 4]}}""", 4)),
        new("unknown dtype", "tensor 'a': unknown dtype 'F64'", path => WriteWithHeader(path, """{"a": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}""", 8)),
        new("negative dimension", "tensor 'a': shape has negative dimension -2", path => WriteWithHeader(path, """{"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 0]}}""", 0)),
        new("shape overflow", "tensor 'a': shape overflow", path => WriteWithHeader(path, """{"a": {"dtype": "F32", "shape": [4611686018427387904, 4], "data_offsets": [0, 0]}}""", 0)),
        new("one data offset", "tensor 'a': data_offsets must be [begin, end]", path => WriteWithHeader(path, """{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4]}}""", 4)),
        new("begin after end", "tensor 'a': data_offsets must be [begin, end]", path => WriteWithHeader(path, """{"a": {"dtype": "F32", "shape": [1], "data_offsets": [8, 4]}}""", 8)),
        new("negative offset", "tensor 'a': data_offsets must be [begin, end]", path => WriteWithHeader(path, """{"a": {"dtype": "F32", "shape": [1], "data_offsets": [-4, 0]}}""", 4)),
        new("offsets out of range", "tensor 'a': data_offsets out of range", path => WriteWithHeader(path, """{"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}""", 8)),
        new("wrong byte count", "tensor 'a': wrong byte count", path => WriteWithHeader(path, """{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}""", 8)),
        new("overlapping tensors", "tensors 'a' and 'b' overlap", path => WriteWithHeader(path, """{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}""", 12)),
        new("duplicate name", "duplicate tensor name 'a'", path => WriteWithHeader(path, """{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}""", 8)),
        new("metadata value not a string", "\"__metadata__\" value for 'k' is not a string", path => WriteWithHeader(path, """{"__metadata__": {"k": 1}}""", 0)),
        new("metadata not an object", "\"__metadata__\" is not a JSON object", path => WriteWithHeader(path, """{"__metadata__": "x"}""", 0)),
    ];

    /// <summary>A well-formed length prefix followed by <paramref name="headerJson"/> and <paramref name="dataLength"/> zero bytes.</summary>
    public static void WriteWithHeader(string path, string headerJson, int dataLength) =>
        WriteWithHeaderBytes(path, Encoding.UTF8.GetBytes(headerJson), dataLength);

    public static void WriteWithHeaderBytes(string path, byte[] header, int dataLength) =>
        WriteRaw(path, (ulong)header.Length, header, dataLength);

    /// <summary>Like <see cref="WriteWithHeader"/> but with a length prefix that need not match the header.</summary>
    public static void WriteWithDeclaredLength(string path, ulong declaredLength, string headerJson, int dataLength) =>
        WriteRaw(path, declaredLength, Encoding.UTF8.GetBytes(headerJson), dataLength);

    private static void WriteRaw(string path, ulong declaredLength, byte[] header, int dataLength)
    {
        var bytes = new byte[8 + header.Length + dataLength];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength);
        header.CopyTo(bytes, 8);
        File.WriteAllBytes(path, bytes);
    }
}
