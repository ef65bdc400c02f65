namespace MixKV.Options;

/// <summary>1-D pooling of the importance over prefix positions (spec section 2).</summary>
public enum PoolingKind
{
    /// <summary>Average; always divides by the kernel size (padding counts as zeros).</summary>
    Avg,

    /// <summary>Maximum; padding is ignored.</summary>
    Max,
}
