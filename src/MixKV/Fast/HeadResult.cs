namespace MixKV.Fast;

/// <summary>What the chunk passes leave for one KV head (spec sections 2 and 3), all over the prefix unless stated.</summary>
internal sealed class HeadResult
{
    public HeadResult(int tokens, int prefix)
    {
        KeyNorms = new double[tokens];
        ValueNorms = new double[prefix];
        Similarity = new double[prefix];
        Mass = new double[prefix];
    }

    /// <summary>||K[h, n]||₂ for all N tokens (the similarity needs them; the mix reads the prefix).</summary>
    public double[] KeyNorms { get; }

    public double[] ValueNorms { get; }

    /// <summary>s[n] = k̂ₙ · μ.</summary>
    public double[] Similarity { get; }

    /// <summary>GQA-reduced attention mass before pooling.</summary>
    public double[] Mass { get; }

    /// <summary>Online redundancy r_h (clamped).</summary>
    public double Redundancy { get; set; }
}
