using MixKV.Options;
using MixKV.Reference;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Docs;

/// <summary>
/// The README's library example, compiled and run here (style point 14): the statements between the
/// markers below must appear verbatim in README.md, so the example a newcomer copies is one that works.
/// </summary>
[TestFixture]
public sealed class ReadmeExampleTests
{
    [Test]
    public void HostExampleIsInTheReadmeAndRuns()
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        int kvHeads = 2, queryHeads = 4, tokens = 300, dim = 32, window = 32, layerCount = 1;
        float[] keys = Random(rng, kvHeads * tokens * dim), values = Random(rng, kvHeads * tokens * dim), queries = Random(rng, queryHeads * window * dim);

        // README example begins
        var inputs = new LayerInputs(
            HeadTensor.FromArray(keys, DType.F32, TensorLayout.Hnd, kvHeads, tokens, dim),
            HeadTensor.FromArray(values, DType.F32, TensorLayout.Hnd, kvHeads, tokens, dim),
            HeadTensor.FromArray(queries, DType.F32, TensorLayout.Hnd, queryHeads, window, dim));
        var options = new CompressionOptions { Method = BudgetMethod.AdaKV, Budget = 128 };
        CompressedLayer layer = new ReferenceCompressor().Compress(inputs, options, new LayerPosition(0, layerCount));
        // README example ends

        Assert.That(layer.Kept.TotalTokens, Is.EqualTo(layer.Kept.HeadLens.Sum()).And.LessThan(kvHeads * tokens), rng.Tag);
        Assert.That(layer.Keys, Has.Length.EqualTo(layer.Kept.TotalTokens * dim * sizeof(float)), rng.Tag);
        Assert.That(ReadmeText(), Does.Contain(ExampleText()), "README.md must show the example exactly as this test runs it");
    }

    private static string ExampleText()
    {
        string source = File.ReadAllText(Path.Combine(RepositoryRoot(), "tests", "MixKV.Tests", "Docs", "ReadmeExampleTests.cs"));
        int start = source.IndexOf("// README example begins", StringComparison.Ordinal);
        int end = source.IndexOf("        // README example ends", StringComparison.Ordinal);
        string[] lines = source[start..end].Split('\n').Skip(1).Where(l => l.Trim().Length > 0).ToArray();
        return string.Join('\n', lines.Select(l => l.Length >= 8 ? l[8..].TrimEnd('\r') : l.Trim()));
    }

    private static string ReadmeText() => File.ReadAllText(Path.Combine(RepositoryRoot(), "README.md")).Replace("\r\n", "\n", StringComparison.Ordinal);

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "MixKV.Native.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("MixKV.Native.sln not found above the test assembly");
    }

    private static float[] Random(TestRandom rng, int count) => Enumerable.Range(0, count).Select(_ => (float)rng.Gaussian()).ToArray();
}
