using System.Buffers.Binary;
using System.Text;

namespace MixKV.Tests.Cli;

/// <summary>
/// Hand-made safetensors bytes, for files the library's writer would refuse to produce: an 8-byte
/// little-endian header length, the header text, then the data section.
/// </summary>
internal static class MalformedSafeTensors
{
    /// <summary>Bytes of a tiny valid compress input: one layer, Hkv 1, N 8, D 4, Hq 1, Wq 4, F32 (128 + 128 + 64 data bytes).</summary>
    public static byte[] Valid(Random random) => Build(
        """{"layers.0.keys":{"dtype":"F32","shape":[1,8,4],"data_offsets":[0,128]},"layers.0.values":{"dtype":"F32","shape":[1,8,4],"data_offsets":[128,256]},"layers.0.queries":{"dtype":"F32","shape":[1,4,4],"data_offsets":[256,320]}}""",
        RandomFloats(random, 80));

    public static byte[] Build(string header, byte[] data) => Build(Encoding.UTF8.GetBytes(header), (ulong)Encoding.UTF8.GetByteCount(header), data);

    /// <summary>Any declared header length, true or not.</summary>
    public static byte[] Build(byte[] header, ulong declaredLength, byte[] data)
    {
        var bytes = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, declaredLength);
        header.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + header.Length);
        return bytes;
    }

    /// <summary><paramref name="count"/> standard-normal F32 values (never zeros or constants).</summary>
    public static byte[] RandomFloats(Random random, int count)
    {
        var bytes = new byte[count * 4];
        for (int i = 0; i < count; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(i * 4), (float)CacheFile.Normal(random));
        }

        return bytes;
    }
}
