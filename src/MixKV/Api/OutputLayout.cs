namespace MixKV;

/// <summary>How kept rows are laid out (spec section 7).</summary>
public enum OutputLayout
{
    /// <summary>[T, D] head-major with head_lens/cu_lens; works for any caps (AdaKV).</summary>
    Flattened,

    /// <summary>[Hkv, cap + W, D] with the input's strides; needs the same cap for every head.</summary>
    Dense,
}
