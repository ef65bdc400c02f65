namespace MixKV.Reference;

/// <summary>
/// Per-KV-head statistics from one pass over K and V (spec section 3), over the P prefix tokens
/// unless stated. Raw values: normalisation and fit() happen in <see cref="Mix"/>.
/// </summary>
public sealed class HeadStatistics
{
    public HeadStatistics(double[][] valueNorms, double[][] keyNorms, double[][] meanKeySimilarity, double[] redundancy)
    {
        ValueNorms = valueNorms;
        KeyNorms = keyNorms;
        MeanKeySimilarity = meanKeySimilarity;
        Redundancy = redundancy;
    }

    /// <summary>||V[h, n]||₂, [Hkv][P].</summary>
    public double[][] ValueNorms { get; }

    /// <summary>||K[h, n]||₂, [Hkv][P].</summary>
    public double[][] KeyNorms { get; }

    /// <summary>s[n] = k̂ₙ · μ with μ the mean of all N unit keys, [Hkv][P].</summary>
    public double[][] MeanKeySimilarity { get; }

    /// <summary>Online redundancy r_h = clamp((N·||μ||² - 1) / (N - 1), 0, 1), [Hkv].</summary>
    public double[] Redundancy { get; }
}
