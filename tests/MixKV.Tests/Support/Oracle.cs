using MixKV.Options;

namespace MixKV.Tests.Support;

/// <summary>
/// A naive, independent transcription of spec sections 2–6 in double precision, straight from the
/// text (no shared code with src/MixKV/Reference). Random tests compare the reference with it.
/// </summary>
public static class Oracle
{
    /// <summary>Section 2: pooled importance A [Hkv][P] from the last W query rows.</summary>
    public static double[][] Attention(LayerData data, CompressionOptions options)
    {
        int n = data.Tokens, w = options.Window, p = n - w, g = data.QueryHeads / data.KvHeads;
        var perQuery = new double[data.QueryHeads][];
        for (int q = 0; q < data.QueryHeads; q++)
        {
            float[][] keys = data.Keys[q / g];
            float[][] rows = data.Queries[q];
            var a = new double[p];
            for (int row = 0; row < w; row++)
            {
                float[] query = rows[rows.Length - w + row];
                var logits = new double[n];
                for (int key = 0; key < n; key++)
                {
                    logits[key] = key <= p + row ? Dot(query, keys[key]) / Math.Sqrt(data.Dim) : double.NegativeInfinity;
                }

                double max = logits.Max();
                double sum = logits.Sum(l => Math.Exp(l - max));
                for (int key = 0; key < p; key++)
                {
                    a[key] += Math.Exp(logits[key] - max) / sum / w;
                }
            }

            perQuery[q] = a;
        }

        var result = new double[data.KvHeads][];
        for (int h = 0; h < data.KvHeads; h++)
        {
            double[][] group = perQuery[(h * g)..((h + 1) * g)];
            double[] reduced = Enumerable.Range(0, p)
                .Select(key => options.Gqa == GqaReduction.Mean ? group.Average(r => r[key]) : group.Max(r => r[key]))
                .ToArray();
            result[h] = Pool(reduced, options.Pooling, options.PoolingKernel);
        }

        return result;
    }

    public static double[] Pool(double[] x, PoolingKind kind, int k)
    {
        int half = k / 2;
        var result = new double[x.Length];
        for (int n = 0; n < x.Length; n++)
        {
            var inside = Enumerable.Range(n - half, k).Where(i => i >= 0 && i < x.Length).Select(i => x[i]).ToArray();
            result[n] = kind == PoolingKind.Avg ? inside.Sum() / k : inside.Max();
        }

        return result;
    }

    /// <summary>Section 3: online redundancy, clamped, and 1 within 1e-4 of 1 (SpecConstants.RoundingSpread, restated).</summary>
    public static double Redundancy(float[][] keys)
    {
        double[] mu = MeanUnitKey(keys);
        int n = keys.Length;
        double r = Math.Clamp((n * Dot(mu, mu) - 1) / (n - 1), 0, 1);
        return r >= 1 - 1e-4 ? 1 : r;
    }

    /// <summary>Sections 3–4: S [Hkv][P] for the chosen mode.</summary>
    public static double[][] Scores(LayerData data, CompressionOptions options, LayerPosition layer)
    {
        double[][] attention = Attention(data, options);
        int p = data.Tokens - options.Window;
        var result = new double[data.KvHeads][];
        for (int h = 0; h < data.KvHeads; h++)
        {
            double[] a = attention[h];
            double meanA = a.Average();
            double[] Fit(double[] s)
            {
                double factor = meanA / (s.Average() + 1e-8);
                return s.Select(x => x * factor).ToArray();
            }

            float[][] keys = data.Keys[h];
            double[] mu = MeanUnitKey(keys);
            double[] d = Enumerable.Range(0, p).Select(n => -Dot(Unit(keys[n]), mu)).ToArray();
            double dMin = d.Min(), dMax = d.Max();
            double[] diversity = Fit(dMax - dMin <= 1e-4 ? new double[p] : d.Select(x => (x - dMin) / (dMax - dMin + 1e-8)).ToArray());
            double[] vnorm = Fit(MinMax(Enumerable.Range(0, p).Select(n => Norm(data.Values[h][n])).ToArray()));
            double[] knorm = Fit(MinMax(Enumerable.Range(0, p).Select(n => -Norm(keys[n])).ToArray()));
            double r = options.Redundancy is { } table ? table[layer.Index, h] : Redundancy(keys);
            result[h] = Enumerable.Range(0, p).Select(n => options.Score switch
            {
                ScoreMode.Attention => a[n],
                ScoreMode.KeyDiff => diversity[n],
                ScoreMode.VNorm => a[n] + vnorm[n],
                ScoreMode.KNorm => a[n] + knorm[n],
                ScoreMode.MixKV => r * diversity[n] + (1 - r) * (a[n] + vnorm[n]),
                ScoreMode.MixKVUniform => 0.33 * diversity[n] + 0.33 * a[n] + 0.33 * vnorm[n],
                _ => throw new ArgumentOutOfRangeException(nameof(options)),
            }).ToArray();
        }

        return result;
    }

