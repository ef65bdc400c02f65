namespace MixKV.Tensors;

/// <summary>Storage dtype of K, V and Q (spec section 1). Every score is computed in fp32 or wider after upcast.</summary>
public enum DType
{
    F32,
    F16,
    BF16,
}

public static class DTypeExtensions
{
    /// <summary>Bytes of one element.</summary>
    public static int Size(this DType dtype) => dtype switch
    {
        DType.F32 => 4,
        DType.F16 => 2,
        DType.BF16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "dtype must be F32, F16 or BF16"),
    };

    /// <summary>The safetensors spelling ("F32", "F16", "BF16").</summary>
    public static string Name(this DType dtype) => dtype switch
    {
        DType.F32 => "F32",
        DType.F16 => "F16",
        DType.BF16 => "BF16",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "dtype must be F32, F16 or BF16"),
    };
}
