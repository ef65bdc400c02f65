namespace MixKV.SafeTensors;

/// <summary>Byte sizes and header spellings of <see cref="SafeTensorDType"/>.</summary>
public static class SafeTensorDTypeExtensions
{
    /// <summary>Bytes per element.</summary>
    public static int ByteSize(this SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.F32 => 4,
        SafeTensorDType.F16 => 2,
        SafeTensorDType.BF16 => 2,
        SafeTensorDType.I32 => 4,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a known safetensors dtype"),
    };

    /// <summary>The string the header uses for this dtype ("F32", "F16", "BF16", "I32").</summary>
    public static string FormatName(this SafeTensorDType dtype) => dtype switch
    {
        SafeTensorDType.F32 => "F32",
        SafeTensorDType.F16 => "F16",
        SafeTensorDType.BF16 => "BF16",
        SafeTensorDType.I32 => "I32",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "not a known safetensors dtype"),
    };

    /// <summary>
    /// Parses a header dtype string. Matching is exact and case-sensitive, as in the format,
    /// so "f32" is rejected rather than silently accepted.
    /// </summary>
    public static bool TryParseFormatName(string? name, out SafeTensorDType dtype)
    {
        switch (name)
        {
            case "F32": dtype = SafeTensorDType.F32; return true;
            case "F16": dtype = SafeTensorDType.F16; return true;
            case "BF16": dtype = SafeTensorDType.BF16; return true;
            case "I32": dtype = SafeTensorDType.I32; return true;
            default: dtype = default; return false;
        }
    }
}
