using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace MixKV.Tensors;

/// <summary>
/// Little-endian element encode/decode for the three storage dtypes. bf16 is the upper half of an
/// fp32; encoding rounds to nearest even and keeps NaN a NaN (truncation would bias every value
/// toward zero, which a cache written by an engine never has).
/// </summary>
public static class ElementCodec
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Read(ReadOnlySpan<byte> bytes, DType dtype) => dtype switch
    {
        DType.F32 => BinaryPrimitives.ReadSingleLittleEndian(bytes),
        DType.F16 => (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(bytes)),
        DType.BF16 => BFloat16ToSingle(BinaryPrimitives.ReadUInt16LittleEndian(bytes)),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Write(Span<byte> bytes, DType dtype, float value)
    {
        switch (dtype)
        {
            case DType.F32: BinaryPrimitives.WriteSingleLittleEndian(bytes, value); break;
            case DType.F16: BinaryPrimitives.WriteUInt16LittleEndian(bytes, BitConverter.HalfToUInt16Bits((Half)value)); break;
            case DType.BF16: BinaryPrimitives.WriteUInt16LittleEndian(bytes, SingleToBFloat16(value)); break;
            default: throw new ArgumentOutOfRangeException(nameof(dtype));
        }
    }

    /// <summary>Decodes a contiguous row of <paramref name="destination"/>.Length elements, widening to double.</summary>
    public static void ReadRow(ReadOnlySpan<byte> bytes, DType dtype, Span<double> destination)
    {
        int size = dtype.Size();
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = Read(bytes.Slice(i * size, size), dtype);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float BFloat16ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    public static ushort SingleToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value))
        {
            return (ushort)((bits >> 16) | 0x0040); // keep sign, force a quiet NaN
        }

        uint roundingBias = 0x7FFFu + ((bits >> 16) & 1u);
        return (ushort)((bits + roundingBias) >> 16);
    }
}
