namespace MixKV.Cli.Compress;

/// <summary>The tensor names of the file contract (spec section 9).</summary>
internal static class TensorNames
{
    public const string Keys = "keys";
    public const string Values = "values";
    public const string Queries = "queries";
    public const string HeadLens = "head_lens";
    public const string Positions = "positions";
    public const string Scores = "scores";

    public static string Of(int layer, string part) => $"layers.{layer}.{part}";
}
