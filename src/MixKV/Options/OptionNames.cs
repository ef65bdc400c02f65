namespace MixKV.Options;

/// <summary>The command-line spellings of the option enums (kept here so parsing and printing agree).</summary>
public static class OptionNames
{
    public static string Name(this BudgetMethod method) => method switch
    {
        BudgetMethod.SnapKV => "snapkv",
        BudgetMethod.PyramidKV => "pyramidkv",
        BudgetMethod.AdaKV => "adakv",
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    public static string Name(this ScoreMode mode) => mode switch
    {
        ScoreMode.Attention => "attention",
        ScoreMode.KeyDiff => "keydiff",
        ScoreMode.VNorm => "vnorm",
        ScoreMode.KNorm => "knorm",
        ScoreMode.MixKV => "mixkv",
        ScoreMode.MixKVUniform => "mixkv-uniform",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    public static string Name(this PoolingKind pooling) => pooling == PoolingKind.Avg ? "avg" : "max";

    public static string Name(this GqaReduction gqa) => gqa == GqaReduction.Mean ? "mean" : "max";

    public static bool TryParse(string text, out BudgetMethod method) => TryParseEnum(text, Enum.GetValues<BudgetMethod>(), Name, out method);

    public static bool TryParse(string text, out ScoreMode mode) => TryParseEnum(text, Enum.GetValues<ScoreMode>(), Name, out mode);

    public static bool TryParse(string text, out PoolingKind pooling) => TryParseEnum(text, Enum.GetValues<PoolingKind>(), Name, out pooling);

    public static bool TryParse(string text, out GqaReduction gqa) => TryParseEnum(text, Enum.GetValues<GqaReduction>(), Name, out gqa);

    private static bool TryParseEnum<T>(string text, T[] values, Func<T, string> name, out T result)
        where T : struct
    {
        foreach (T value in values)
        {
            if (string.Equals(name(value), text, StringComparison.OrdinalIgnoreCase))
            {
                result = value;
                return true;
            }
        }

        result = default;
        return false;
    }
}
