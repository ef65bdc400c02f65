using System.Buffers;
using System.Diagnostics;
using System.Numerics;
using MixKV.Options;
using MixKV.Validation;
using RefBudget = MixKV.Reference.Budget;

namespace MixKV.Fast;

/// <summary>
/// The fast CPU path (spec sections 2–8) in fp32 with SIMD and threads: per KV head, a fused pass
/// that multiplies the group's window queries with the keys chunk by chunk (register-blocked GEMM),
/// applies the causal softmax online and reduces it to the attention mass without materialising
/// [Hq, W, N], with the head statistics of K and V computed alongside (<see cref="LayerPipeline"/>);
/// then mix, budgets, an O(P) selection and the row gather. Agrees with <see cref="Reference.ReferenceCompressor"/> within
/// fp32 rounding (scores within 1e-5 of the head's scale for fp32 inputs); kept rows are the
/// input rows byte for byte. Validation and its exceptions are the reference's (spec section 8).
/// </summary>
public sealed class FastCompressor : ILayerCompressor
{
    /// <summary>Default cap on the exp-tile scratch (two heads' [N, G·W padded] fp32: 128 MiB at N = 128K, G·W = 128); past it pass 2 recomputes the GEMM.</summary>
    internal const long DefaultTileLimitBytes = 256L << 20;

    private FastWorkspace? cachedWorkspace;

    public string Name => "fast";

    /// <summary>Threads per pass; 0 (the default) or less means one per processor.</summary>
    public int MaxDegreeOfParallelism { get; init; }

    /// <summary>Tests: run the portable Vector&lt;T&gt; kernels even where the AVX-512 ones can run.</summary>
    internal bool ForcePortable { get; init; }

    /// <summary>Tests: a small limit forces the two-GEMM path.</summary>
    internal long TileLimitBytes { get; init; } = DefaultTileLimitBytes;

    private int Workers => MaxDegreeOfParallelism > 0 ? MaxDegreeOfParallelism : Environment.ProcessorCount;

    private bool Wide => !ForcePortable && WideKernels.Available;

    /// <summary>Which kernels this compressor runs on this machine, for `mixkv info`.</summary>
    internal string Kernels => Wide
        ? $"AVX-512 kernels{(PackedExp.Supported ? "" : " (no VBMI: fp32 exp tile)")}"
        : $"portable Vector<T> kernels ({Vector<float>.Count} lanes: no AVX-512 here)";

    /// <inheritdoc />
    public CompressedLayer Compress(LayerInputs inputs, CompressionOptions options, LayerPosition layer, bool withScores = false) =>
        Run(inputs, options, layer, withScores, keepIntermediates: false).Layer;

    /// <summary>
    /// Where the chunk pipeline's threads spend a layer (what `mixkv bench --per-pass` prints): the
    /// layer is compressed <paramref name="repeat"/> times with every pipeline item timed on the thread
    /// that ran it, and each thread's time per kind of item, and its wait at the periods' ends, is the
    /// median over the repetitions. Kept apart from timed runs (two timestamps an item). A layer that
    /// runs no pipeline (kept whole, or shorter than the window) gives no passes.
    /// </summary>
    public PipelineProfile ProfilePasses(LayerInputs inputs, CompressionOptions options, LayerPosition layer, int repeat)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(repeat, 1);
        var runs = new PassRecorder[repeat];
        for (int i = 0; i < repeat; i++)
        {
            runs[i] = new PassRecorder(Workers);
            Run(inputs, options, layer, withScores: false, keepIntermediates: false, runs[i]);
        }

        int threads = runs[0].Workers;
        double[] idle = Enumerable.Range(0, threads).Select(w => Median.Of(runs.Select(r => r.IdleMilliseconds(w)))).ToArray();
        if (runs[0].PeriodTicks == 0)
        {
            return new PipelineProfile(threads, [], idle, 0);
        }

