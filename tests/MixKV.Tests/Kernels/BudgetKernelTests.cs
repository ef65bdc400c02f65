using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Options;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;
using K = MixKV.Kernels;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Kernels;

/// <summary>kernels/budget.cu (spec section 5): AdaKV head shares and allocation on the device, head lengths and cu_lens.</summary>
[TestFixture]
[Category("TsanSmall")] // small shapes: also run once under ThreadSanitizer (build.cake TsanCheck)
[NonParallelizable]
public sealed class BudgetKernelTests : EmulatedKernelFixture
{
    /// <summary>
    /// Without normalisation every scaled score is A itself (factor exactly 1), so the device caps must
    /// equal Budget.AdaKVCaps exactly, planted cross-head ties included (lower head first).
    /// </summary>
    [Test]
    public void UnnormalisedCapsEqualTheReferenceExactly([Values(1, 3, 8)] int heads)
    {
        TestRandom rng = KernelCheck.Seeded();
        for (int trial = 0; trial < 8; trial++)
        {
            int prefix = rng.Int(1, 400), baseCap = rng.Int(1, prefix);
            double alpha = rng.Pick([0.0, 0.2, 0.5, rng.Uniform(0, 0.95)]);
            float[] attention = PlantedTies(rng, heads, prefix);
            string say = rng.Say($"trial {trial}: Hkv {heads} P {prefix} base {baseCap} alpha {alpha}");
            (int[] caps, float[] factor) = Allocate(attention, heads, prefix, baseCap, alpha, normalize: false);
            Assert.That(factor, Is.All.EqualTo(1f), $"{say}: factor without normalisation");
            Assert.That(caps, Is.EqualTo(ReferenceCaps(attention, heads, prefix, baseCap, alpha, false)), say);
        }
    }

    /// <summary>
    /// With normalisation: each head's factor sum(top base)/sum(all) within 1e-6 relative (1e-4 percent) of double, and the caps
    /// equal the reference unless the reference allocation's cut is a near-tie (1e-5 of the largest score).
    /// Both forms of the shares' selection (radix passes over the grid, or span candidates and a merge).
    /// </summary>
    [Test]
    public void NormalisedCapsMatchTheReference([Values(2, 5)] int heads, [Values] bool candidateShares)
    {
        TestRandom rng = KernelCheck.Seeded();
        for (int trial = 0; trial < 8; trial++)
        {
            int prefix = rng.Int(2, 600), baseCap = rng.Int(1, prefix);
            double alpha = rng.Pick([0.0, 0.2, rng.Uniform(0, 0.95)]);
            float[] attention = PlantedTies(rng, heads, prefix);
            string say = rng.Say($"trial {trial}: Hkv {heads} P {prefix} base {baseCap} alpha {alpha}, shares {(candidateShares ? "candidates" : "grid")}");
            (int[] caps, float[] factor) = Allocate(attention, heads, prefix, baseCap, alpha, normalize: true, candidateShares ? K.Select.Form.Candidates : K.Select.Form.Grid);
            double[][] rows = KernelCheck.Rows(attention, heads, prefix);
            for (int h = 0; h < heads; h++)
            {
                double[] sorted = rows[h].OrderByDescending(x => x).ToArray();
                Assert.That(factor[h], Is.EqualTo(sorted.Take(baseCap).Sum() / sorted.Sum()).Within(1e-4).Percent, $"{say}: factor[{h}]");
            }

            AssertNormalisedCaps(caps, attention, heads, prefix, baseCap, alpha, say);
        }
    }

