using MixKV.Reference;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Reference;

/// <summary>Spec section 6 by hand: top-k, ties to the lower position, ascending order, window last.</summary>
[TestFixture]
public sealed class SelectTests
{
    [Test]
    public void EqualScores_LowerPositionWins()
    {
        // 0.9 at 1 first; then three 0.5s at 0, 2, 4: the lower positions come first.
        double[] s = [0.5, 0.9, 0.5, 0.1, 0.5];
        Assert.That(Select.TopPrefix(s, 1), Is.EqualTo(new[] { 1 }));
        Assert.That(Select.TopPrefix(s, 2), Is.EqualTo(new[] { 0, 1 }));
        Assert.That(Select.TopPrefix(s, 3), Is.EqualTo(new[] { 0, 1, 2 }));
        Assert.That(Select.TopPrefix(s, 4), Is.EqualTo(new[] { 0, 1, 2, 4 }));
    }

    [Test]
    public void Result_IsAscendingNotScoreOrder()
    {
        // Scores rise with position: the two largest are 3 then 2 in score order, returned as 2, 3.
        Assert.That(Select.TopPrefix([0.1, 0.2, 0.3, 0.4], 2), Is.EqualTo(new[] { 2, 3 }));
    }

    [Test]
    public void CapZeroAndCapP()
    {
        var rng = TestRandom.ForCurrentTest();
        double[] s = Enumerable.Range(0, 9).Select(_ => rng.Uniform(-1, 1)).ToArray();
        Assert.That(Select.TopPrefix(s, 0), Is.Empty, rng.Tag);
        Assert.That(Select.TopPrefix(s, 9), Is.EqualTo(Enumerable.Range(0, 9)), rng.Tag);
        Assert.That(() => Select.TopPrefix(s, 10), Throws.InstanceOf<ArgumentOutOfRangeException>(), rng.Tag);
    }

    [Test]
    public void Positions_SelectedPrefixThenWindow()
    {
        // N = 8, W = 3, P = 5. Head 0 cap 2: largest 0.8 (pos 4), 0.7 (pos 0) -> 0, 4, then 5, 6, 7.
        // Head 1 cap 1: 0.6 at 1 and 3 tie -> 1, then 5, 6, 7.
        double[][] scores = [[0.7, 0.1, 0.2, 0.3, 0.8], [0.2, 0.6, 0.1, 0.6, 0.5]];
        int[][] kept = Select.Positions(scores, [2, 1], tokens: 8, window: 3);
        Assert.That(kept[0], Is.EqualTo(new[] { 0, 4, 5, 6, 7 }));
        Assert.That(kept[1], Is.EqualTo(new[] { 1, 5, 6, 7 }));
    }

    [Test]
    public void RandomScoresWithManyTies_MatchTheBruteForceTopK()
    {
        var rng = TestRandom.ForCurrentTest();
        for (int trial = 0; trial < 20; trial++)
        {
            int p = rng.Int(1, 200);
            double[] levels = Enumerable.Range(0, rng.Int(1, 6)).Select(_ => rng.Uniform(-1, 1)).ToArray();
            double[] s = Enumerable.Range(0, p).Select(_ => rng.Pick(levels)).ToArray();
            int cap = rng.Int(0, p);
            Assert.That(Select.TopPrefix(s, cap), Is.EqualTo(Oracle.TopK(s, cap)), rng.Say($"trial {trial}, P {p}, cap {cap}"));
        }
    }
}
