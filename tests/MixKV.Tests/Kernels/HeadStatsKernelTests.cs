using MixKV.Device;
using MixKV.Tensors;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;
using K = MixKV.Kernels;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Kernels;

/// <summary>kernels/head_stats.cu (spec section 3): key partials, mean unit key, online redundancy, per-token norms and k^.mu.</summary>
[TestFixture]
[Category("TsanSmall")] // small shapes: also run once under ThreadSanitizer (build.cake TsanCheck)
[NonParallelizable]
public sealed class HeadStatsKernelTests : EmulatedKernelFixture
{
    [Test]
    public void RandomInputsMatchTheReference([Values] DType dtype, [Values] TensorLayout layout, [Values(1, 64, 65, 300)] int tokens)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = rng.Int(1, 4), dim = rng.Pick([4, 24, 33, 64]), window = Math.Min(tokens, rng.Int(1, 9)), prefix = tokens - window;
        string say = rng.Say($"Hkv {heads} N {tokens} D {dim} W {window} {dtype.Name()} {layout}");
        LayerData data = LayerData.Random(rng, heads, 1, tokens, dim, 1, dtype);
        StoredLayer stored = data.Store(layout, new Padding(rng.Int(0, 3), rng.Int(0, 3), rng.Int(0, 5), rng.Int(0, 2)));
        using var stage = new StageHarness(backend, heads, heads, tokens, dim, window);
        DeviceTensor keys = stage.Upload(stored.Keys);
        DeviceTensor values = stage.Upload(stored.Values);

        K.HeadStats.Enqueue(stage.Runtime, keys, values, prefix, stage.Workspace);