        var passes = Enum.GetValues<PipelinePass>().Select(pass => new PassTime(
            PassRecorder.Name(pass),
            runs[0].Items(pass),
            Enumerable.Range(0, threads).Select(w => Median.Of(runs.Select(r => r.Milliseconds(pass, w)))).ToArray(),
            runs[0].Traffic(pass).Bytes,
            runs[0].Traffic(pass).Flop)).ToArray();
        return new PipelineProfile(threads, passes, idle, Median.Of(runs.Select(r => PassRecorder.Ms(r.PeriodTicks))));
    }

    /// <param name="profile">When given, every pipeline item is timed into it (<see cref="ProfilePasses"/>).</param>
    internal (CompressedLayer Layer, FastIntermediates? Details) Run(LayerInputs inputs, CompressionOptions options, LayerPosition layer, bool withScores, bool keepIntermediates,
        PassRecorder? profile = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        // Shapes, strides and options now; NaN/Inf are looked for inside the passes that read the data.
        InputValidator.Validate(inputs, options with { CheckFinite = false }, layer);
        int heads = inputs.KvHeads, tokens = inputs.Tokens, window = options.Window;
        bool uncompressed = RefBudget.IsUncompressed(options, layer, tokens);
        int prefix = Math.Max(tokens - window, 0);

        using MemoryHandle keyPin = inputs.Keys.Data.Pin(), valuePin = inputs.Values.Data.Pin(), queryPin = inputs.Queries.Data.Pin();
        PinnedRows keys = Pinned(inputs.Keys, keyPin), values = Pinned(inputs.Values, valuePin);
        WorkerTeam team = WorkerTeam.Rent(Workers);
        try
        {
            return RunPinned(inputs, options, layer, withScores, keepIntermediates, keys, values, Pinned(inputs.WindowQueries(Math.Min(window, inputs.Queries.Tokens)), queryPin), team, uncompressed, profile);
        }
        finally
        {
            WorkerTeam.Return(team);
        }
    }

    /// <summary>The call with its inputs pinned and a worker team rented.</summary>
    private (CompressedLayer Layer, FastIntermediates? Details) RunPinned(LayerInputs inputs, CompressionOptions options, LayerPosition layer, bool withScores, bool keepIntermediates,
        PinnedRows keys, PinnedRows values, PinnedRows windowQueries, WorkerTeam team, bool uncompressed, PassRecorder? profile)
    {
        int heads = inputs.KvHeads, tokens = inputs.Tokens, window = options.Window;
        int prefix = Math.Max(tokens - window, 0);

        if (tokens < window || (uncompressed && !withScores))
        {
            if (options.CheckFinite && (FiniteScan.HasNonFinite(keys, heads, tokens) || FiniteScan.HasNonFinite(values, heads, tokens)
                || (tokens >= window && FiniteScan.HasNonFinite(windowQueries, inputs.QueryHeads, window))))
            {
                InputValidator.Validate(inputs, options, layer);
            }

            KeptTokens all = Uncompressed(heads, tokens, prefix, withScores ? new float[heads * prefix] : null);
            return (Gather(keys, values, inputs, all, StageTimings.Zero, team), null);
        }

        FastWorkspace workspace = Interlocked.Exchange(ref cachedWorkspace, null) ?? new FastWorkspace();
        try
        {
            return Compressed(inputs, options, layer, withScores, keepIntermediates, keys, values, windowQueries, workspace, team, uncompressed, profile);
        }
        finally
        {
            Volatile.Write(ref cachedWorkspace, workspace);
        }
    }

    private (CompressedLayer, FastIntermediates?) Compressed(LayerInputs inputs, CompressionOptions options, LayerPosition layer, bool withScores, bool keepIntermediates,
        PinnedRows keys, PinnedRows values, PinnedRows windowQueries, FastWorkspace workspace, WorkerTeam team, bool uncompressed, PassRecorder? profile)
    {
        int heads = inputs.KvHeads, tokens = inputs.Tokens, window = options.Window, prefix = tokens - window;
        var fast = new FastLayer(keys, values, windowQueries, tokens, heads, inputs.QueryHeads, window, options, workspace, team, Wide, TileLimitBytes) { Profile = profile };
        bool finiteChecked = !options.CheckFinite;
        if (!finiteChecked && FiniteScan.HasNonFinite(windowQueries, inputs.QueryHeads, window))
        {
            InputValidator.Validate(inputs, options, layer);
        }

        // Test intermediates hand the arrays out, so they get their own.
        CallArrays arrays = keepIntermediates ? new CallArrays(heads, tokens, prefix) : workspace.Arrays(heads, tokens, prefix);
        HeadResult[] results = arrays.Results;
        double[][] attention = arrays.Attention, scores = arrays.Scores;
        // Pooling and the AdaKV sort need only the head's mass: they run inside the pipeline, after it.
        bool sortHeads = !uncompressed && FastBudget.Allocates(options, layer);
        int baseCap = options.Budget - window;
        (TimeSpan tStats, TimeSpan tScores) = LayerPipeline.Run(fast, results, () => finiteChecked = CheckFinite(fast, inputs, options, layer, finiteChecked), h =>
        {
            FastPool.Pool(results[h].Mass, options.Pooling, options.PoolingKernel, attention[h]);
            if (sortHeads)
            {
                FastBudget.SortHead(attention[h], baseCap, (long)heads * baseCap, options.Normalize, arrays.Sort, h);
            }
        });
        var clock = Stopwatch.StartNew();

        var redundancy = new double[heads];
        for (int h = 0; h < heads; h++)
        {
            redundancy[h] = options.Redundancy is { } table ? table[layer.Index, h] : results[h].Redundancy;
        }

        team.For(heads, (h, _) => FastMix.ComputeHead(options.Score, attention[h], results[h], redundancy[h], scores[h]));
        TimeSpan tMix = Lap(clock);
        float[]? flatScores = withScores ? Flatten(scores, prefix) : null;

        int[] caps = uncompressed ? [] : FastBudget.Caps(options, layer, attention, heads, tokens, Workers, arrays.Sort, headsSorted: sortHeads);
        TimeSpan tBudget = Lap(clock);
        KeptTokens kept = uncompressed ? Uncompressed(heads, tokens, prefix, flatScores) : Select(scores, caps, prefix, window, flatScores, arrays.SelectKeys, team);
        TimeSpan tSelect = Lap(clock);

        var timings = new StageTimings(tScores, tStats, tMix, tBudget, tSelect, TimeSpan.Zero);
        FastIntermediates? details = keepIntermediates
            ? new FastIntermediates(attention, scores, Array.ConvertAll(results, r => r.KeyNorms[..prefix]), Array.ConvertAll(results, r => r.ValueNorms),
                Array.ConvertAll(results, r => r.Similarity), Array.ConvertAll(results, r => r.Redundancy), caps)
            : null;
        return (Gather(keys, values, inputs, kept, timings, team), details);
    }

    /// <summary>After a pass saw NaN/Inf (or an fp32 overflow): the exact check, which throws the reference's exception when the input really is non-finite.</summary>
    private static bool CheckFinite(FastLayer fast, LayerInputs inputs, CompressionOptions options, LayerPosition layer, bool alreadyChecked)
    {
        if (alreadyChecked || !fast.SawNonFinite)
        {
            return alreadyChecked;
        }

        InputValidator.Validate(inputs, options, layer);
        return true;
    }

    private static KeptTokens Select(double[][] scores, int[] caps, int prefix, int window, float[]? flatScores, double[][] selectKeys, WorkerTeam team)
    {
        int heads = scores.Length;
        var lens = new int[heads];
        for (int h = 0; h < heads; h++)
        {
            lens[h] = caps[h] + window;
        }

        var offsets = new int[heads + 1];
        for (int h = 0; h < heads; h++)
        {
            offsets[h + 1] = offsets[h] + lens[h];
        }

        var positions = new int[offsets[heads]];
        team.For(heads, (h, _) =>
        {
            Span<int> row = positions.AsSpan(offsets[h], lens[h]);
            TopKSelect.Select(scores[h], caps[h], row[..caps[h]], selectKeys[h]);
            for (int w = 0; w < window; w++)
            {
                row[caps[h] + w] = prefix + w;
            }
        });

        return new KeptTokens(true, lens, positions, prefix, flatScores);
    }

    private static CompressedLayer Gather(PinnedRows keys, PinnedRows values, LayerInputs inputs, KeptTokens kept, StageTimings timings, WorkerTeam team)
    {
        var clock = Stopwatch.StartNew();
        long bytes = (long)kept.TotalTokens * inputs.Keys.RowBytes;
        byte[] outKeys = GC.AllocateUninitializedArray<byte>(checked((int)bytes));
        byte[] outValues = GC.AllocateUninitializedArray<byte>(outKeys.Length);
        FastGather.Flattened(keys, values, kept, outKeys, outValues, team);
        return new CompressedLayer(kept, outKeys, outValues, inputs.Keys.DType, inputs.HeadDim, timings with { Gather = clock.Elapsed });
    }

    private static unsafe PinnedRows Pinned(Tensors.HeadTensor tensor, MemoryHandle pin) => new(tensor, (byte*)pin.Pointer);

    private static KeptTokens Uncompressed(int heads, int tokens, int prefix, float[]? scores)
    {
        var all = new int[(long)heads * tokens];
        for (int h = 0; h < heads; h++)
        {
            for (int n = 0; n < tokens; n++)
            {
                all[((long)h * tokens) + n] = n;
            }
        }

        return new KeptTokens(false, Enumerable.Repeat(tokens, heads).ToArray(), all, prefix, scores);
    }

    private static float[] Flatten(double[][] rows, int width)
    {
        var flat = new float[rows.Length * width];
        for (int h = 0; h < rows.Length; h++)
        {
            for (int n = 0; n < width; n++)
            {
                flat[(h * width) + n] = (float)rows[h][n];
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
