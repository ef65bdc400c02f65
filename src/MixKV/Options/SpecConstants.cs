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

    /// <summary>Section 3: keys are normalised by max(||k||, this).</summary>
    public const double KeyNormFloor = 1e-12;

    /// <summary>Section 4: weight of each term in the mixkv-uniform ablation.</summary>
    public const double UniformMixWeight = 0.33;

    /// <summary>Section 5: AdaKV default floor_alpha.</summary>
    public const double DefaultFloorAlpha = 0.2;

    /// <summary>Section 5: PyramidKV default beta.</summary>
    public const int DefaultBeta = 20;
}
