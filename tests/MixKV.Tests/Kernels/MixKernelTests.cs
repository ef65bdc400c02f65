using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Options;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;
using K = MixKV.Kernels;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Kernels;

/// <summary>kernels/mix.cu (spec sections 3 and 4): S of the six modes from A, norms, k^.mu and r_h.</summary>
[TestFixture]
[Category("TsanSmall")] // small shapes: also run once under ThreadSanitizer (build.cake TsanCheck)
[NonParallelizable]
public sealed class MixKernelTests : EmulatedKernelFixture
{
    /// <summary>Random stage inputs (fp32 on the device) against Reference.Mix on the same values in double.</summary>
    [Test]
    public void RandomInputsMatchTheReference([Values] ScoreMode mode, [Values(1, 37, 1300)] int prefix)
    {
        TestRandom rng = KernelCheck.Seeded();
        Inputs inputs = Inputs.Random(rng, rng.Int(1, 5), prefix);
        float[] scores = Run(inputs, mode);
        double[][] expected = Expected(inputs, mode);
        KernelCheck.AssertClose(scores, expected, KernelCheck.F32Tolerance, rng.Say($"{mode.Name()} P {prefix}"), floorFraction: 1);
    }

    /// <summary>
    /// Equal value norms within a head normalise to 0 (spec deviation), so vnorm adds exactly nothing:
    /// S(vnorm) == A bit for bit; the same for knorm with equal key norms, and mixkv with r = 0 is A too.
    /// </summary>
    [Test]
    public void ConstantNormsAddNothing()
    {
        TestRandom rng = KernelCheck.Seeded();
        Inputs inputs = Inputs.Random(rng, 3, rng.Int(20, 600));
        for (int h = 0; h < inputs.Heads; h++)
        {
            float v = (float)rng.Uniform(0.5, 5), k = (float)rng.Uniform(0.5, 5);
            inputs.ValueNorms.AsSpan(h * inputs.Prefix, inputs.Prefix).Fill(v);
            inputs.KeyNorms.AsSpan(h * inputs.Prefix, inputs.Prefix).Fill(k);
        }

        Array.Clear(inputs.Redundancy);
        string say = rng.Say($"P {inputs.Prefix}");
        Assert.That(Run(inputs, ScoreMode.VNorm), Is.EqualTo(inputs.Attention), $"{say}: vnorm with constant value norms");
        Assert.That(Run(inputs, ScoreMode.KNorm), Is.EqualTo(inputs.Attention), $"{say}: knorm with constant key norms");
        Assert.That(Run(inputs, ScoreMode.MixKV), Is.EqualTo(inputs.Attention), $"{say}: mixkv with r = 0 and constant value norms");
        Assert.That(Run(inputs, ScoreMode.Attention), Is.EqualTo(inputs.Attention), $"{say}: attention is A");
    }

    /// <summary>
    /// Nearly every token at the minimum of its score and one to three far above it (most keys along
    /// one direction, a few against it; most values of one length, a few much longer): mean(x) - min(x),
    /// which fit() needs, is then ~1e-3 of |min|. Summed as raw values that difference kept only
    /// ~6e-8 · |min| / (mean - min) of relative precision, up to ~1e-4; mix.cu sums above the minima.
    /// </summary>
    [Test]
    public void FewTokensFarAboveTheMinimumKeepFitPrecise([Values(ScoreMode.KeyDiff, ScoreMode.VNorm, ScoreMode.KNorm, ScoreMode.MixKV, ScoreMode.MixKVUniform)] ScoreMode mode, [Values(1300, 4000)] int prefix)
    {
        TestRandom rng = KernelCheck.Seeded();
        Inputs inputs = Inputs.Random(rng, rng.Int(1, 3), prefix);
        for (int h = 0; h < inputs.Heads; h++)
        {
            float near = (float)rng.Uniform(0.5, 0.95), length = (float)rng.Uniform(0.5, 3);
            int far = rng.Int(1, 3), offset = rng.Int(0, prefix - 1);
            for (int n = 0; n < prefix; n++)
            {
                bool away = (n + offset) % prefix < far;
                int at = h * prefix + n;
                inputs.Similarity[at] = away ? -near : near;  // d = -s: the few far tokens are the max
                inputs.ValueNorms[at] = away ? 20 * length : length;
                inputs.KeyNorms[at] = away ? length / 20 : length;  // knorm's x = -||k||
            }
        }

        float[] scores = Run(inputs, mode);
        KernelCheck.AssertClose(scores, Expected(inputs, mode), KernelCheck.F32Tolerance, rng.Say($"{mode.Name()} P {prefix}"), floorFraction: 1);
    }

