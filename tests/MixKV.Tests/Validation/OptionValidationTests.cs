using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Validation;

/// <summary>Spec section 8, the option and layer rules: one case per rule, through every entry point.</summary>
[TestFixture]
public sealed class OptionValidationTests
{
    private static readonly CompressionOptions Valid = new() { Window = 4, Budget = 10 };

    private static IEnumerable<TestCaseData> InvalidOptions()
    {
        yield return Case("W = 0", Valid with { Window = 0 }, "Window", "window must be >= 1");
        yield return Case("W = -3", Valid with { Window = -3 }, "Window", "window must be >= 1");
        yield return Case("budget = W", Valid with { Budget = 4 }, "Budget", "budget must be greater than the window");
        yield return Case("budget < W", Valid with { Budget = 2 }, "Budget", "budget must be greater than the window");
        yield return Case("kernel even", Valid with { PoolingKernel = 4 }, "PoolingKernel", "odd");
        yield return Case("kernel 0", Valid with { PoolingKernel = 0 }, "PoolingKernel", "odd and >= 1");
        yield return Case("kernel -1", Valid with { PoolingKernel = -1 }, "PoolingKernel", "odd and >= 1");
        yield return Case("floor_alpha < 0", Valid with { FloorAlpha = -0.01 }, "FloorAlpha", "0 <= floor_alpha < 1");
        yield return Case("floor_alpha = 1", Valid with { FloorAlpha = 1.0 }, "FloorAlpha", "0 <= floor_alpha < 1");
        yield return Case("floor_alpha NaN", Valid with { FloorAlpha = double.NaN }, "FloorAlpha", "0 <= floor_alpha < 1");
        yield return Case("beta 0", Valid with { Beta = 0 }, "Beta", "beta must be >= 1");
        yield return Case("skip -1", Valid with { Skip = -1 }, "Skip", "skip must be >= 0");
        yield return Case("unknown method", Valid with { Method = (BudgetMethod)9 }, "Method", "unknown budget method");
        yield return Case("unknown score", Valid with { Score = (ScoreMode)9 }, "Score", "unknown score mode");
        yield return Case("unknown pooling", Valid with { Pooling = (PoolingKind)9 }, "Pooling", "unknown pooling");
        yield return Case("unknown gqa", Valid with { Gqa = (GqaReduction)9 }, "Gqa", "unknown GQA");
    }

    private static TestCaseData Case(string name, CompressionOptions options, string parameter, string rule) =>
        new TestCaseData(options, parameter, rule).SetName($"Rejects {name}");

    [TestCaseSource(nameof(InvalidOptions))]
    public void InvalidOption_IsRejectedBeforeAnyWrite(CompressionOptions options, string parameter, string rule)
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = LayerData.Random(rng, 2, 2, rng.Int(16, 40), 8, 6, DType.F16).Store(TensorLayout.Nhd);
        Rejection.AssertRejected(s, options, LayerPosition.Single, parameter, rule, rng.Tag);
    }

    [TestCase(0, 0, "L must be >= 1", TestName = "Rejects L = 0")]
    [TestCase(-1, 3, "0 <= l < L", TestName = "Rejects l = -1")]
    [TestCase(3, 3, "0 <= l < L", TestName = "Rejects l = L")]
    public void InvalidLayerPosition_IsRejected(int index, int count, string rule)
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = LayerData.Random(rng, 2, 1, rng.Int(16, 40), 8, 4, DType.F32).Store(TensorLayout.Hnd);
        Rejection.AssertRejected(s, Valid with { Method = BudgetMethod.PyramidKV }, new LayerPosition(index, count), "layer", rule, rng.Tag);
    }

    private static RedundancyTable Table(TestRandom rng, int layers, params int[] headsPerLayer) =>
        new(Enumerable.Range(0, layers).Select(l => (IReadOnlyList<double>)Enumerable.Range(0, headsPerLayer[l]).Select(_ => rng.Uniform(0, 1)).ToArray()).ToArray());

    [Test]
    public void RedundancyTable_LayerCountMustBeL()
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = LayerData.Random(rng, 2, 1, 30, 8, 4, DType.F32).Store(TensorLayout.Hnd);
        var options = Valid with { Redundancy = Table(rng, 2, 2, 2) };
        Rejection.AssertRejected(s, options, new LayerPosition(0, 3), "Redundancy", "layers", rng.Tag);
    }

    [Test]
    public void RedundancyTable_HeadCountMustBeHkv()
    {
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = LayerData.Random(rng, 2, 1, 30, 8, 4, DType.F32).Store(TensorLayout.Hnd);
        var options = Valid with { Redundancy = Table(rng, 3, 2, 3, 2) };
        Rejection.AssertRejected(s, options, new LayerPosition(1, 3), "Redundancy", "heads", rng.Tag);
    }

    [Test]
    public void RedundancyTable_EveryRowMustHaveHkvEntries()
    {
        // The shape rule is [L][Hkv] for the whole table, not only for the layer being compressed.
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = LayerData.Random(rng, 2, 1, 30, 8, 4, DType.F32).Store(TensorLayout.Hnd);
        var options = Valid with { Redundancy = Table(rng, 3, 2, 3, 2) };
        Rejection.AssertRejected(s, options, new LayerPosition(0, 3), "Redundancy", "heads", rng.Tag);
    }

    [TestCase(-0.001)]
    [TestCase(1.001)]
    [TestCase(double.NaN)]
    [TestCase(double.PositiveInfinity)]
    public void RedundancyTable_ValuesMustLieInZeroOne(double bad)
    {
        var rng = TestRandom.ForCurrentTest();
        var rows = new[] { new[] { rng.Uniform(0, 1), rng.Uniform(0, 1) }, new[] { rng.Uniform(0, 1), bad } };
        var ex = Assert.Catch<ArgumentException>(() => _ = new RedundancyTable(rows), rng.Tag);
        Assert.That(ex!.ParamName, Is.EqualTo("values"), rng.Tag);
        Assert.That(ex.Message, Does.Contain("[0, 1]").And.Contain("[1][1]"), rng.Tag);
    }

    [Test]
    public void RedundancyTable_EdgesZeroAndOneAreAccepted()
    {
        var table = new RedundancyTable([[0.0, 1.0]]);
        Assert.That(table[0, 0], Is.Zero);
        Assert.That(table[0, 1], Is.EqualTo(1.0));
    }

    [Test]
    public void RedundancyTable_NeedsAtLeastOneLayer()
    {
        var ex = Assert.Catch<ArgumentException>(() => _ = new RedundancyTable([]));
        Assert.That(ex!.ParamName, Is.EqualTo("values"));
    }

    [Test]
    public void Boundaries_AreAccepted()
    {
        // budget = W + 1, kernel 1, floor_alpha 0 and just below 1, beta 1, skip 0, l = L - 1.
        var rng = TestRandom.ForCurrentTest();
        StoredLayer s = LayerData.Random(rng, 2, 2, 30, 8, 4, DType.F32).Store(TensorLayout.Hnd);
        var compressor = new MixKV.Reference.ReferenceCompressor();
        foreach (CompressionOptions options in new[]
        {
            Valid with { Budget = 5, PoolingKernel = 1, FloorAlpha = 0, Beta = 1, Skip = 0 },
            Valid with { Method = BudgetMethod.AdaKV, FloorAlpha = 0.999 },
            Valid with { Method = BudgetMethod.PyramidKV, Beta = 1, Window = 1, Budget = 2 },
        })
        {
            Assert.That(() => compressor.Compress(s.Inputs, options, new LayerPosition(4, 5)), Throws.Nothing, rng.Say(options.ToString()));
        }
    }
}
