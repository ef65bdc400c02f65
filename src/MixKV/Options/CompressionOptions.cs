namespace MixKV.Options;

/// <summary>
/// Everything that selects what a compression computes, with the spec's defaults. <see cref="Validate"/>
/// holds the option rules of spec section 8 in one place; shape rules live with the inputs.
/// </summary>
public sealed record CompressionOptions
{
    public BudgetMethod Method { get; init; } = BudgetMethod.SnapKV;

    public ScoreMode Score { get; init; } = ScoreMode.MixKV;

    /// <summary>Kept tokens per head including the window (spec section 1).</summary>
    public int Budget { get; init; } = SpecConstants.DefaultBudget;

    /// <summary>Observation window W: the last W prompt tokens, always kept.</summary>
    public int Window { get; init; } = SpecConstants.DefaultWindow;

    /// <summary>Pooling kernel size; odd and at least 1 (1 disables pooling).</summary>
    public int PoolingKernel { get; init; } = SpecConstants.DefaultPoolingKernel;

    public PoolingKind Pooling { get; init; } = PoolingKind.Avg;

    public GqaReduction Gqa { get; init; } = GqaReduction.Mean;

    /// <summary>AdaKV: share of each head's cap guaranteed before the global allocation, in [0, 1).</summary>
    public double FloorAlpha { get; init; } = SpecConstants.DefaultFloorAlpha;

    /// <summary>AdaKV: rescale each head's sorted scores by its top-budget share before allocating.</summary>
    public bool Normalize { get; init; } = true;

    /// <summary>AdaKV: layers below this index use SnapKV's uniform cap.</summary>
    public int Skip { get; init; }

    /// <summary>PyramidKV: ratio between the base budget and the smallest layer's cap.</summary>
    public int Beta { get; init; } = SpecConstants.DefaultBeta;

    /// <summary>Offline head redundancy r[layer][head]; null means the online estimate from the keys.</summary>
    public RedundancyTable? Redundancy { get; init; }

    /// <summary>Reject NaN/Inf in K, V and Qw (spec section 8). Switch off only for trusted inputs.</summary>
    public bool CheckFinite { get; init; } = true;

    /// <summary>Throws <see cref="ArgumentException"/> naming the option and the rule it breaks.</summary>
    public void Validate()
    {
        Require(Enum.IsDefined(Method), nameof(Method), $"unknown budget method {Method}");
        Require(Enum.IsDefined(Score), nameof(Score), $"unknown score mode {Score}");
        Require(Enum.IsDefined(Pooling), nameof(Pooling), $"unknown pooling {Pooling}");
        Require(Enum.IsDefined(Gqa), nameof(Gqa), $"unknown GQA reduction {Gqa}");
        Require(Window >= 1, nameof(Window), $"window must be >= 1 (got {Window})");
        Require(Budget > Window, nameof(Budget), $"budget must be greater than the window when compression is asked (budget {Budget}, window {Window})");
        Require(PoolingKernel >= 1 && PoolingKernel % 2 == 1, nameof(PoolingKernel), $"pooling kernel must be odd and >= 1 (got {PoolingKernel})");
        Require(FloorAlpha >= 0.0 && FloorAlpha < 1.0, nameof(FloorAlpha), $"floor_alpha must satisfy 0 <= floor_alpha < 1 (got {FloorAlpha})");
        Require(Beta >= 1, nameof(Beta), $"beta must be >= 1 (got {Beta})");
        Require(Skip >= 0, nameof(Skip), $"skip must be >= 0 (got {Skip})");
    }

    private static void Require(bool rule, string name, string message)
    {
        if (!rule)
        {
            throw new ArgumentException(message, name);
        }
    }
}