    /// <summary>r = 1 leaves only the diversity term: mixkv equals keydiff bit for bit.</summary>
    [Test]
    public void FullRedundancyIsPureDiversity()
    {
        TestRandom rng = KernelCheck.Seeded();
        Inputs inputs = Inputs.Random(rng, 2, rng.Int(20, 600));
        inputs.Redundancy.AsSpan().Fill(1f);
        Assert.That(Run(inputs, ScoreMode.MixKV), Is.EqualTo(Run(inputs, ScoreMode.KeyDiff)), rng.Say($"P {inputs.Prefix}"));
    }

    /// <summary>
    /// mix_partials pooling the raw mass as it reads it (the pipeline's form, no window_pool launch)
    /// writes the A that window_pool writes, bit for bit, and the same S; A is the reference pooling
    /// within the fp32 tolerance. Both kinds, kernels 1 to 9, prefixes shorter than the kernel too.
    /// </summary>
    [Test]
    public void PoolingAsItReadsEqualsWindowPool([Values] PoolingKind pooling, [Values(1, 3, 7, 9)] int kernel)
    {
        TestRandom rng = KernelCheck.Seeded();
        Inputs inputs = Inputs.Random(rng, rng.Int(1, 4), rng.Int(1, 3) == 1 ? rng.Int(1, kernel) : rng.Int(kernel + 1, 1300));
        var options = new CompressionOptions { Pooling = pooling, PoolingKernel = kernel };
        string say = rng.Say($"{pooling.Name()} kernel {kernel} P {inputs.Prefix} heads {inputs.Heads}");
        (float[] pooledApart, float[] scoresApart) = RunPooled(inputs, options, fused: false);
        (float[] pooledFused, float[] scoresFused) = RunPooled(inputs, options, fused: true);
        Assert.That(pooledFused, Is.EqualTo(pooledApart), $"{say}: A");
        Assert.That(scoresFused, Is.EqualTo(scoresApart), $"{say}: S");
        double[][] expected = Enumerable.Range(0, inputs.Heads)
            .Select(h => Ref.WindowScores.Pool(inputs.Attention.Skip(h * inputs.Prefix).Take(inputs.Prefix).Select(v => (double)v).ToArray(), pooling, kernel)).ToArray();
        KernelCheck.AssertClose(pooledFused, expected, KernelCheck.F32Tolerance, $"{say}: A against the reference pooling", floorFraction: 1);
    }

    /// <summary>The raw mass (inputs.Attention) pooled by window_pool then mixed, or pooled by mix_partials: A and S.</summary>
    private (float[] Pooled, float[] Scores) RunPooled(Inputs inputs, CompressionOptions options, bool fused)
    {
        using StageHarness stage = Stage(inputs, rawMass: true);
        K.KernelWorkspace ws = stage.Workspace;
        if (!fused)
        {
            stage.Runtime.Launch("window_pool", K.Launch.Config(K.Launch.Blocks(inputs.Prefix, K.BlockSizes.WindowPool), (uint)inputs.Heads, K.BlockSizes.WindowPool), new K.WindowPoolParams
            {
                Raw = ws.RawAttention.Address,
                Pooled = ws.Attention.Address,
                Prefix = inputs.Prefix,
                Kernel = options.PoolingKernel,
                PoolMax = options.Pooling == PoolingKind.Max ? 1 : 0,
            });
        }

        K.Mix.Enqueue(stage.Runtime, inputs.Heads, inputs.Prefix, ScoreMode.MixKV, ws.OnlineRedundancy, ws, poolFrom: fused ? options : null);
        stage.AssertWroteOnly("pool and mix", (ws.Scores, inputs.Heads * inputs.Prefix), (ws.Attention, inputs.Heads * inputs.Prefix), (ws.RawAttention, inputs.Heads * inputs.Prefix),
            (ws.KeyNorm, inputs.Heads * inputs.Prefix), (ws.ValueNorm, inputs.Heads * inputs.Prefix), (ws.Similarity, inputs.Heads * inputs.Prefix), (ws.OnlineRedundancy, inputs.Heads),
            (ws.MixPartials, inputs.Heads * K.Mix.MaxBlocksPerHead * K.Mix.PartialFields));
        return (stage.Floats(ws.Attention, inputs.Heads * inputs.Prefix), stage.Floats(ws.Scores, inputs.Heads * inputs.Prefix));
    }

