using System.Diagnostics;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Validation;

namespace MixKV.Reference;

/// <summary>
/// The whole pipeline on the CPU in double precision (spec sections 2–8): validate, score, allocate,
/// select, then gather. Every check precedes the first write, so a failed call leaves the caller's
/// buffers as they were. This is the oracle every other backend is compared with.
/// </summary>
public sealed class ReferenceCompressor : ILayerCompressor
{
    public string Name => "cpu";

    /// <summary>Runs every stage up to selection (nothing is written) and reports what each head keeps.</summary>
    public KeptTokens Plan(LayerInputs inputs, CompressionOptions options, LayerPosition layer, bool withScores, out StageTimings timings)
    {
        InputValidator.Validate(inputs, options, layer);
        int heads = inputs.KvHeads, tokens = inputs.Tokens, window = options.Window;
        bool uncompressed = Budget.IsUncompressed(options, layer, tokens);
        int prefix = Math.Max(tokens - window, 0);
        var clock = Stopwatch.StartNew();

        if (tokens < window || (uncompressed && !withScores))
        {
            timings = StageTimings.Zero;
            return Uncompressed(heads, tokens, prefix, withScores ? new float[heads * prefix] : null);
        }

        double[][] attention = WindowScores.Compute(inputs.Keys, inputs.WindowQueries(window), options.Gqa, options.Pooling, options.PoolingKernel);
        TimeSpan tScores = Lap(clock);
        HeadStatistics stats = HeadStats.Compute(inputs.Keys, inputs.Values, prefix);
        TimeSpan tStats = Lap(clock);
        double[] redundancy = options.Redundancy is { } table
            ? Enumerable.Range(0, heads).Select(h => table[layer.Index, h]).ToArray()
            : stats.Redundancy;
        double[][] scores = Mix.Compute(options.Score, attention, stats, redundancy);
        TimeSpan tMix = Lap(clock);
        float[]? flatScores = withScores ? Flatten(scores, prefix) : null;

        if (uncompressed)
        {
            timings = new StageTimings(tScores, tStats, tMix, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
            return Uncompressed(heads, tokens, prefix, flatScores);
        }

        int[] caps = Budget.Caps(options, layer, attention, heads, tokens);
        TimeSpan tBudget = Lap(clock);
        int[][] positions = Select.Positions(scores, caps, tokens, window);
        TimeSpan tSelect = Lap(clock);
        timings = new StageTimings(tScores, tStats, tMix, tBudget, tSelect, TimeSpan.Zero);
        return new KeptTokens(true, Array.ConvertAll(positions, p => p.Length), positions.SelectMany(p => p).ToArray(), prefix, flatScores);
    }

    /// <inheritdoc />
    public CompressedLayer Compress(LayerInputs inputs, CompressionOptions options, LayerPosition layer, bool withScores = false)
    {
        KeptTokens kept = Plan(inputs, options, layer, withScores, out StageTimings timings);
        var clock = Stopwatch.StartNew();
        var keys = new byte[(long)kept.TotalTokens * inputs.Keys.RowBytes];
        var values = new byte[keys.Length];
        Gather.Flattened(inputs.Keys, kept, keys);
        Gather.Flattened(inputs.Values, kept, values);
        timings = timings with { Gather = clock.Elapsed };
        return new CompressedLayer(kept, keys, values, inputs.Keys.DType, inputs.HeadDim, timings);
    }

    /// <summary>
    /// Overwrites the front of the caller's K and V with the kept rows (dense: each head's own region;
    /// flattened: packed [T, D] from the start of the view). Equal to the out-of-place result.
    /// </summary>
    public KeptTokens CompressInPlace(LayerInputs inputs, CompressionOptions options, LayerPosition layer, OutputLayout layout)
    {
        KeptTokens kept = Plan(inputs, options, layer, withScores: false, out _);
        if (layout == OutputLayout.Dense && !kept.IsUniform)
        {
            throw new ArgumentException($"the dense layout needs one cap for every head; {options.Method.Name()} gave {string.Join(", ", kept.HeadLens)}", nameof(layout));
        }

        if (layout == OutputLayout.Flattened)
        {
            CheckFlattenedFits(inputs.Keys, kept, "inputs");
            CheckFlattenedFits(inputs.Values, kept, "inputs");
        }

        InPlaceSharing.Validate(inputs, layout, kept.TotalTokens, inputs.Tokens >= options.Window ? options.Window : 0);
        if (layout == OutputLayout.Dense)
        {
            Gather.DenseInPlace(inputs.Keys, kept);
            Gather.DenseInPlace(inputs.Values, kept);
        }
        else
        {
            Gather.FlattenedInPlace(inputs.Keys, kept);
            Gather.FlattenedInPlace(inputs.Values, kept);
        }

        return kept;
    }

    private static void CheckFlattenedFits(HeadTensor cache, KeptTokens kept, string name)
    {
        long needed = (cache.Offset + (long)kept.TotalTokens * cache.Dim) * cache.ElementSize;
        if (needed > cache.Data.Length)
        {
            throw new ArgumentException($"cache buffer of {cache.Data.Length} bytes cannot hold {kept.TotalTokens} flattened rows", name);
        }
    }

    private static KeptTokens Uncompressed(int heads, int tokens, int prefix, float[]? scores)
    {
        int[] all = Enumerable.Range(0, heads).SelectMany(_ => Enumerable.Range(0, tokens)).ToArray();
        return new KeptTokens(false, Enumerable.Repeat(tokens, heads).ToArray(), all, prefix, scores);
    }

    private static float[] Flatten(double[][] rows, int width)
    {
        var flat = new float[rows.Length * width];
        for (int h = 0; h < rows.Length; h++)
        {
            for (int n = 0; n < width; n++)
            {
                flat[h * width + n] = (float)rows[h][n];
            }
        }

        return flat;
    }

    private static TimeSpan Lap(Stopwatch clock)
    {
        TimeSpan elapsed = clock.Elapsed;
        clock.Restart();
        return elapsed;
    }
}
