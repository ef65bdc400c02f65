using MixKV.Options;
using MixKV.Reference;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Reference;

/// <summary>
/// Spec section 2 by hand. With D = 1 and a query of 1, the logit of key n is K[n]; storing K[n] = ln(c_n)
/// makes the softmax weights proportional to c_n, so every probability is a small fraction.
/// </summary>
[TestFixture]
public sealed class WindowScoresTests
{
    private const double Tol = 1e-6; // ln(c) stored as f32: relative error ~6e-8 in each weight

    private static double[][][] LogKeys(params double[][] perHead) =>
        Array.ConvertAll(perHead, head => Array.ConvertAll(head, c => new[] { Math.Log(c) }));

    private static double[][][] Queries(params double[][] perQueryHead) =>
        Array.ConvertAll(perQueryHead, head => Array.ConvertAll(head, x => new[] { x }));

    [Test]
    public void CausalMask_WindowRowSeesKeysUpToItsOwnPosition()
    {
        // N = 4, W = 2, P = 2; weights c = 1, 2, 3, 4.
        // Row w=0 (position 2) sees keys 0..2: sum 1+2+3 = 6  -> p0 = 1/6,  p1 = 2/6.
        // Row w=1 (position 3) sees keys 0..3: sum 10         -> p0 = 1/10, p1 = 2/10.
        // a[0] = (1/6 + 1/10)/2 = 16/120 = 2/15;  a[1] = (2/6 + 2/10)/2 = 32/120 = 4/15.
        // (Without the mask row 0 would give 1/10 and 2/10: a = 1/10, 2/10.)
        var k = StoredTensor.F32(LogKeys([1, 2, 3, 4])).View;
        var q = StoredTensor.F32(Queries([1, 1])).View;

        double[][] a = WindowScores.AttentionMass(k, q);

        Assert.That(a[0], Is.EqualTo(new[] { 2.0 / 15, 4.0 / 15 }).Within(Tol));
    }

    [Test]
    public void Softmax_ScalesLogitsByInverseSqrtOfHeadDim()
    {
        // D = 4, query (1,1,1,1), key n = (c,c,c,c) with c = ln(a_n)/2: dot = 4c = 2 ln a_n, /sqrt(4) = ln a_n.
        // N = 3, W = 1, P = 2, a = 1, 2, 3: the single row sees all keys, p = 1/6, 2/6.
        // (1/D scaling would give weights a^0.5, no scaling a^2.)
        double[] c = [Math.Log(1) / 2, Math.Log(2) / 2, Math.Log(3) / 2];
        var k = StoredTensor.F32([Array.ConvertAll(c, x => new[] { x, x, x, x })]).View;
        var q = StoredTensor.F32([[[1.0, 1.0, 1.0, 1.0]]]).View;

        double[][] a = WindowScores.AttentionMass(k, q);

        Assert.That(a[0], Is.EqualTo(new[] { 1.0 / 6, 2.0 / 6 }).Within(Tol));
    }

    [Test]
    public void QueryHead_UsesKvHeadQDividedByG()
    {
        // Hkv = 2, Hq = 4 (G = 2): query head 2 reads KV head 1, whose weights are c = 4, 3, 2, 1.
        // Row 0 sees 4, 3, 2 (sum 9): 4/9, 3/9; row 1 sees all (sum 10): 4/10, 3/10.
        // a[0] = (4/9 + 4/10)/2 = 76/180 = 19/45;  a[1] = (3/9 + 3/10)/2 = 57/180 = 19/60.
        var k = StoredTensor.F32(LogKeys([1, 2, 3, 4], [4, 3, 2, 1])).View;
        var q = StoredTensor.F32(Queries([1, 1], [1, 1], [1, 1], [-1, -1])).View;

        double[][] a = WindowScores.AttentionMass(k, q);

        Assert.That(a[2], Is.EqualTo(new[] { 19.0 / 45, 19.0 / 60 }).Within(Tol));
        Assert.That(a[0], Is.EqualTo(new[] { 2.0 / 15, 4.0 / 15 }).Within(Tol), "query head 0 reads KV head 0");
    }

    [Test]
    public void GqaMeanAndMax_CombineTheQueryHeadsOfAGroup()
    {
        // Hkv = 1, G = 2, keys c = 1, 2, 3, 4. Head 0 (query +1): a = 2/15, 4/15 (see the causal test).
        // Head 1 (query -1): weights 1/c = 1, 1/2, 1/3, 1/4.
        //   row 0: sum 1 + 1/2 + 1/3 = 11/6        -> p0 = 6/11,  p1 = 3/11
        //   row 1: sum 11/6 + 1/4 = 25/12           -> p0 = 12/25, p1 = 6/25
        //   a[0] = (6/11 + 12/25)/2 = 282/550 = 141/275;  a[1] = (3/11 + 6/25)/2 = 141/550.
        // mean: (2/15 + 141/275)/2, (4/15 + 141/550)/2;  max: 141/275 (head 1), 4/15 (head 0).
        var k = StoredTensor.F32(LogKeys([1, 2, 3, 4])).View;
        var q = StoredTensor.F32(Queries([1, 1], [-1, -1])).View;

        double[][] perQuery = WindowScores.AttentionMass(k, q);
        double[][] mean = WindowScores.ReduceGqa(perQuery, 1, GqaReduction.Mean);
        double[][] max = WindowScores.ReduceGqa(perQuery, 1, GqaReduction.Max);

        Assert.That(perQuery[1], Is.EqualTo(new[] { 141.0 / 275, 141.0 / 550 }).Within(Tol));
        Assert.That(mean[0], Is.EqualTo(new[] { (2.0 / 15 + 141.0 / 275) / 2, (4.0 / 15 + 141.0 / 550) / 2 }).Within(Tol));
        Assert.That(max[0], Is.EqualTo(new[] { 141.0 / 275, 4.0 / 15 }).Within(Tol));
    }

