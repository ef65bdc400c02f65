using System.Buffers.Binary;

namespace MixKV.SafeTensors.Tests;

/// <summary>
/// Seeded tensor contents made of real values of each dtype (not just random bytes),
/// so the round-trip tests also exercise the little-endian encoding of each type.
/// </summary>
internal static class RandomTensorData
{
    public static byte[] Create(SafeTensorDType dtype, long elementCount, Random rng)
    {
        var bytes = new byte[checked(elementCount * dtype.ByteSize())];
        for (int i = 0; i < elementCount; i++)
        {
            float value = (rng.NextSingle() * 2f) - 1f;
            switch (dtype)
            {
                case SafeTensorDType.F32:
                    BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), value);
                    break;
                case SafeTensorDType.F16:
                    BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)value);
                    break;
                case SafeTensorDType.BF16:
                    // bfloat16 is the upper half of a float32's bits.
                    BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(i * 2), (ushort)(BitConverter.SingleToUInt32Bits(value) >> 16));
                    break;
                case SafeTensorDType.I32:
                    BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(i * 4), rng.Next(int.MinValue, int.MaxValue));
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(dtype), dtype, null);
            }
        }

        return bytes;
    }
}
