using MixKV.Options;
using MixKV.Tensors;

namespace MixKV.Cli.Compress;

/// <summary>
/// Everything `mixkv compress` was asked to do. <paramref name="Redundancy"/> is "online" or the path of
/// an offline table, which <see cref="CompressRunner"/> loads into <see cref="CompressionOptions.Redundancy"/>.
/// </summary>
internal sealed record CompressRequest(
    string Input,
    string Output,
    CompressionOptions Options,
    string Redundancy,
    string Backend,
    bool WithScores,
    TensorLayout Layout);
