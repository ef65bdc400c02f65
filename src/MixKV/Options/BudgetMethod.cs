namespace MixKV.Options;

/// <summary>How the per-head prefix budget is allocated (spec section 5).</summary>
public enum BudgetMethod
{
    /// <summary>Uniform cap = budget - window for every head.</summary>
    SnapKV,

    /// <summary>Caps shrink linearly with depth (pyramid over layers).</summary>
    PyramidKV,

    /// <summary>Caps follow each head's share of the layer's top attention mass.</summary>
    AdaKV,
}
