using MixKV.Options;
using MixKV.Reference;
using NUnit.Framework;

namespace MixKV.Tests.Support;

/// <summary>
/// Spec section 8's contract for one invalid call: every entry point (out of place, dense and flattened
/// in place) throws an <see cref="ArgumentException"/> (or subclass) naming the argument and the rule,
/// and the caller's K, V and Q buffers are byte-identical afterwards.
/// </summary>
public static class Rejection
{
    public static void AssertRejected(StoredLayer stored, LayerInputs inputs, CompressionOptions options, LayerPosition layer, string parameter, string rule, string tag)
    {
        var compressor = new ReferenceCompressor();
        byte[][] before = stored.Snapshot();
        var calls = new (string Name, TestDelegate Call)[]
        {
            ("Compress", () => compressor.Compress(inputs, options, layer, withScores: true)),
            ("CompressInPlace(Dense)", () => compressor.CompressInPlace(inputs, options, layer, OutputLayout.Dense)),
            ("CompressInPlace(Flattened)", () => compressor.CompressInPlace(inputs, options, layer, OutputLayout.Flattened)),
        };

        foreach ((string name, TestDelegate call) in calls)
        {
            string where = $"{name} {tag}";
            ArgumentException? ex = Assert.Catch<ArgumentException>(call, where);
            Assert.That(ex!.ParamName, Is.EqualTo(parameter), $"{where}: ParamName ({ex.Message})");
            Assert.That(ex.Message, Does.Contain(rule).IgnoreCase, $"{where}: the message should state the rule");
            stored.AssertUnchanged(before, where);
        }
    }

    public static void AssertRejected(StoredLayer stored, CompressionOptions options, LayerPosition layer, string parameter, string rule, string tag) =>
        AssertRejected(stored, stored.Inputs, options, layer, parameter, rule, tag);
}
