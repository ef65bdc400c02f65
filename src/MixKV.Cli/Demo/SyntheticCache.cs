using MixKV.Cli.Shared;
using MixKV.Tensors;

namespace MixKV.Cli.Demo;

/// <summary>
/// A synthetic multi-modal prompt for one layer: an image-patch grid whose keys cluster around a few
/// centroids (spatial blocks share a centroid; the spread around it differs per KV head, so some heads
/// are redundant and some are not), then text tokens with unstructured keys. Queries aim at a random
/// token's key direction plus noise; the last <see cref="Window"/> rows are the observation window and
/// <see cref="HeldOut"/> more rows per query head, drawn the same way, are kept aside to measure the
/// attention output error. Everything is fp32 [heads, tokens, dim] and follows from the seed.
/// </summary>
internal sealed class SyntheticCache
{
    public const int GridSide = 24;
    public const int TextTokens = 200;
    public const int KvHeads = 4;
    public const int GroupSize = 4;
    public const int HeadDim = 64;
    public const int Window = 32;
    public const int HeldOutRows = 8;
    public const int Centroids = 6;

    /// <summary>Patches per side of a block that shares one centroid.</summary>
    private const int BlockSide = 6;

    /// <summary>How strongly a query points at its target key (in units of the unit key direction).</summary>
    private const double QueryAim = 3.0;

    /// <summary>Spread of image keys around their centroid, per KV head: tight heads are the redundant ones.</summary>
    public static readonly double[] ClusterSpread = [0.15, 0.35, 0.7, 1.2];

    private SyntheticCache(int seed, float[] keys, float[] values, float[] window, float[] heldOut)
    {
        Seed = seed;
        KeysData = keys;
        ValuesData = values;
        WindowData = window;
        HeldOutData = heldOut;
    }

    public static int ImageTokens => GridSide * GridSide;

    public static int Tokens => ImageTokens + TextTokens;

    public static int QueryHeads => KvHeads * GroupSize;

    public int Seed { get; }

    /// <summary>[Hkv, N, D].</summary>
    public float[] KeysData { get; }

    /// <summary>[Hkv, N, D].</summary>
    public float[] ValuesData { get; }

    /// <summary>[Hq, W, D]: the prompt's last W query rows.</summary>
    public float[] WindowData { get; }

    /// <summary>[Hq, HeldOutRows, D]: queries that are not part of the window.</summary>
    public float[] HeldOutData { get; }

    public LayerInputs Inputs() => new(
        HeadTensor.FromArray(KeysData, DType.F32, TensorLayout.Hnd, KvHeads, Tokens, HeadDim),
        HeadTensor.FromArray(ValuesData, DType.F32, TensorLayout.Hnd, KvHeads, Tokens, HeadDim),
        HeadTensor.FromArray(WindowData, DType.F32, TensorLayout.Hnd, QueryHeads, Window, HeadDim));

    public static SyntheticCache Build(int seed)
    {
        var gaussian = new Gaussian(seed);
        var keys = new float[KvHeads * Tokens * HeadDim];
        var values = new float[keys.Length];
        for (int h = 0; h < KvHeads; h++)
        {
            // A shared direction plus per-centroid offsets: image keys of one head sit in one cone, as vision tokens do.
            double[] shared = Sample(gaussian, HeadDim);
            double[][] centroids = Enumerable.Range(0, Centroids).Select(_ => Sample(gaussian, HeadDim)).ToArray();
            for (int n = 0; n < Tokens; n++)
            {
                Span<float> row = keys.AsSpan((h * Tokens + n) * HeadDim, HeadDim);
                if (n < ImageTokens)
                {
                    int block = (n / GridSide / BlockSide * (GridSide / BlockSide)) + (n % GridSide / BlockSide);
                    double[] centroid = centroids[block % Centroids];
                    for (int d = 0; d < HeadDim; d++)
                    {
                        row[d] = (float)(shared[d] + centroid[d] + ClusterSpread[h] * gaussian.Next());
                    }
                }
                else
                {
                    // Scaled so text keys have about the norm of image keys (|shared + centroid| ~ sqrt(2D)): neither kind wins on length alone.
                    for (int d = 0; d < HeadDim; d++)
                    {
                        row[d] = (float)(1.5 * gaussian.Next());
                    }
                }
            }
        }

        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)gaussian.Next();
        }

        float[] window = Queries(gaussian, keys, Window);
        float[] heldOut = Queries(gaussian, keys, HeldOutRows);
        return new SyntheticCache(seed, keys, values, window, heldOut);
    }

    /// <summary>[Hq, rows, D]: each row aims at a random token's unit key direction of its KV head, plus unit noise.</summary>
    private static float[] Queries(Gaussian gaussian, float[] keys, int rows)
    {
        var queries = new float[QueryHeads * rows * HeadDim];
        for (int q = 0; q < QueryHeads; q++)
        {
            int h = q / GroupSize;
            for (int r = 0; r < rows; r++)
            {
                int target = gaussian.Uniform.Next(Tokens);
                ReadOnlySpan<float> key = keys.AsSpan((h * Tokens + target) * HeadDim, HeadDim);
                double norm = Math.Sqrt(key.ToArray().Sum(x => (double)x * x));
                Span<float> row = queries.AsSpan((q * rows + r) * HeadDim, HeadDim);
                for (int d = 0; d < HeadDim; d++)
                {
                    row[d] = (float)((QueryAim * key[d] / norm) + gaussian.Next());
                }
            }
        }

        return queries;
    }

    private static double[] Sample(Gaussian gaussian, int count)
    {
        var values = new double[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = gaussian.Next();
        }

        return values;
    }
}