    [Test]
    public void AvgPooling_DividesByKernelEvenAtTheEdges()
    {
        // k = 3, padding 1: n=0 (0+1+2)/3 = 1, n=1 (1+2+6)/3 = 3, n=2 (2+6+4)/3 = 4, n=3 (6+4+5)/3 = 5, n=4 (4+5+0)/3 = 3.
        Assert.That(WindowScores.Pool([1, 2, 6, 4, 5], PoolingKind.Avg, 3), Is.EqualTo(new[] { 1.0, 3, 4, 5, 3 }).Within(1e-12));

        // k = 5, padding 2: n=0 (1+2+6)/5, n=1 (1+2+6+4)/5, n=2 18/5, n=3 (2+6+4+5)/5, n=4 (6+4+5)/5.
        Assert.That(WindowScores.Pool([1, 2, 6, 4, 5], PoolingKind.Avg, 5), Is.EqualTo(new[] { 9.0 / 5, 13.0 / 5, 18.0 / 5, 17.0 / 5, 15.0 / 5 }).Within(1e-12));

        // Kernel wider than the prefix: every output sums both values and still divides by 5.
        Assert.That(WindowScores.Pool([2, 7], PoolingKind.Avg, 5), Is.EqualTo(new[] { 9.0 / 5, 9.0 / 5 }).Within(1e-12));
    }

    [Test]
    public void MaxPooling_IgnoresPadding()
    {
        // All negative, so a zero pad would win at both edges if it were counted.
        // k = 3: n=0 max(-3,-1) = -1, n=1 max(-3,-1,-4) = -1, n=2 max(-1,-4,-2) = -1, n=3 max(-4,-2) = -2.
        Assert.That(WindowScores.Pool([-3, -1, -4, -2], PoolingKind.Max, 3), Is.EqualTo(new[] { -1.0, -1, -1, -2 }));

        // k = 5 on 3, 1, 4, 1, 5: n=0 max(3,1,4) = 4, n=1 4, n=2 5, n=3 5, n=4 max(4,1,5) = 5.
        Assert.That(WindowScores.Pool([3, 1, 4, 1, 5], PoolingKind.Max, 5), Is.EqualTo(new[] { 4.0, 4, 5, 5, 5 }));
    }

    [Test]
    public void KernelOne_IsTheIdentity([Values] PoolingKind kind)
    {
        var rng = TestRandom.ForCurrentTest();
        double[] x = Enumerable.Range(0, 7).Select(_ => rng.Uniform(-1, 1)).ToArray();
        Assert.That(WindowScores.Pool(x, kind, 1), Is.EqualTo(x), rng.Tag);
    }

    [Test]
    public void Compute_PoolsAfterTheGqaReduction()
    {
        // Keys c = 1, 2, 4, 8, 3, 5 (N = 6), W = 2, P = 4, one query head of 1s.
        // Row 0 sees keys 0..4 (sum 18), row 1 all six (sum 23): a[n] = c_n (1/18 + 1/23)/2 = c_n * 41/828.
        // Avg k = 3: A[0] = (0 + 1 + 2) f/3, A[1] = (1+2+4) f/3, A[2] = (2+4+8) f/3, A[3] = (4+8+0) f/3, f = 41/828.
        var k = StoredTensor.F32(LogKeys([1, 2, 4, 8, 3, 5])).View;
        var q = StoredTensor.F32(Queries([1, 1])).View;
        const double f = 41.0 / 828;

        double[][] a = WindowScores.Compute(k, q, GqaReduction.Mean, PoolingKind.Avg, 3);

        Assert.That(a[0], Is.EqualTo(new[] { 3 * f / 3, 7 * f / 3, 14 * f / 3, 12 * f / 3 }).Within(Tol));
    }

    [Test]
    public void AttentionMass_MatchesTheNaiveOracleOnRandomInputs([Values] GqaReduction gqa, [Values] PoolingKind pooling)
    {
        var rng = TestRandom.ForCurrentTest();
        int heads = rng.Int(1, 3), groups = rng.Int(1, 3), tokens = rng.Int(12, 60), dim = rng.Pick([8, 16, 24]), window = rng.Int(1, 10);
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window + rng.Int(0, 3), Tensors.DType.F32);
        var options = new CompressionOptions { Window = window, Gqa = gqa, Pooling = pooling, PoolingKernel = rng.Pick([1, 3, 5, 7]) };
        StoredLayer stored = data.Store(Tensors.TensorLayout.Hnd);

        double[][] actual = WindowScores.Compute(stored.Keys.View, stored.Inputs.WindowQueries(window), gqa, pooling, options.PoolingKernel);
        double[][] expected = Oracle.Attention(data, options);

        for (int h = 0; h < heads; h++)
        {
            Assert.That(actual[h], Is.EqualTo(expected[h]).Within(1e-12), rng.Say($"head {h}, {options}"));
        }
    }
}
