namespace MixKV.Options;

/// <summary>Numbers of the spec (../shared/spec/MIXKV.md), named where they are defined.</summary>
public static class SpecConstants
{
    /// <summary>Section 1: default observation window W.</summary>
    public const int DefaultWindow = 32;

    /// <summary>Section 1: default kept tokens per head, window included (the paper's headline budget).</summary>
    public const int DefaultBudget = 64;

    /// <summary>Section 2: default pooling kernel (odd).</summary>
    public const int DefaultPoolingKernel = 5;

    /// <summary>Section 3: epsilon in fit(s) = s * mean(A) / (mean(s) + eps).</summary>
    public const double FitEpsilon = 1e-8;

    /// <summary>Section 3: the diversity min-max normalisation adds this to (max - min).</summary>
    public const double DiversityRangeEpsilon = 1e-8;

    /// <summary>
    /// Section 3, our deviation: a min-max normalisation whose range (max - min) is at most this
    /// fraction of its values' scale normalises to 0 for every token, as the spec's own deviation has
    /// it for max == min. The scale of a norm is max(|min|, |max|); that of k̂·μ is 1, the length of a
    /// unit key (|k̂·μ| &lt;= 1). Such a range is rounding, not spread: keys that all point one way
    /// (D = 1 with one sign, positive multiples of one vector) have exactly equal k̂·μ, keys whose unit
    /// vectors cancel (D = 1 with as many of each sign) have k̂·μ = 0, equal norms are equal, a prefix of
    /// one token has one value; yet each backend's rounding leaves ranges of 1e-16 (double) to ~1e-6
    /// (fp32, D 256) there, which the spec's (max - min + 1e-8) and fit's (mean + 1e-8) scale up to the
    /// size of A, differently in every backend. fp32 rounding of these values stays under ~1e-5 of
    /// their scale at the sizes we serve, so a genuine spread this small could not be resolved by the
    /// fp32 backends anyway. For the same reason an online r_h within this of 1 is 1: such keys have
    /// r_h = 1 exactly, and MixKV's (1 - r_h) weight would otherwise tell 1 - 1e-16 (double) from
    /// 1 - 6e-8 or 1 (fp32).
    /// </summary>
    public const double RoundingSpread = 1e-4;

    /// <summary>Whether norms spanning [min, max] are flat within <see cref="RoundingSpread"/> of their magnitude (all zero included).</summary>
    public static bool IsRoundingSpread(double min, double max) => IsRoundingSpread(min, max, Math.Max(Math.Abs(min), Math.Abs(max)));

    /// <summary>Whether values spanning [min, max] are flat within <see cref="RoundingSpread"/> of <paramref name="scale"/>.</summary>
    public static bool IsRoundingSpread(double min, double max, double scale) => max - min <= RoundingSpread * scale;

    /// <summary>The scale of k̂·μ for <see cref="IsRoundingSpread(double, double, double)"/>: a unit key's length.</summary>
    public const double SimilarityScale = 1.0;

    /// <summary>Section 3: keys are normalised by max(||k||, this).</summary>
    public const double KeyNormFloor = 1e-12;

    /// <summary>Section 4: weight of each term in the mixkv-uniform ablation.</summary>
    public const double UniformMixWeight = 0.33;

    /// <summary>Section 5: AdaKV default floor_alpha.</summary>
    public const double DefaultFloorAlpha = 0.2;

    /// <summary>Section 5: PyramidKV default beta.</summary>
    public const int DefaultBeta = 20;
}
