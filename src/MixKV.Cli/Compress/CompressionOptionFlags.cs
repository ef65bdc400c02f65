using MixKV.Options;

namespace MixKV.Cli.Compress;

/// <summary>
/// The command-line flag of each <see cref="CompressionOptions"/> property, so an
/// <see cref="ArgumentException"/> from the library (ParamName = property name) is reported under the
/// flag the user typed.
/// </summary>
internal static class CompressionOptionFlags
{
    private static readonly Dictionary<string, string> Flags = new(StringComparer.Ordinal)
    {
        [nameof(CompressionOptions.Method)] = "--method",
        [nameof(CompressionOptions.Score)] = "--score",
        [nameof(CompressionOptions.Budget)] = "--budget",
        [nameof(CompressionOptions.Window)] = "--window",
        [nameof(CompressionOptions.PoolingKernel)] = "--kernel",
        [nameof(CompressionOptions.Pooling)] = "--pooling",
        [nameof(CompressionOptions.Gqa)] = "--gqa",
        [nameof(CompressionOptions.FloorAlpha)] = "--floor-alpha",
        [nameof(CompressionOptions.Normalize)] = "--no-normalize",
        [nameof(CompressionOptions.Skip)] = "--skip",
        [nameof(CompressionOptions.Beta)] = "--beta",
        [nameof(CompressionOptions.Redundancy)] = "--redundancy",
        [nameof(CompressionOptions.CheckFinite)] = "--no-check-finite",
    };

    public static bool TryGetFlag(string propertyName, out string flag) => Flags.TryGetValue(propertyName, out flag!);
}
