namespace MixKV.Options;

/// <summary>
/// An offline head-redundancy table r[layer][head] (spec section 3), e.g. measured on calibration
/// data. Every value lies in [0, 1]; the shape is checked against the layer count and head count
/// when a layer is compressed.
/// </summary>
public sealed class RedundancyTable
{
    private readonly double[][] values;

    public RedundancyTable(IReadOnlyList<IReadOnlyList<double>> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            throw new ArgumentException("redundancy table must have one row per layer (got 0 rows)", nameof(values));
        }

        this.values = new double[values.Count][];
        for (int layer = 0; layer < values.Count; layer++)
        {
            IReadOnlyList<double> row = values[layer] ?? throw new ArgumentException($"redundancy table row {layer} is null", nameof(values));
            this.values[layer] = new double[row.Count];
            for (int head = 0; head < row.Count; head++)
            {
                double r = row[head];
                if (!(r >= 0.0 && r <= 1.0))
                {
                    throw new ArgumentException($"redundancy table value [{layer}][{head}] = {r} must lie in [0, 1]", nameof(values));
                }

                this.values[layer][head] = r;
            }
        }
    }

    public int LayerCount => values.Length;

    public int HeadCount(int layer) => values[layer].Length;

    public double this[int layer, int head] => values[layer][head];
}
