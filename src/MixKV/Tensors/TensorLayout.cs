namespace MixKV.Tensors;

/// <summary>
/// Where the head axis sits relative to the token axis (spec section 1). The algorithm only ever sees
/// strides; the layout names the two stride patterns engines use.
/// </summary>
public enum TensorLayout
{
    /// <summary>[heads, tokens, dim]: head stride = tokens * dim, token stride = dim.</summary>
    Hnd,

    /// <summary>[tokens, heads, dim]: token stride = heads * dim, head stride = dim.</summary>
    Nhd,
}