    /// <summary>Section 5: null when the layer stays uncompressed, else cap_h clamped to [0, P].</summary>
    public static int[]? Caps(LayerData data, CompressionOptions options, LayerPosition layer)
    {
        int n = data.Tokens, w = options.Window, heads = data.KvHeads;
        if (n < w)
        {
            return null;
        }

        int p = n - w, baseCap = options.Budget - w;
        int[] caps;
        switch (options.Method)
        {
            case BudgetMethod.SnapKV:
                if (n < options.Budget)
                {
                    return null;
                }

                caps = Enumerable.Repeat(baseCap, heads).ToArray();
                break;
            case BudgetMethod.PyramidKV:
                int cap = PyramidCap(options.Budget, w, p, options.Beta, layer.Index, layer.Count);
                if (n < cap + w)
                {
                    return null;
                }

                caps = Enumerable.Repeat(cap, heads).ToArray();
                break;
            default:
                if (baseCap > p)
                {
                    return null;
                }

                caps = layer.Index < options.Skip
                    ? Enumerable.Repeat(baseCap, heads).ToArray()
                    : AdaKV(Attention(data, options), baseCap, options.FloorAlpha, options.Normalize);
                break;
        }

        return caps.Select(c => Math.Clamp(c, 0, p)).ToArray();
    }

    /// <summary>PyramidKV with Python's floor division written as Math.Floor of the real quotient.</summary>
    public static int PyramidCap(int budget, int w, int p, int beta, int l, int layers)
    {
        int baseCap = budget - w;
        int lo = (int)Math.Floor((double)baseCap / beta);
        int hi = 2 * baseCap - lo;
        if (hi >= p)
        {
            hi = p;
            lo = 2 * baseCap - hi;
        }

        int steps = layers == 1 ? 0 : (int)Math.Floor((double)(hi - lo) / (layers - 1));
        return hi - l * steps;
    }

    public static int[] AdaKV(double[][] attention, int baseCap, double alpha, bool normalize)
    {
        var pool = new List<(double Score, int Head, int Rank)>();
        for (int h = 0; h < attention.Length; h++)
        {
            double[] sorted = attention[h].OrderByDescending(x => x).ToArray();
            double factor = normalize ? sorted.Take(baseCap).Sum() / sorted.Sum() : 1.0;
            pool.AddRange(sorted.Select((x, rank) => (x * factor, h, rank)));
        }

        var counts = new int[attention.Length];
        foreach (var pick in pool.OrderByDescending(c => c.Score).ThenBy(c => c.Head).ThenBy(c => c.Rank).Take(attention.Length * baseCap))
        {
            counts[pick.Head]++;
        }

        double floor = Math.Floor(baseCap * alpha);
        return counts.Select(c => (int)Math.Round(c * (1 - alpha) + floor, MidpointRounding.ToEven)).ToArray();
    }

    /// <summary>Section 6: the cap largest scores, equal scores lower position first, returned ascending.</summary>
    public static int[] TopK(IReadOnlyList<double> scores, int cap) =>
        Enumerable.Range(0, scores.Count).OrderByDescending(n => scores[n]).ThenBy(n => n).Take(cap).Order().ToArray();

    public static double Dot(IReadOnlyList<float> a, IReadOnlyList<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Count; i++)
        {
            sum += (double)a[i] * b[i];
        }

        return sum;
    }

    private static double Dot(double[] a, double[] b) => a.Zip(b, (x, y) => x * y).Sum();

    private static double Norm(float[] x) => Math.Sqrt(Dot(x, x));

    private static double[] Unit(float[] k)
    {
        double norm = Math.Max(Norm(k), 1e-12);
        return k.Select(x => x / norm).ToArray();
    }

    private static double[] MeanUnitKey(float[][] keys)
    {
        var mu = new double[keys[0].Length];
        foreach (float[] k in keys)
        {
            double[] u = Unit(k);
            for (int i = 0; i < mu.Length; i++)
            {
                mu[i] += u[i] / keys.Length;
            }
        }

        return mu;
    }

    private static double[] MinMax(double[] x)
    {
        double min = x.Min(), max = x.Max();
        return Flat(min, max) ? new double[x.Length] : x.Select(v => (v - min) / (max - min)).ToArray();
    }

    /// <summary>A range within 1e-4 of the values' magnitude is rounding, not spread (SpecConstants.RoundingSpread, restated; k̂·μ's scale is 1, above).</summary>
    private static bool Flat(double min, double max) => max - min <= 1e-4 * Math.Max(Math.Abs(min), Math.Abs(max));
}
