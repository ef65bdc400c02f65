namespace MixKV.Options;

/// <summary>How the G query heads of one KV head are combined (spec section 2).</summary>
public enum GqaReduction
{
    Mean,
    Max,
}
