using MixKV.Reference;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Reference;

/// <summary>Spec section 3: norms, the mean unit key over all N tokens, and the online redundancy.</summary>
[TestFixture]
public sealed class HeadStatsTests
{
    private const double Tol = 1e-12;

    [Test]
    public void ThreeKeys_ByHand()
    {
        // D = 2, N = 3, P = 2 (the window token still counts in the mean).
        // k0 = (3,4) |5| -> (0.6, 0.8);  k1 = (0,2) |2| -> (0,1);  k2 = (-1,0) |1| -> (-1,0).
        // mu = ((0.6 + 0 - 1)/3, (0.8 + 1 + 0)/3) = (-2/15, 3/5).
        // s0 = 0.6(-2/15) + 0.8(3/5) = -0.08 + 0.48 = 0.4;  s1 = 1 * 3/5 = 0.6.
        // |mu|^2 = 4/225 + 81/225 = 17/45;  r = (3 * 17/45 - 1)/2 = (6/45)/2 = 1/15
        //   = mean pairwise cosine (0.8 - 0.6 + 0)/3.
        // v0 = (6, 8) |10|, v1 = (1, 0) |1|.
        var keys = StoredTensor.F32([[[3, 4], [0, 2], [-1, 0]]]).View;
        var values = StoredTensor.F32([[[6, 8], [1, 0], [5, 5]]]).View;

        HeadStatistics stats = HeadStats.Compute(keys, values, prefix: 2);

        Assert.That(stats.KeyNorms[0], Is.EqualTo(new[] { 5.0, 2.0 }).Within(Tol));
        Assert.That(stats.ValueNorms[0], Is.EqualTo(new[] { 10.0, 1.0 }).Within(Tol));
        Assert.That(stats.MeanKeySimilarity[0], Is.EqualTo(new[] { 0.4, 0.6 }).Within(Tol));
        Assert.That(stats.Redundancy[0], Is.EqualTo(1.0 / 15).Within(Tol));
    }

    [Test]
    public void TwoIdenticalKeys_AreFullyRedundant()
    {
        // |mu| = 1: r = (2 * 1 - 1)/1 = 1 (rounding may overshoot; the clamp keeps it <= 1).
        var rng = TestRandom.ForCurrentTest();
        double[] k = Enumerable.Range(0, 5).Select(_ => rng.Uniform(-2, 2)).ToArray();
        var keys = StoredTensor.F32([[k, k]]).View;

        HeadStatistics stats = HeadStats.Compute(keys, keys, prefix: 1);

        Assert.That(stats.Redundancy[0], Is.EqualTo(1.0).Within(1e-12).And.LessThanOrEqualTo(1.0), rng.Tag);
    }

    [Test]
    public void TwoOppositeKeys_ClampToZero()
    {
        // mu = 0: r = (0 - 1)/1 = -1, clamped to 0.
        var rng = TestRandom.ForCurrentTest();
        double[] k = Enumerable.Range(0, 5).Select(_ => rng.Uniform(0.5, 2)).ToArray();
        var keys = StoredTensor.F32([[k, Array.ConvertAll(k, x => -x)]]).View;

        HeadStatistics stats = HeadStats.Compute(keys, keys, prefix: 1);

        Assert.That(stats.Redundancy[0], Is.EqualTo(0.0), rng.Tag);
    }

    [Test]
    public void OnlineRedundancy_ClampsBothEnds()
    {
        // (N |mu|^2 - 1)/(N - 1): N = 4, |mu|^2 = 0.5 -> (2 - 1)/3 = 1/3.
        Assert.That(HeadStats.OnlineRedundancy(0.5, 4), Is.EqualTo(1.0 / 3).Within(Tol));
        // |mu|^2 slightly above 1 (rounding): 2(1 + 1e-9) - 1 > 1 -> 1.
        Assert.That(HeadStats.OnlineRedundancy(1.0 + 1e-9, 2), Is.EqualTo(1.0));
        // |mu|^2 = 0.1, N = 3: (0.3 - 1)/2 < 0 -> 0.
        Assert.That(HeadStats.OnlineRedundancy(0.1, 3), Is.EqualTo(0.0));
    }

    [Test]
    public void TinyKey_IsDividedByTheNormFloorNotItsNorm()
    {
        // k0 = (1e-13, 0): |k0| < 1e-12, so k̂0 = k0 / 1e-12 = (0.1, 0) (not the unit vector (1, 0)).
        // k1 = (2, 0) -> (1, 0).  mu = (0.55, 0);  s0 = 0.1 * 0.55 = 0.055.
        // r = (2 * 0.3025 - 1)/1 < 0 -> 0.  (Without the floor: mu = (1, 0), s0 = 1, r = 1.)
        double tiny = (float)1e-13; // the value f32 stores
        var keys = StoredTensor.F32([[[1e-13, 0], [2, 0]]]).View;

        HeadStatistics stats = HeadStats.Compute(keys, keys, prefix: 1);

        double unit0 = tiny / 1e-12;
        double mu = (unit0 + 1) / 2;
        Assert.That(stats.MeanKeySimilarity[0][0], Is.EqualTo(unit0 * mu).Within(1e-9));
        Assert.That(stats.Redundancy[0], Is.EqualTo(0.0));
    }

    [Test]
    public void RandomHeads_MatchThePairwiseCosineMean()
    {
        // Independent check of the online formula: the mean over all i != j of cos(k_i, k_j), clamped.
        var rng = TestRandom.ForCurrentTest();
        for (int trial = 0; trial < 5; trial++)
        {
            int n = rng.Int(2, 30), d = rng.Int(2, 12);
            LayerData data = LayerData.Random(rng, 2, 1, n, d, 1, Tensors.DType.F32);
            var keys = data.Store(Tensors.TensorLayout.Hnd).Keys.View;
            HeadStatistics stats = HeadStats.Compute(keys, keys, prefix: n - 1);
            for (int h = 0; h < 2; h++)
            {
                float[][] k = data.Keys[h];
                double sum = 0;
                for (int i = 0; i < n; i++)
                {
                    for (int j = 0; j < n; j++)
                    {
                        if (i != j)
                        {
                            sum += Oracle.Dot(k[i], k[j]) / Math.Sqrt(Oracle.Dot(k[i], k[i]) * Oracle.Dot(k[j], k[j]));
                        }
                    }
                }

                double expected = Math.Clamp(sum / (n * (n - 1.0)), 0, 1);
                Assert.That(stats.Redundancy[h], Is.EqualTo(expected).Within(1e-10), rng.Say($"trial {trial}, head {h}, N {n}, D {d}"));
            }
        }
    }
}