    private static double[][] Expected(Inputs inputs, ScoreMode mode)
    {
        var result = new double[inputs.Heads][];
        for (int h = 0; h < inputs.Heads; h++)
        {
            double[] Row(float[] x) => x.Skip(h * inputs.Prefix).Take(inputs.Prefix).Select(v => (double)v).ToArray();
            result[h] = Ref.Mix.ComputeHead(mode, Row(inputs.Attention), Row(inputs.ValueNorms), Row(inputs.KeyNorms), Row(inputs.Similarity), inputs.Redundancy[h]);
        }

        return result;
    }

    private float[] Run(Inputs inputs, ScoreMode mode)
    {
        using StageHarness stage = Stage(inputs, rawMass: false);
        K.KernelWorkspace ws = stage.Workspace;
        byte[] before = stage.WorkspaceBuffer.Span.ToArray();

        K.Mix.Enqueue(stage.Runtime, inputs.Heads, inputs.Prefix, mode, ws.OnlineRedundancy, ws);

        // Only S and the partials' scratch change: the inputs and every other byte of the workspace are as before.
        Span<byte> after = stage.WorkspaceBuffer.Span;
        long sStart = (long)(ws.Scores.Address - stage.WorkspaceBuffer.Pointer.Address), sEnd = sStart + inputs.Heads * inputs.Prefix * sizeof(float);
        long pStart = (long)(ws.MixPartials.Address - stage.WorkspaceBuffer.Pointer.Address), pEnd = pStart + ((long)inputs.Heads * K.Mix.MaxBlocksPerHead * K.Mix.PartialFields * sizeof(float));
        for (int i = 0; i < after.Length; i++)
        {
            if ((i < sStart || i >= sEnd) && (i < pStart || i >= pEnd) && after[i] != before[i])
            {
                Assert.Fail($"the mix kernels wrote workspace byte {i} outside S and their partials");
            }
        }

        stage.AssertWroteOnly("mix", (ws.Scores, inputs.Heads * inputs.Prefix), (ws.Attention, inputs.Heads * inputs.Prefix), (ws.KeyNorm, inputs.Heads * inputs.Prefix),
            (ws.ValueNorm, inputs.Heads * inputs.Prefix), (ws.Similarity, inputs.Heads * inputs.Prefix), (ws.OnlineRedundancy, inputs.Heads),
            (ws.MixPartials, inputs.Heads * K.Mix.MaxBlocksPerHead * K.Mix.PartialFields));
        return stage.Floats(ws.Scores, inputs.Heads * inputs.Prefix);
    }

    /// <summary>A workspace holding the inputs: inputs.Attention as A, or as the raw mass that pooling turns into A.</summary>
    private StageHarness Stage(Inputs inputs, bool rawMass)
    {
        var stage = new StageHarness(backend, inputs.Heads, inputs.Heads, inputs.Prefix + 1, 4, 1);
        K.KernelWorkspace ws = stage.Workspace;
        Copy(stage, inputs.Attention, rawMass ? ws.RawAttention : ws.Attention);
        Copy(stage, inputs.KeyNorms, ws.KeyNorm);
        Copy(stage, inputs.ValueNorms, ws.ValueNorm);
        Copy(stage, inputs.Similarity, ws.Similarity);
        Copy(stage, inputs.Redundancy, ws.OnlineRedundancy);
        return stage;
    }

    private static void Copy(StageHarness stage, float[] values, DevicePointer to) => stage.Runtime.CopyToDevice(MemoryMarshal.AsBytes(values.AsSpan()), to);

    private sealed record Inputs(int Heads, int Prefix, float[] Attention, float[] KeyNorms, float[] ValueNorms, float[] Similarity, float[] Redundancy)
    {
        /// <summary>A: positive, spread over decades like softmax mass; norms positive; k^.mu in [-1, 1]; r in [0, 1].</summary>
        public static Inputs Random(TestRandom rng, int heads, int prefix)
        {
            int cells = heads * prefix;
            float[] Draw(Func<float> f) => Enumerable.Range(0, cells).Select(_ => f()).ToArray();
            return new Inputs(heads, prefix,
                Draw(() => (float)Math.Exp(rng.Uniform(-12, -1))),
                Draw(() => (float)rng.Uniform(0.2, 12)),
                Draw(() => (float)rng.Uniform(0.2, 12)),
                Draw(() => (float)rng.Uniform(-1, 1)),
                Enumerable.Range(0, heads).Select(_ => (float)rng.Uniform(0, 1)).ToArray());
        }
    }
}
