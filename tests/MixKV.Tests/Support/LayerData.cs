using MixKV.Tensors;

namespace MixKV.Tests.Support;

/// <summary>
/// The logical content of one layer: K and V [Hkv][N][D], Q [Hq][Wq][D], every value exactly
/// representable in <see cref="DType"/>. Store it in any layout to get the inputs of a call.
/// </summary>
public sealed class LayerData
{
    public LayerData(float[][][] keys, float[][][] values, float[][][] queries, DType dtype)
    {
        Keys = keys;
        Values = values;
        Queries = queries;
        DType = dtype;
    }

    public float[][][] Keys { get; }

    public float[][][] Values { get; }

    public float[][][] Queries { get; }

    public DType DType { get; }

    public int KvHeads => Keys.Length;

    public int QueryHeads => Queries.Length;

    public int Tokens => Keys[0].Length;

    public int Dim => Keys[0][0].Length;

    /// <summary>
    /// Random keys with a per-head shared direction of random strength (so head redundancy varies),
    /// values with per-token scale (so value norms spread), queries leaning toward the shared direction.
    /// </summary>
    public static LayerData Random(TestRandom rng, int kvHeads, int groups, int tokens, int dim, int queryRows, DType dtype)
    {
        var keys = new float[kvHeads][][];
        var values = new float[kvHeads][][];
        var queries = new float[kvHeads * groups][][];
        for (int h = 0; h < kvHeads; h++)
        {
            double[] direction = Vector(rng, dim, 1.0);
            double strength = rng.Uniform(0.0, 2.5);
            keys[h] = Rows(rng, tokens, dim, dtype, i => direction[i] * strength, 1.0);
            values[h] = new float[tokens][];
            for (int n = 0; n < tokens; n++)
            {
                double scale = rng.Uniform(0.2, 3.0);
                values[h][n] = Array.ConvertAll(Vector(rng, dim, scale), x => Elements.Representable(dtype, x));
            }

            for (int g = 0; g < groups; g++)
            {
                double lean = rng.Uniform(-1.0, 1.0);
                queries[h * groups + g] = Rows(rng, queryRows, dim, dtype, i => direction[i] * lean, 1.0);
            }
        }

        return new LayerData(keys, values, queries, dtype);
    }

    public StoredLayer Store(TensorLayout layout, Padding padding = default) => new(
        StoredTensor.Pack(Keys, DType, layout, padding),
        StoredTensor.Pack(Values, DType, layout, padding),
        StoredTensor.Pack(Queries, DType, layout, padding));

    /// <summary>Copies row [head, source] of K and V onto [head, target] (exact duplicate tokens, for tie tests).</summary>
    public void CopyToken(int head, int source, int target)
    {
        Keys[head][target] = (float[])Keys[head][source].Clone();
        Values[head][target] = (float[])Values[head][source].Clone();
    }

    private static float[][] Rows(TestRandom rng, int count, int dim, DType dtype, Func<int, double> mean, double sigma)
    {
        var rows = new float[count][];
        for (int n = 0; n < count; n++)
        {
            rows[n] = new float[dim];
            for (int i = 0; i < dim; i++)
            {
                rows[n][i] = Elements.Representable(dtype, mean(i) + sigma * rng.Gaussian());
            }
        }

        return rows;
    }

    private static double[] Vector(TestRandom rng, int dim, double sigma)
    {
        var v = new double[dim];
        for (int i = 0; i < dim; i++)
        {
            v[i] = sigma * rng.Gaussian();
        }

        return v;
    }
}

/// <summary>K, V and Q of one layer stored in guarded buffers.</summary>
public sealed record StoredLayer(StoredTensor Keys, StoredTensor Values, StoredTensor Queries)
{
    public LayerInputs Inputs => new(Keys.View, Values.View, Queries.View);

    /// <summary>Backing bytes of K, V and Q (guards included), to prove a failed call wrote nothing.</summary>
    public byte[][] Snapshot() => [Keys.Snapshot(), Values.Snapshot(), Queries.Snapshot()];

    public void AssertUnchanged(byte[][] before, string message)
    {
        Sentinel.AssertSameBytes(before[0], Keys.Storage.Backing, $"{message}: keys buffer changed");
        Sentinel.AssertSameBytes(before[1], Values.Storage.Backing, $"{message}: values buffer changed");
        Sentinel.AssertSameBytes(before[2], Queries.Storage.Backing, $"{message}: queries buffer changed");
    }
}
