namespace MixKV;

/// <summary>The median the profiles and `mixkv bench` report over repetitions.</summary>
internal static class Median
{
    /// <summary>The middle value; the mean of the two middle values for an even count.</summary>
    public static double Of(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            throw new ArgumentException("the median of no values is undefined", nameof(values));
        }

        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
