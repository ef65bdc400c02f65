using MixKV.Fast;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Fast;

/// <summary>
/// The fast path's per-pass profile (`mixkv bench --per-pass`): every chunk of every head is counted
/// once in its pass, each thread's passes and wait add up to the pipeline's wall time exactly, the
/// traffic follows the shape, and timing changes nothing in the result.
/// </summary>
[TestFixture]
public sealed class PassProfileTests
{
    private static readonly string[] PassNames = ["key_stats", "value_norms", "scores_gemm", "scores_softmax", "merge", "mass", "after_mass"];

    /// <summary>
    /// A random layer whose last chunk holds only window keys (so the mass has one chunk fewer than
    /// the other passes): tokens = 4 whole chunks + a few, the window longer than those few.
    /// </summary>
    private static (LayerInputs Inputs, int KvHeads, int Chunks, int Groups, int Dim, int Window) Layer(TestRandom rng, DType dtype = DType.F32)
    {
        int kvHeads = rng.Int(2, 3), groups = 2, dim = 64, window = 16;
        int tokens = (4 * FastLayer.ChunkTokens) + rng.Int(1, window - 1);
        LayerData data = LayerData.Random(rng, kvHeads, groups, tokens, dim, window, dtype);
        return (data.Store(TensorLayout.Hnd).Inputs, kvHeads, 5, groups, dim, window);
    }

    private static CompressionOptions Options(int window) => new() { Method = BudgetMethod.AdaKV, Score = ScoreMode.MixKV, Budget = window + 40, Window = window };

    [Test]
    public void EveryChunkOfEveryHeadIsCountedOnceInItsPass()
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        (LayerInputs inputs, int heads, int chunks, _, _, int window) = Layer(rng);

        PipelineProfile profile = new FastCompressor { MaxDegreeOfParallelism = 2 }.ProfilePasses(inputs, Options(window), LayerPosition.Single, repeat: 2);

        Assert.That(profile.Threads, Is.EqualTo(2), rng.Tag);
        Assert.That(profile.Passes.Select(p => p.Pass), Is.EqualTo(PassNames), rng.Tag);
        var items = profile.Passes.ToDictionary(p => p.Pass, p => p.ItemsPerLayer);
        Assert.That(items["key_stats"], Is.EqualTo(heads * chunks), rng.Tag);
        Assert.That(items["value_norms"], Is.EqualTo(heads * chunks), rng.Tag);
        Assert.That(items["scores_gemm"], Is.EqualTo(heads * chunks), rng.Tag);
        Assert.That(items["scores_softmax"], Is.EqualTo(heads * chunks), rng.Tag);
        Assert.That(items["mass"], Is.EqualTo(heads * (chunks - 1)), $"the last chunk holds window keys only {rng.Tag}");
        Assert.That(items["merge"], Is.EqualTo(heads), rng.Tag);
        Assert.That(items["after_mass"], Is.EqualTo(heads), "pooling and the AdaKV sort, once a head " + rng.Tag);
        foreach (PassTime pass in profile.Passes)
        {
            Assert.That(pass.MedianMsPerThread, Has.Count.EqualTo(2).And.All.GreaterThanOrEqualTo(0), $"{pass.Pass} {rng.Tag}");
        }

