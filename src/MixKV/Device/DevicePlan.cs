using MixKV.Options;
using MixKV.Reference;
using MixKV.Validation;

namespace MixKV.Device;

/// <summary>
/// Everything about one layer's device run that follows from shapes and options alone, decided once
/// on the host before any launch (style point 2): whether the layer is compressed, the uniform cap
/// or device-side AdaKV allocation, the output bound and the workspace size. AdaKV capacities stay
/// on the device; <see cref="MaxOutputTokens"/> bounds what they can add up to.
/// </summary>
public sealed class DevicePlan
{
    private DevicePlan(int queryHeads, int kvHeads, int tokens, int headDim, CompressionOptions options, LayerPosition layer)
    {
        QueryHeads = queryHeads;
        KvHeads = kvHeads;
        Tokens = tokens;
        HeadDim = headDim;
        Options = options;
        Layer = layer;
        Compressed = !Budget.IsUncompressed(options, layer, tokens);

        // N < W: nothing competes; the whole layer is "window" (spec section 5).
        Window = Math.Min(options.Window, tokens);
        Prefix = tokens - Window;
        int baseCap = options.Budget - options.Window;
        if (!Compressed)
        {
            UniformCap = Prefix;
        }
        else if (options.Method == BudgetMethod.AdaKV && layer.Index >= options.Skip)
        {
            DeviceCaps = true;
            UniformCap = -1;
        }
        else
        {
            UniformCap = Budget.Caps(options, layer, [], kvHeads, tokens)[0];
        }

        // AdaKV: sum of round(count·(1-α) + floor(base·α)) <= Hkv·base + Hkv/2, each cap <= P.
        int maxCap = DeviceCaps ? Math.Min(Prefix, baseCap + 1) : UniformCap;
        MaxRowsPerHead = maxCap + Window;
        MaxOutputTokens = checked(kvHeads * MaxRowsPerHead);
        WorkspaceBytes = Kernels.KernelWorkspace.RequiredBytes(queryHeads, kvHeads, tokens, headDim, Window);
    }

    public int QueryHeads { get; }

    public int KvHeads { get; }

    public int Tokens { get; }

    public int HeadDim { get; }

    public CompressionOptions Options { get; }

    public LayerPosition Layer { get; }

    /// <summary>False when the layer is returned unchanged (all N rows per head).</summary>
    public bool Compressed { get; }

    /// <summary>Window rows kept per head: W, or N when N &lt; W.</summary>
    public int Window { get; }

    public int Prefix { get; }

    /// <summary>
    /// Whether the call reads the window queries (their last W rows): only when N &gt;= W. A shorter layer
    /// is kept whole (spec section 5), and its queries need not even have W rows, as on the host.
    /// </summary>
    public bool ReadsWindow => Tokens >= Options.Window;

    /// <summary>The rows of <paramref name="queries"/> the call reads: the last W, none when N &lt; W.</summary>
    internal DeviceTensor WindowRowsOf(DeviceTensor queries) =>
        ReadsWindow ? queries.SliceTokens(queries.Tokens - Window, Window) : queries with { Tokens = 0 };

    /// <summary>Caps are computed on the device (AdaKV past its skip layers).</summary>
    public bool DeviceCaps { get; }

    /// <summary>The cap of every head when <see cref="DeviceCaps"/> is false.</summary>
    public int UniformCap { get; }

    public int MaxRowsPerHead { get; }

    /// <summary>Upper bound of T; output buffers must hold this many rows.</summary>
    public int MaxOutputTokens { get; }

    /// <summary>Scratch bytes the caller hands to the run.</summary>
    public long WorkspaceBytes { get; }

    /// <summary>Heads are a grid axis of several kernels (gridDim.y, at most 65535).</summary>
    private const int MaxGridHeads = 65535;

    /// <summary>Validates options and shapes (spec section 8) and plans the run.</summary>
    public static DevicePlan Create(int queryHeads, int kvHeads, int tokens, int headDim, CompressionOptions options, LayerPosition layer)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        InputValidator.ValidateLayer(layer);
        Require(kvHeads >= 1, nameof(kvHeads), $"KV heads must be >= 1 (got {kvHeads})");
        Require(queryHeads >= 1, nameof(queryHeads), $"query heads must be >= 1 (got {queryHeads})");
        Require(queryHeads % kvHeads == 0, nameof(queryHeads), $"query heads ({queryHeads}) must be a multiple of KV heads ({kvHeads})");
        Require(tokens >= 1, nameof(tokens), $"tokens must be >= 1 (got {tokens})");
        Require(headDim >= 1, nameof(headDim), $"head dim must be >= 1 (got {headDim})");
        Require(queryHeads <= MaxGridHeads, nameof(queryHeads), $"the device kernels take at most {MaxGridHeads} query heads (got {queryHeads})");
        if (options.Redundancy is { } table)
        {
            Require(table.LayerCount == layer.Count, nameof(options), $"redundancy table has {table.LayerCount} layers but the model has {layer.Count}");
            Require(table.HeadCount(layer.Index) == kvHeads, nameof(options), $"redundancy table layer {layer.Index} has {table.HeadCount(layer.Index)} heads but keys have {kvHeads}");
        }

        return new DevicePlan(queryHeads, kvHeads, tokens, headDim, options, layer);
    }

    private static void Require(bool rule, string name, string message)
    {
        if (!rule)
        {
            throw new ArgumentException(message, name);
        }
    }
}
