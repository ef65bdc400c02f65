using MixKV.Tensors;

namespace MixKV.Bench.Reference;

/// <summary>One random fp32 layer (Gaussian K, V, Q; fixed seed so every run times the same data).</summary>
internal static class BenchInputs
{
    public static LayerInputs Layer(int kvHeads, int queryHeads, int tokens, int headDim, int window, int seed = 20261126)
    {
        var random = new Random(seed);
        return new LayerInputs(
            Tensor(random, kvHeads, tokens, headDim),
            Tensor(random, kvHeads, tokens, headDim),
            Tensor(random, queryHeads, window, headDim));
    }

    private static HeadTensor Tensor(Random random, int heads, int tokens, int dim)
    {
        var data = new float[heads * tokens * dim];
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = (float)random.NextGaussian();
        }

        return HeadTensor.FromArray(data, DType.F32, TensorLayout.Hnd, heads, tokens, dim);
    }

    private static double NextGaussian(this Random random)
    {
        double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