        K.KernelWorkspace ws = stage.Workspace;
        int chunks = K.HeadStats.Chunks(tokens);
        stage.AssertWroteOnly(say, (ws.KeyPartials, heads * chunks * dim), (ws.MeanKey, heads * dim), (ws.OnlineRedundancy, heads),
            (ws.KeyNorm, heads * prefix), (ws.ValueNorm, heads * prefix), (ws.Similarity, heads * prefix));
        AssertHeadStatistics(stage, data, stored, prefix, say);
    }

    /// <summary>
    /// The window run kernels' share of the statistics (||K[n]||, k^.mu and the partials from the tiles
    /// they stage, mu between their two passes) and head_value_stats' (||V[n]||) equal the reference as
    /// head_token_stats' do, for D = 128 (its own product path) and a small D, over tails of every length;
    /// rows padded at random, so unaligned ones take the element paths (synchronous staging, V by element).
    /// </summary>
    [Test]
    public void RunKernelsTakeTheKeyStatisticsFromTheirTiles([Values(DType.F16, DType.BF16)] DType dtype, [Values(16, 128)] int dim)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = rng.Int(1, 2), window = rng.Int(K.WindowScores.MinRunWindow, 20), groups = rng.Int(1, K.WindowScores.MaxRunRows / window), tokens = rng.Int(70, 330), prefix = tokens - window;
        string say = rng.Say($"Hkv {heads} G {groups} N {tokens} D {dim} W {window} {dtype.Name()}");
        Assert.That(K.WindowScores.UsesRuns(dtype, dim, groups * window, window), Is.True, say);
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, dtype);
        Padding padding = rng.Coin() ? default : new Padding(rng.Int(0, 3), rng.Int(0, 3), rng.Int(0, 5), rng.Int(0, 2));
        StoredLayer stored = data.Store(rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd, padding);
        using var stage = new StageHarness(backend, heads * groups, heads, tokens, dim, window);
        var options = new MixKV.Options.CompressionOptions { Window = window, Budget = window + 1 };

        K.WindowScores.Enqueue(stage.Runtime, stage.Upload(stored.Keys), stage.Upload(stored.Queries), options, stage.Workspace, keyStatistics: new K.WindowScores.KeyStatistics(null));
        K.HeadStats.EnqueueValues(stage.Runtime, stage.Upload(stored.Values), prefix, stage.Workspace);

        AssertHeadStatistics(stage, data, stored, prefix, say);
    }

    /// <summary>head_value_stats holds one 8-byte word of a row per lane: rows past 256 bytes are refused before any launch.</summary>
    [Test]
    public void ValueStatisticsRefuseRowsPastAWordPerLane([Values(DType.F16, DType.BF16)] DType dtype)
    {
        TestRandom rng = KernelCheck.Seeded();
        int tokens = rng.Int(20, 80), dim = 128 + 16 * rng.Int(1, 8), window = 8;
        LayerData data = LayerData.Random(rng, 1, 1, tokens, dim, window, dtype);
        using var stage = new StageHarness(backend, 1, 1, tokens, dim, window);
        DeviceTensor values = stage.Upload(data.Store(TensorLayout.Hnd).Values);
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => K.HeadStats.EnqueueValues(stage.Runtime, values, tokens - window, stage.Workspace));
        Assert.That(error!.ParamName, Is.EqualTo("values"), rng.Say($"D {dim}"));
        Assert.That(error.Message, Does.Contain($"D = {dim}"), rng.Say($"D {dim}"));
        stage.AssertWroteOnly(rng.Say($"D {dim}"));
    }

    /// <summary>
    /// K's finite check inside window_run_stats: a row of huge but finite bf16 keys (its sum of squares
    /// overflows fp32, so the row is read again element by element) passes; a NaN or Inf in any row,
    /// the window's included, sets the keys' bit.
    /// </summary>
    [Test]
    public void RunKernelsCheckKFiniteBeyondTheirSumsOfSquares([Values] bool poisoned)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = 2, groups = 2, window = 8, dim = 64, tokens = rng.Int(100, 300), head = rng.Int(0, heads - 1), token = rng.Int(0, tokens - 1);
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, DType.BF16);
        float huge = MathF.ScaleB(1f, 70); // 2^70 ~ 1.2e21: finite in bf16, its squares past fp32
        data.Keys[head][token] = data.Keys[head][token].Select(x => x * huge).ToArray();
        if (poisoned)
        {
            data.Keys[head][rng.Int(0, tokens - 1)][rng.Int(0, dim - 1)] = rng.Pick(new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity });
        }

        StoredLayer stored = data.Store(TensorLayout.Hnd);
        using var stage = new StageHarness(backend, heads * groups, heads, tokens, dim, window);
        stage.Runtime.Fill(stage.Workspace.Status, 0, sizeof(int));
        var options = new MixKV.Options.CompressionOptions { Window = window, Budget = window + 1 };

        K.WindowScores.Enqueue(stage.Runtime, stage.Upload(stored.Keys), stage.Upload(stored.Queries), options, stage.Workspace, keyStatistics: new K.WindowScores.KeyStatistics(stage.Workspace.Status));

        var status = new int[1];
        stage.Runtime.CopyToHost(stage.Workspace.Status, System.Runtime.InteropServices.MemoryMarshal.AsBytes(status.AsSpan()));
        Assert.That(status[0], Is.EqualTo(poisoned ? (int)DeviceRejection.NonFiniteKeys : 0), rng.Say($"huge row {token} of head {head}, N {tokens}, poisoned {poisoned}"));
    }

    /// <summary>Every head statistic the stage wrote against the reference (partials and mu in double here).</summary>
    private static void AssertHeadStatistics(StageHarness stage, LayerData data, StoredLayer stored, int prefix, string say)
    {
        K.KernelWorkspace ws = stage.Workspace;
        int heads = data.KvHeads, tokens = data.Tokens, dim = data.Dim, chunks = K.HeadStats.Chunks(tokens);
        double tolerance = KernelCheck.Tolerance(data.DType);
        Ref.HeadStatistics expected = Ref.HeadStats.Compute(stored.Inputs.Keys, stored.Inputs.Values, prefix);

        // Partial sums of unit keys per 64-token chunk and the mean unit key, in double.
        var partials = new double[heads * chunks][];
        var mean = new double[heads][];
        for (int h = 0; h < heads; h++)
        {
            mean[h] = new double[dim];
            for (int c = 0; c < chunks; c++)
            {
                partials[h * chunks + c] = new double[dim];
                for (int n = c * 64; n < Math.Min(tokens, (c + 1) * 64); n++)
                {
                    float[] k = data.Keys[h][n];
                    double norm = Math.Max(Math.Sqrt(k.Sum(x => (double)x * x)), 1e-12);
                    for (int i = 0; i < dim; i++)
                    {
                        partials[h * chunks + c][i] += k[i] / norm;
                        mean[h][i] += k[i] / norm / tokens;
                    }
                }
            }
        }

        // Sums of unit vectors cancel: errors are relative to the largest component of the same row.
        KernelCheck.AssertClose(stage.Floats(ws.KeyPartials, heads * chunks * dim), partials, tolerance, $"{say}: key partials", floorFraction: 1);
        KernelCheck.AssertClose(stage.Floats(ws.MeanKey, heads * dim), mean, tolerance, $"{say}: mean unit key", floorFraction: 1);
        float[] r = stage.Floats(ws.OnlineRedundancy, heads);
        for (int h = 0; h < heads; h++)
        {
            Assert.That(r[h], Is.EqualTo(expected.Redundancy[h]).Within(tolerance), $"{say}: r[{h}] (absolute: r lies in [0, 1])");
        }

        if (prefix > 0)
        {
            KernelCheck.AssertClose(stage.Floats(ws.KeyNorm, heads * prefix), expected.KeyNorms, tolerance, $"{say}: key norms");
            KernelCheck.AssertClose(stage.Floats(ws.ValueNorm, heads * prefix), expected.ValueNorms, tolerance, $"{say}: value norms");
            KernelCheck.AssertClose(stage.Floats(ws.Similarity, heads * prefix), expected.MeanKeySimilarity, tolerance, $"{say}: k^.mu", floorFraction: 1);
        }
    }

    /// <summary>
    /// Keys that are random positive multiples of one random direction: every unit key is the same,
    /// so ||mu|| = 1, r = (N - 1)/(N - 1) = 1 and k^.mu = 1 for every token.
    /// </summary>
    [Test]
    public void ParallelKeysAreFullyRedundant()
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = 2, tokens = rng.Int(70, 200), dim = 32, window = 4, prefix = tokens - window;
        LayerData data = LayerData.Random(rng, heads, 1, tokens, dim, 1, DType.F32);
        for (int h = 0; h < heads; h++)
        {
            float[] direction = data.Keys[h][0];
            for (int n = 0; n < tokens; n++)
            {
                float scale = (float)rng.Uniform(0.1, 10);
                data.Keys[h][n] = direction.Select(x => x * scale).ToArray();
            }
        }

        (float[] r, float[] similarity) = Run(data, window, prefix);
        string say = rng.Say($"N {tokens}");
        Assert.That(r, Is.All.EqualTo(1f).Within(1e-5), $"{say}: r");
        Assert.That(similarity, Is.All.EqualTo(1f).Within(1e-5), $"{say}: k^.mu");
    }

    /// <summary>
    /// Keys along distinct axes with random sign and scale (N &lt;= D): unit keys are orthonormal, so
    /// mu = (1/N) sum of them, ||mu||^2 = 1/N, r = (1 - 1)/(N - 1) = 0 and k^.mu = 1/N. One key is zero:
    /// its norm floors at 1e-12, its unit key is 0 (so ||mu||^2 = (N-1)/N^2, r clamps from -1/(N(N-1)) to
    /// 0), its k^.mu is 0 and the others' is 1/N.
    /// </summary>
    [Test]
    public void OrthogonalKeysAreNotRedundant([Values] bool withZeroKey)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = 2, dim = 64, tokens = rng.Int(10, dim), window = 2, prefix = tokens - window;
        LayerData data = LayerData.Random(rng, heads, 1, tokens, dim, 1, DType.F32);
        int zero = rng.Int(0, prefix - 1);
        for (int h = 0; h < heads; h++)
        {
            int[] axes = Enumerable.Range(0, dim).ToArray();
            rng.Shuffle(axes);
            for (int n = 0; n < tokens; n++)
            {
                data.Keys[h][n] = new float[dim];
                if (!(withZeroKey && n == zero))
                {
                    data.Keys[h][n][axes[n]] = (float)((rng.Coin() ? 1 : -1) * rng.Uniform(0.1, 10));
                }
            }
        }

        (float[] r, float[] similarity) = Run(data, window, prefix);
        string say = rng.Say($"N {tokens}, zero key at {(withZeroKey ? zero : -1)}");
        Assert.That(r, Is.All.EqualTo(0f).Within(1e-6), $"{say}: r");
        for (int h = 0; h < heads; h++)
        {
            for (int n = 0; n < prefix; n++)
            {
                double expected = withZeroKey && n == zero ? 0 : 1.0 / tokens;
                Assert.That(similarity[h * prefix + n], Is.EqualTo(expected).Within(1e-6), $"{say}: k^.mu [{h}, {n}]");
            }
        }
    }

    private (float[] Redundancy, float[] Similarity) Run(LayerData data, int window, int prefix)
    {
        StoredLayer stored = data.Store(TensorLayout.Nhd);
        using var stage = new StageHarness(backend, data.KvHeads, data.KvHeads, data.Tokens, data.Dim, window);
        K.HeadStats.Enqueue(stage.Runtime, stage.Upload(stored.Keys), stage.Upload(stored.Values), prefix, stage.Workspace);
        return (stage.Floats(stage.Workspace.OnlineRedundancy, data.KvHeads), stage.Floats(stage.Workspace.Similarity, data.KvHeads * prefix));
    }
}
