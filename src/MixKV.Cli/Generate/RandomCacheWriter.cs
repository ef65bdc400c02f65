using MixKV.Cli.Compress;
using MixKV.Cli.Shared;
using MixKV.SafeTensors;
using MixKV.Tensors;

namespace MixKV.Cli.Generate;

/// <summary>Shape of a generated cache; every layer has the same one.</summary>
internal sealed record RandomCacheShape(int Layers, int KvHeads, int QueryHeads, int Tokens, int HeadDim, int QueryRows, DType DType, TensorLayout Layout, int Seed);

/// <summary>
/// Writes a section-9 input file of standard-normal keys, values and queries, streamed in chunks so a
/// large file never sits in memory. One generator runs through the tensors in file order, so a seed
/// always gives the same bytes.
/// </summary>
internal static class RandomCacheWriter
{
    private const int ChunkElements = 1 << 16;

    public static long Write(string path, RandomCacheShape shape)
    {
        CheckShape(shape);
        long[] kvShape = shape.Layout == TensorLayout.Hnd ? [shape.KvHeads, shape.Tokens, shape.HeadDim] : [shape.Tokens, shape.KvHeads, shape.HeadDim];
        long[] qShape = shape.Layout == TensorLayout.Hnd ? [shape.QueryHeads, shape.QueryRows, shape.HeadDim] : [shape.QueryRows, shape.QueryHeads, shape.HeadDim];
        SafeTensorDType dtype = OutputWriter.FileDType(shape.DType);

        var declarations = new List<TensorDeclaration>();
        for (int l = 0; l < shape.Layers; l++)
        {
            declarations.Add(new(TensorNames.Of(l, TensorNames.Keys), dtype, kvShape));
            declarations.Add(new(TensorNames.Of(l, TensorNames.Values), dtype, kvShape));
            declarations.Add(new(TensorNames.Of(l, TensorNames.Queries), dtype, qShape));
        }

        var gaussian = new Gaussian(shape.Seed);
        int size = shape.DType.Size();
        var chunk = new byte[ChunkElements * size];
        long written = 0;
        SafeTensorsWriter.Write(
            path,
            declarations,
            writer =>
            {
                foreach (TensorDeclaration tensor in declarations)
                {
                    long elements = tensor.Shape.Aggregate(1L, (a, b) => a * b);
                    for (long done = 0; done < elements; done += ChunkElements)
                    {
                        int count = (int)Math.Min(ChunkElements, elements - done);
                        for (int i = 0; i < count; i++)
                        {
                            ElementCodec.Write(chunk.AsSpan(i * size, size), shape.DType, (float)gaussian.Next());
                        }

                        writer.WriteData(tensor.Name, chunk.AsSpan(0, count * size));
                        written += count * size;
                    }
                }
            },
            new Dictionary<string, string> { ["producer"] = "mixkv generate", ["seed"] = shape.Seed.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return written;
    }

    private static void CheckShape(RandomCacheShape shape)
    {
        Require(shape.Layers >= 1, "--layers", $"must be >= 1 (got {shape.Layers})");
        Require(shape.KvHeads >= 1, "--kv-heads", $"must be >= 1 (got {shape.KvHeads})");
        Require(shape.QueryHeads >= 1 && shape.QueryHeads % shape.KvHeads == 0, "--q-heads", $"must be a positive multiple of --kv-heads {shape.KvHeads} (got {shape.QueryHeads})");
        Require(shape.Tokens >= 1, "--tokens", $"must be >= 1 (got {shape.Tokens})");
        Require(shape.HeadDim >= 1, "--head-dim", $"must be >= 1 (got {shape.HeadDim})");
        Require(shape.QueryRows >= 1, "--query-rows", $"must be >= 1 (got {shape.QueryRows})");
        long tensorBytes = (long)Math.Max(shape.KvHeads * (long)shape.Tokens, shape.QueryHeads * (long)shape.QueryRows) * shape.HeadDim * shape.DType.Size();
        Require(tensorBytes <= Array.MaxLength, "--tokens", $"one tensor of {tensorBytes} bytes would exceed what `mixkv compress` reads per layer ({Array.MaxLength})");
    }

    private static void Require(bool rule, string flag, string message)
    {
        if (!rule)
        {
            throw new CliUsageException($"{flag}: {message}");
        }
    }
}