        Assert.That(profile.Passes.Single(p => p.Pass == "scores_gemm").TotalMs, Is.GreaterThan(0), rng.Tag);
        Assert.That(profile.MedianIdleMsPerThread, Has.Count.EqualTo(2).And.All.GreaterThanOrEqualTo(0), rng.Tag);
        Assert.That(profile.MedianPipelineMs, Is.GreaterThan(0), rng.Tag);
    }

    /// <summary>Per repetition, each thread is either in an item or waiting, so the two add up to the periods' wall time to the tick.</summary>
    [Test]
    public void EachThreadsPassesAndWaitAddUpToThePipelinesWallTime([Values(1, 2)] int threads)
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        (LayerInputs inputs, _, _, _, _, int window) = Layer(rng);
        var recorder = new PassRecorder(threads);

        new FastCompressor { MaxDegreeOfParallelism = threads }.Run(inputs, Options(window), LayerPosition.Single, withScores: false, keepIntermediates: false, recorder);

        Assert.That(recorder.PeriodTicks, Is.GreaterThan(0), rng.Tag);
        for (int w = 0; w < threads; w++)
        {
            long busy = Enum.GetValues<PipelinePass>().Sum(pass => recorder.Ticks(pass, w));
            Assert.That(recorder.IdleTicks(w), Is.GreaterThanOrEqualTo(0), $"thread {w} {rng.Tag}");
            Assert.That(busy + recorder.IdleTicks(w), Is.EqualTo(recorder.PeriodTicks), $"thread {w} {rng.Tag}");
        }
    }

    [Test]
    public void TrafficFollowsTheShape([Values(DType.F32, DType.BF16)] DType dtype)
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        (LayerInputs inputs, int heads, _, int groups, int dim, int window) = Layer(rng, dtype);
        int tokens = inputs.Tokens, prefix = tokens - window;
        double rows = (double)heads * tokens * dim * dtype.Size();

        var pass = new FastCompressor().ProfilePasses(inputs, Options(window), LayerPosition.Single, repeat: 1).Passes.ToDictionary(p => p.Pass);

        Assert.That(pass["key_stats"].Bytes, Is.EqualTo(rows), rng.Tag);
        Assert.That(pass["value_norms"].Bytes, Is.EqualTo(rows), rng.Tag);
        Assert.That(pass["scores_gemm"].Bytes, Is.EqualTo(rows), rng.Tag);
        Assert.That(pass["scores_gemm"].Flop, Is.EqualTo(2.0 * heads * tokens * groups * window * dim), "the classical count " + rng.Tag);
        // The kept tile: written for every key, read back for the prefix; an entry is 3 bytes packed or 4 in fp32, per padded row.
        double tileRow = pass["scores_softmax"].Bytes / ((double)heads * tokens);
        Assert.That(tileRow, Is.EqualTo(3.0 * groups * window).Or.EqualTo(4.0 * groups * window), rng.Tag);
        Assert.That(pass["mass"].Bytes, Is.EqualTo(heads * prefix * tileRow), rng.Tag);
        Assert.That(pass["merge"].Bytes + pass["merge"].Flop + pass["after_mass"].Bytes + pass["after_mass"].Flop, Is.Zero, rng.Tag);
    }

    [Test]
    public void ProfilingChangesNothingInTheResult()
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        (LayerInputs inputs, _, _, _, _, int window) = Layer(rng);
        var compressor = new FastCompressor { MaxDegreeOfParallelism = 2 };

        CompressedLayer plain = compressor.Compress(inputs, Options(window), LayerPosition.Single, withScores: true);
        CompressedLayer timed = compressor.Run(inputs, Options(window), LayerPosition.Single, withScores: true, keepIntermediates: false, new PassRecorder(2)).Layer;

        Assert.That(timed.Kept.Positions, Is.EqualTo(plain.Kept.Positions), rng.Tag);
        Assert.That(timed.Kept.Scores, Is.EqualTo(plain.Kept.Scores), rng.Tag);
        Assert.That(timed.Keys, Is.EqualTo(plain.Keys), rng.Tag);
        Assert.That(timed.Values, Is.EqualTo(plain.Values), rng.Tag);
    }

    [Test]
    public void ALayerKeptWholeRunsNoPipeline()
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        (LayerInputs inputs, _, _, _, _, int window) = Layer(rng);
        var options = Options(window) with { Budget = inputs.Tokens + 1 };

        PipelineProfile profile = new FastCompressor().ProfilePasses(inputs, options, LayerPosition.Single, repeat: 1);

        Assert.That(profile.Passes, Is.Empty, rng.Tag);
        Assert.That(profile.MedianPipelineMs, Is.Zero, rng.Tag);
    }

    [Test]
    public void BadArgumentsThrowWhatCompressThrows()
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        (LayerInputs inputs, _, _, _, _, int window) = Layer(rng);
        var compressor = new FastCompressor();

        Assert.That(() => compressor.ProfilePasses(inputs, Options(window), LayerPosition.Single, repeat: 0),
            Throws.InstanceOf<ArgumentOutOfRangeException>().With.Property("ParamName").EqualTo("repeat"));
        var budgetBelowWindow = Options(window) with { Budget = window - 1 };
        Exception? expected = Assert.Catch(() => compressor.Compress(inputs, budgetBelowWindow, LayerPosition.Single));
        Exception? actual = Assert.Catch(() => compressor.ProfilePasses(inputs, budgetBelowWindow, LayerPosition.Single, repeat: 1));
        Assert.That(actual!.GetType(), Is.EqualTo(expected!.GetType()), rng.Tag);
        Assert.That(actual.Message, Is.EqualTo(expected.Message), rng.Tag);
    }
}
