using MixKV.Tensors;

namespace MixKV.Tests.Support;

/// <summary>
/// K and V interleaved in one buffer, as some engines keep a cache: [N, 2, Hkv, D], token t's Hkv key
/// rows, then its Hkv value rows. Both views have head stride D and token stride 2·Hkv·D; V starts
/// Hkv·D elements in.
/// </summary>
public static class InterleavedCache
{
    /// <summary>The bytes of <paramref name="data"/>'s K and V interleaved (its queries are left out).</summary>
    public static byte[] Bytes(LayerData data)
    {
        int heads = data.KvHeads, tokens = data.Tokens, dim = data.Dim, size = Elements.Size(data.DType);
        var bytes = new byte[(long)tokens * TokenStride(data) * size];
        for (int h = 0; h < heads; h++)
        {
            for (int t = 0; t < tokens; t++)
            {
                for (int d = 0; d < dim; d++)
                {
                    long key = (t * TokenStride(data)) + ((long)h * dim) + d;
                    Elements.Write(bytes.AsSpan((int)(key * size), size), data.DType, data.Keys[h][t][d]);
                    Elements.Write(bytes.AsSpan((int)((key + ValueOffset(data)) * size), size), data.DType, data.Values[h][t][d]);
                }
            }
        }

        return bytes;
    }

    public static long TokenStride(LayerData data) => 2L * data.KvHeads * data.Dim;

    /// <summary>Elements from the buffer's start to V's first.</summary>
    public static long ValueOffset(LayerData data) => (long)data.KvHeads * data.Dim;

    public static HeadTensor Keys(Memory<byte> buffer, LayerData data) =>
        new(buffer, data.DType, data.KvHeads, data.Tokens, data.Dim, data.Dim, TokenStride(data));

    public static HeadTensor Values(Memory<byte> buffer, LayerData data) =>
        new(buffer, data.DType, data.KvHeads, data.Tokens, data.Dim, data.Dim, TokenStride(data), ValueOffset(data));
}
