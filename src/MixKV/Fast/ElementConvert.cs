using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using MixKV.Tensors;

namespace MixKV.Fast;

/// <summary>Vectorised widening of stored rows to fp32 (exact for fp16 and bf16, spec section 1).</summary>
internal static unsafe class ElementConvert
{
    public static void ToSingle(byte* source, DType dtype, int count, float* destination)
    {
        switch (dtype)
        {
            case DType.F32:
                new ReadOnlySpan<float>(source, count).CopyTo(new Span<float>(destination, count));
                break;
            case DType.F16:
                TensorPrimitives.ConvertToSingle(new ReadOnlySpan<Half>(source, count), new Span<float>(destination, count));
                break;
            case DType.BF16:
                BFloat16ToSingle((ushort*)source, count, destination);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype), dtype, "dtype must be F32, F16 or BF16");
        }
    }

    /// <summary>bf16 is the upper half of an fp32: widen each 16-bit word and shift it up.</summary>
    private static void BFloat16ToSingle(ushort* source, int count, float* destination)
    {
        int i = 0;
        if (WideKernels.Available)
        {
            for (; i + Vector512<ushort>.Count <= count; i += Vector512<ushort>.Count)
            {
                (Vector512<uint> lower, Vector512<uint> upper) = Vector512.Widen(Vector512.Load(source + i));
                Vector512.ShiftLeft(lower, 16).AsSingle().Store(destination + i);
                Vector512.ShiftLeft(upper, 16).AsSingle().Store(destination + i + Vector512<uint>.Count);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i + Vector256<ushort>.Count <= count; i += Vector256<ushort>.Count)
            {
                (Vector256<uint> lower, Vector256<uint> upper) = Vector256.Widen(Vector256.Load(source + i));
                Vector256.ShiftLeft(lower, 16).AsSingle().Store(destination + i);
                Vector256.ShiftLeft(upper, 16).AsSingle().Store(destination + i + Vector256<uint>.Count);
            }
        }

        for (; i < count; i++)
        {
            destination[i] = BitConverter.Int32BitsToSingle(source[i] << 16);
        }
    }
}
