using NUnit.Framework;

namespace MixKV.Tests.Support;

/// <summary>
/// A seeded source of test inputs. The seed comes from NUnit's per-test random (fresh each run) unless
/// MIXKV_TEST_SEED pins it; every assertion message carries <see cref="Tag"/> so a failure can be replayed.
/// </summary>
public sealed class TestRandom
{
    public const string SeedVariable = "MIXKV_TEST_SEED";

    private readonly Random random;

    public TestRandom(int seed)
    {
        Seed = seed;
        random = new Random(seed);
    }

    public int Seed { get; }

    /// <summary>Appended to every assertion message.</summary>
    public string Tag => $"[seed {Seed}; replay with {SeedVariable}={Seed}]";

    public static TestRandom ForCurrentTest()
    {
        string? pinned = Environment.GetEnvironmentVariable(SeedVariable);
        int seed = pinned is not null ? int.Parse(pinned, System.Globalization.CultureInfo.InvariantCulture) : TestContext.CurrentContext.Random.Next();
        return new TestRandom(seed);
    }

    public string Say(string what) => $"{what} {Tag}";

    /// <summary>Uniform integer in [min, max] (both inclusive).</summary>
    public int Int(int min, int max) => random.Next(min, max + 1);

    public double Uniform(double min, double max) => min + (max - min) * random.NextDouble();

    public bool Coin() => random.Next(2) == 1;

    public T Pick<T>(IReadOnlyList<T> items) => items[random.Next(items.Count)];

    /// <summary>Standard normal (Box–Muller).</summary>
    public double Gaussian()
    {
        double u1 = 1.0 - random.NextDouble();
        double u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    public void Fill(Span<byte> bytes) => random.NextBytes(bytes);

    public void Shuffle<T>(T[] items) => random.Shuffle(items);
}