    /// <summary>
    /// base = P, the largest base that compresses: every head's top base is all of it, so each factor is
    /// 1 (within the same 1e-6), in both forms of the shares (the candidate form takes no candidates
    /// then), across more than one span of either form.
    /// </summary>
    [Test]
    public void BaseOfEveryScoreGivesFactorsOfOne([Values] bool candidateShares)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = rng.Int(2, 4), prefix = rng.Int(2, 5000);
        double alpha = rng.Pick([0.0, 0.2, rng.Uniform(0, 0.95)]);
        float[] attention = PlantedTies(rng, heads, prefix);
        string say = rng.Say($"Hkv {heads} P {prefix} = base, alpha {alpha}, shares {(candidateShares ? "candidates" : "grid")}");
        (int[] caps, float[] factor) = Allocate(attention, heads, prefix, prefix, alpha, normalize: true, candidateShares ? K.Select.Form.Candidates : K.Select.Form.Grid);
        Assert.That(factor, Is.All.EqualTo(1.0).Within(1e-4).Percent, say);
        AssertNormalisedCaps(caps, attention, heads, prefix, prefix, alpha, say);
    }

    /// <summary>The normalised caps equal the reference's unless its allocation's cut is a near-tie (1e-5 of the largest scaled score).</summary>
    private static void AssertNormalisedCaps(int[] caps, float[] attention, int heads, int prefix, int baseCap, double alpha, string say)
    {
        int[] expected = ReferenceCaps(attention, heads, prefix, baseCap, alpha, true);
        if (!caps.SequenceEqual(expected))
        {
            double[] pool = PipelineKernelTests.ScaledPool(KernelCheck.Rows(attention, heads, prefix), baseCap, true);
            int take = heads * baseCap;
            Assert.That(take < pool.Length && pool[take - 1] - pool[take] <= 1e-5 * pool[0], $"{say}: caps [{string.Join(",", caps)}] vs reference [{string.Join(",", expected)}] without a near-tie at the cut");
        }
    }

    /// <summary>
    /// Heads of several blocks each (kernels/adakv.cu gives a block 2048 keys of one head, so a block's
    /// histogram is part of a head's, and a head's share sums come from several blocks): the caps
    /// equal the reference exactly without normalisation; with it, the factors agree as above, the
    /// shares' candidate form over two spans of 4096.
    /// </summary>
    [Test]
    public void HeadsSpanningSeveralBlocksMatchTheReference([Values] bool normalize, [Values] bool candidateShares)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = rng.Int(2, 4), prefix = rng.Int(2 * K.RadixGrid.Span + 1, 3 * K.RadixGrid.Span), baseCap = rng.Int(1, prefix);
        double alpha = rng.Pick([0.0, 0.2, rng.Uniform(0, 0.95)]);
        float[] attention = PlantedTies(rng, heads, prefix);
        string say = rng.Say($"Hkv {heads} P {prefix} base {baseCap} alpha {alpha} normalise {normalize}, shares {(candidateShares ? "candidates" : "grid")}");
        (int[] caps, float[] factor) = Allocate(attention, heads, prefix, baseCap, alpha, normalize, candidateShares ? K.Select.Form.Candidates : K.Select.Form.Grid);
        if (!normalize)
        {
            Assert.That(caps, Is.EqualTo(ReferenceCaps(attention, heads, prefix, baseCap, alpha, false)), say);
            return;
        }

        double[][] rows = KernelCheck.Rows(attention, heads, prefix);
        for (int h = 0; h < heads; h++)
        {
            double[] sorted = rows[h].OrderByDescending(x => x).ToArray();
            Assert.That(factor[h], Is.EqualTo(sorted.Take(baseCap).Sum() / sorted.Sum()).Within(1e-4).Percent, $"{say}: factor[{h}]");
        }

        AssertNormalisedCaps(caps, attention, heads, prefix, baseCap, alpha, say);
    }

    /// <summary>
    /// By hand: Hkv 3, P 6, base 2 (take 6), no normalisation. The largest value a occurs once in head 0
    /// and three times in heads 1 and 2: seven copies compete for six places, lower head first, so the
    /// counts are 1, 3, 2. alpha 0: caps 1, 3, 2. alpha 0.5: floor(2*0.5) = 1, caps round(1.5) = 2,
    /// round(2.5) = 2 (half to even), round(2) = 2.
    /// </summary>
    [TestCase(0.0, new[] { 1, 3, 2 })]
    [TestCase(0.5, new[] { 2, 2, 2 })]
    public void CrossHeadTiesGoToTheLowerHead(double alpha, int[] expected)
    {
        TestRandom rng = KernelCheck.Seeded();
        float a = (float)rng.Uniform(0.5, 1);
        float[] Smaller() => Enumerable.Range(0, 6).Select(_ => (float)rng.Uniform(0, 0.4)).ToArray();
        float[] head0 = Smaller(), head1 = Smaller(), head2 = Smaller();
        head0[rng.Int(0, 5)] = a;
        foreach (float[] head in new[] { head1, head2 })
        {
            int[] at = Enumerable.Range(0, 6).ToArray();
            rng.Shuffle(at);
            head[at[0]] = head[at[1]] = head[at[2]] = a;
        }

        float[] attention = [.. head0, .. head1, .. head2];
        (int[] caps, _) = Allocate(attention, 3, 6, 2, alpha, normalize: false);
        Assert.That(caps, Is.EqualTo(expected), rng.Say($"a = {a}"));
        Assert.That(ReferenceCaps(attention, 3, 6, 2, alpha, false), Is.EqualTo(expected), "the reference agrees with the hand count");
    }

    [Test]
    public void HeadLengthsAndCuLens([Values] bool deviceCaps)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = rng.Int(1, 40), window = rng.Int(1, 64), uniform = rng.Int(0, 500);
        int[] caps = Enumerable.Range(0, heads).Select(_ => rng.Int(0, 500)).ToArray();
        using var capsBuffer = DeviceRegion.Of<int>(backend.Runtime, caps);
        using var headLens = new DeviceRegion(backend.Runtime, heads * sizeof(int));
        using var cuLens = new DeviceRegion(backend.Runtime, (heads + 1) * sizeof(int));

        K.Budget.EnqueueHeadLengths(backend.Runtime, heads, deviceCaps ? capsBuffer.Pointer : null, uniform, window, headLens.Pointer, cuLens.Pointer);

        int[] lens = (deviceCaps ? caps : Enumerable.Repeat(uniform, heads).ToArray()).Select(c => c + window).ToArray();
        string say = rng.Say($"Hkv {heads} W {window}");
        Assert.That(headLens.Read<int>(heads), Is.EqualTo(lens), $"{say}: head_lens");
        Assert.That(cuLens.Read<int>(heads + 1), Is.EqualTo(PipelineKernelTests.Prefix(lens)), $"{say}: cu_lens");
        Assert.That(capsBuffer.Read<int>(heads), Is.EqualTo(caps), $"{say}: caps are read only");
        headLens.AssertGuardsIntact(say);
        cuLens.AssertGuardsIntact(say);
        capsBuffer.AssertGuardsIntact(say);
    }

    /// <summary>Random softmax-like masses, with a few values copied across heads and within a head (exact ties).</summary>
    private static float[] PlantedTies(TestRandom rng, int heads, int prefix)
    {
        float[] attention = Enumerable.Range(0, heads * prefix).Select(_ => (float)Math.Exp(rng.Uniform(-10, 0))).ToArray();
        for (int i = 0; i < 1 + heads * prefix / 10; i++)
        {
            attention[rng.Int(0, attention.Length - 1)] = attention[rng.Int(0, attention.Length - 1)];
        }

        return attention;
    }

    private static int[] ReferenceCaps(float[] attention, int heads, int prefix, int baseCap, double alpha, bool normalize) =>
        Ref.Budget.AdaKVCaps(KernelCheck.Rows(attention, heads, prefix), baseCap, alpha, normalize).Select(c => Math.Clamp(c, 0, prefix)).ToArray();

    private (int[] Caps, float[] Factor) Allocate(float[] attention, int heads, int prefix, int baseCap, double alpha, bool normalize, K.Select.Form? shares = null)
    {
        using var stage = new StageHarness(backend, heads, heads, prefix + 1, 4, 1);
        K.KernelWorkspace ws = stage.Workspace;
        stage.Runtime.CopyToDevice(MemoryMarshal.AsBytes(attention.AsSpan()), ws.Attention);
        var options = new CompressionOptions { FloorAlpha = alpha, Normalize = normalize };

        K.Budget.EnqueueAdaKV(stage.Runtime, heads, prefix, baseCap, options, ws, shares);

        stage.AssertWroteOnly("adakv", (ws.Attention, heads * prefix), (ws.Factor, heads), (ws.Caps, heads),
            (ws.AdakvHistograms, K.KernelWorkspace.AdakvHistogramWords(heads)), (ws.AdakvShareSums, 2L * heads * K.RadixGrid.Blocks(prefix)), (ws.AdakvHeadCounts, 2L * heads),
            (ws.SelectScratch, K.Select.ScratchBytes(heads, prefix) / sizeof(int)));
        Assert.That(stage.Floats(ws.Attention, heads * prefix), Is.EqualTo(attention), "A is read only");
        var caps = new int[heads];
        stage.Runtime.CopyToHost(ws.Caps, MemoryMarshal.AsBytes(caps.AsSpan()));
        return (caps, stage.Floats(ws.Factor, heads));
    }
}
