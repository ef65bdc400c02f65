using MixKV.Interop;
using MixKV.Tensors;

namespace MixKV.Kernels;

/// <summary>Launch-shape and naming helpers shared by the launchers.</summary>
internal static class Launch
{
    /// <summary>Blocks of <paramref name="perBlock"/> items covering <paramref name="count"/> (at least one).</summary>
    public static uint Blocks(long count, int perBlock) => (uint)Math.Max(1, (count + perBlock - 1) / perBlock);

    public static LaunchConfig Config(uint gridX, uint gridY, uint block, uint sharedBytes = 0) =>
        new(new Dim3(gridX, gridY), new Dim3(block), sharedBytes);

    /// <summary>The template argument naming a storage dtype in the .cu files.</summary>
    public static string TypeName(DType dtype) => dtype switch
    {
        DType.F32 => "float",
        DType.F16 => "mixkv_f16",
        DType.BF16 => "mixkv_bf16",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "dtype must be F32, F16 or BF16"),
    };
}
