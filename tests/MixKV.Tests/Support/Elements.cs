using System.Buffers.Binary;
using MixKV.Tensors;

namespace MixKV.Tests.Support;

/// <summary>
/// The tests' own element codec, written independently of <see cref="ElementCodec"/>: values are drawn
/// already representable in the storage dtype, so encoding is exact and decoding is the identity.
/// </summary>
public static class Elements
{
    public static int Size(DType dtype) => dtype == DType.F32 ? 4 : 2;

    /// <summary>The nearest value the dtype stores exactly (bf16: truncated to the top 16 bits).</summary>
    public static float Representable(DType dtype, double value)
    {
        float f = (float)value;
        return dtype switch
        {
            DType.F32 => f,
            DType.F16 => (float)(Half)f,
            DType.BF16 => BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(f) & unchecked((int)0xFFFF0000)),
            _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
        };
    }

    public static void Write(Span<byte> bytes, DType dtype, float value)
    {
        switch (dtype)
        {
            case DType.F32:
                BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
                break;
            case DType.F16:
                BinaryPrimitives.WriteUInt16LittleEndian(bytes, BitConverter.HalfToUInt16Bits((Half)value));
                break;
            case DType.BF16:
                BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)(BitConverter.SingleToUInt32Bits(value) >> 16));
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(dtype));
        }
    }

    public static float Read(ReadOnlySpan<byte> bytes, DType dtype) => dtype switch
    {
        DType.F32 => BinaryPrimitives.ReadSingleLittleEndian(bytes),
        DType.F16 => (float)BitConverter.UInt16BitsToHalf(BinaryPrimitives.ReadUInt16LittleEndian(bytes)),
        DType.BF16 => BitConverter.UInt32BitsToSingle((uint)BinaryPrimitives.ReadUInt16LittleEndian(bytes) << 16),
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>The bit pattern of a non-finite value in the dtype (NaN or +Inf).</summary>
    public static void WriteNonFinite(Span<byte> bytes, DType dtype, bool nan)
    {
        switch (dtype)
        {
            case DType.F32:
                BinaryPrimitives.WriteUInt32LittleEndian(bytes, nan ? 0x7FC00000u : 0x7F800000u);
                break;
            case DType.F16:
                BinaryPrimitives.WriteUInt16LittleEndian(bytes, nan ? (ushort)0x7E00 : (ushort)0x7C00);
                break;
            default:
                BinaryPrimitives.WriteUInt16LittleEndian(bytes, nan ? (ushort)0x7FC0 : (ushort)0x7F80);
                break;
        }
    }
}
