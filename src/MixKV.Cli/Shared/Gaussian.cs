namespace MixKV.Cli.Shared;

/// <summary>Standard normal samples from a seeded <see cref="Random"/> (Box–Muller), reproducible across runs.</summary>
internal sealed class Gaussian
{
    private readonly Random random;
    private double spare;
    private bool hasSpare;

    public Gaussian(int seed) => random = new Random(seed);

    public Random Uniform => random;

    public double Next()
    {
        if (hasSpare)
        {
            hasSpare = false;
            return spare;
        }

        // 1 - NextDouble() lies in (0, 1], so the logarithm is finite.
        double radius = Math.Sqrt(-2.0 * Math.Log(1.0 - random.NextDouble()));
        double angle = 2.0 * Math.PI * random.NextDouble();
        spare = radius * Math.Sin(angle);
        hasSpare = true;
        return radius * Math.Cos(angle);
    }
}
