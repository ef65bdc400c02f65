namespace MixKV.Options;

/// <summary>The final per-token score S[h, n] (spec section 4).</summary>
public enum ScoreMode
{
    /// <summary>S = A (the SnapKV/AdaKV/PyramidKV baselines).</summary>
    Attention,

    /// <summary>S = fit(diversity).</summary>
    KeyDiff,

    /// <summary>S = A + fit(vnorm).</summary>
    VNorm,

    /// <summary>S = A + fit(knorm) (ablation).</summary>
    KNorm,

    /// <summary>S = r·fit(diversity) + (1 - r)·(A + fit(vnorm)) — the paper's method.</summary>
    MixKV,

    /// <summary>S = 0.33·fit(diversity) + 0.33·A + 0.33·fit(vnorm) (ablation).</summary>
    MixKVUniform,
}
