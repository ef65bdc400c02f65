using MixKV.Cli.Shared;
using MixKV.Tensors;

namespace MixKV.Cli.Bench;

/// <summary>The layer a benchmark compresses: spec section 1's shape and storage dtype, with the seed of its random contents.</summary>
internal sealed record BenchShape(int Tokens, int QueryHeads, int KvHeads, int HeadDim, int Window, DType DType, int Seed)
{
    /// <summary>Elements generated from one seeded stream; chunks fill in parallel and the result depends only on the seed.</summary>
    private const int ChunkElements = 1 << 16;

    /// <summary>Usage errors (exit 2) for a shape no backend could take or this process could not hold.</summary>
    public void Check()
    {
        Require(Tokens >= 1, "--tokens", $"must be >= 1 (got {Tokens})");
        Require(KvHeads >= 1, "--kv-heads", $"must be >= 1 (got {KvHeads})");
        Require(QueryHeads >= 1 && QueryHeads % KvHeads == 0, "--q-heads", $"must be a positive multiple of --kv-heads {KvHeads} (got {QueryHeads})");
        Require(HeadDim >= 1, "--head-dim", $"must be >= 1 (got {HeadDim})");
        Require(Window >= 1, "--window", $"must be >= 1 (got {Window})");
        long largest = Math.Max((long)KvHeads * Tokens, (long)QueryHeads * Window) * HeadDim * DType.Size();
        Require(largest <= Array.MaxLength, "--tokens", $"one tensor of {largest} bytes exceeds what one array can hold ({Array.MaxLength})");
    }

    /// <summary>
    /// Standard-normal K, V [Hkv, N, D] and window queries [Hq, W, D] (packed, HND). The benchmark
    /// only reads them, so every repetition sees the same bytes.
    /// </summary>
    /// <param name="hugePages">In <see cref="HugePageMemory"/> (kept until the inputs are collected) instead of managed arrays.</param>
    public LayerInputs CreateInputs(bool hugePages = false)
    {
        Check();
        Memory<byte> keys = Fill(0, (long)KvHeads * Tokens * HeadDim, hugePages);
        Memory<byte> values = Fill(1, (long)KvHeads * Tokens * HeadDim, hugePages);
        Memory<byte> queries = Fill(2, (long)QueryHeads * Window * HeadDim, hugePages);
        return new LayerInputs(
            HeadTensor.Create(keys, DType, TensorLayout.Hnd, KvHeads, Tokens, HeadDim),
            HeadTensor.Create(values, DType, TensorLayout.Hnd, KvHeads, Tokens, HeadDim),
            HeadTensor.Create(queries, DType, TensorLayout.Hnd, QueryHeads, Window, HeadDim));
    }

    private Memory<byte> Fill(int tensor, long elements, bool hugePages)
    {
        int size = DType.Size();
        Memory<byte> data = hugePages ? new HugePageMemory(checked((int)(elements * size))).Memory : new byte[elements * size];
        int chunks = (int)((elements + ChunkElements - 1) / ChunkElements);
        Parallel.For(0, chunks, chunk =>
        {
            // A distinct, reproducible stream per (seed, tensor, chunk); unchecked wrap-around is fine for a seed.
            var gaussian = new Gaussian(unchecked((Seed * 1_000_003) + (tensor * 7_919) + (chunk * 104_729)));
            long first = (long)chunk * ChunkElements;
            int count = (int)Math.Min(ChunkElements, elements - first);
            Span<byte> bytes = data.Span.Slice(checked((int)(first * size)), count * size);
            for (int i = 0; i < count; i++)
            {
                ElementCodec.Write(bytes.Slice(i * size, size), DType, (float)gaussian.Next());
            }
        });
        return data;
    }

    private static void Require(bool rule, string flag, string message)
    {
        if (!rule)
        {
            throw new CliUsageException($"{flag}: {message}");
        }
    }
}
