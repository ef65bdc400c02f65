namespace MixKV.Cli.Demo;

/// <summary>
/// How much a compressed cache changes attention: for each held-out query of query head q,
/// o = softmax(q·Kᵀ/√D)·V over either all N rows of KV head q/G or only the rows it kept, and the
/// error is ||o_full - o_comp|| / ||o_full||, averaged over every held-out query of every head.
/// </summary>
internal static class AttentionError
{
    public static double MeanRelative(SyntheticCache cache, KeptTokens kept)
    {
        int n = SyntheticCache.Tokens, dim = SyntheticCache.HeadDim, rows = SyntheticCache.HeldOutRows;
        int[] all = Enumerable.Range(0, n).ToArray();
        double sum = 0;
        int count = 0;
        for (int q = 0; q < SyntheticCache.QueryHeads; q++)
        {
            int h = q / SyntheticCache.GroupSize;
            int[] keptRows = kept.PositionsOfHead(h).ToArray();
            for (int r = 0; r < rows; r++)
            {
                ReadOnlySpan<float> query = cache.HeldOutData.AsSpan((q * rows + r) * dim, dim);
                double[] full = Output(cache, h, query, all);
                double[] compressed = Output(cache, h, query, keptRows);
                double diff = 0, reference = 0;
                for (int d = 0; d < dim; d++)
                {
                    diff += (full[d] - compressed[d]) * (full[d] - compressed[d]);
                    reference += full[d] * full[d];
                }

                sum += Math.Sqrt(diff / reference);
                count++;
            }
        }

        return sum / count;
    }

    private static double[] Output(SyntheticCache cache, int head, ReadOnlySpan<float> query, int[] positions)
    {
        int n = SyntheticCache.Tokens, dim = SyntheticCache.HeadDim;
        double scale = 1.0 / Math.Sqrt(dim);
        var logits = new double[positions.Length];
        double max = double.NegativeInfinity;
        for (int i = 0; i < positions.Length; i++)
        {
            ReadOnlySpan<float> key = cache.KeysData.AsSpan((head * n + positions[i]) * dim, dim);
            double dot = 0;
            for (int d = 0; d < dim; d++)
            {
                dot += (double)query[d] * key[d];
            }

            logits[i] = dot * scale;
            max = Math.Max(max, logits[i]);
        }

        var output = new double[dim];
        double total = 0;
        for (int i = 0; i < positions.Length; i++)
        {
            double weight = Math.Exp(logits[i] - max);
            total += weight;
            ReadOnlySpan<float> value = cache.ValuesData.AsSpan((head * n + positions[i]) * dim, dim);
            for (int d = 0; d < dim; d++)
            {
                output[d] += weight * value[d];
            }
        }

        for (int d = 0; d < dim; d++)
        {
            output[d] /= total;
        }

        return output;
    }
}
