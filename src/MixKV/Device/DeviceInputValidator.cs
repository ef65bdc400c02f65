using MixKV.Interop;
using MixKV.Tensors;

namespace MixKV.Device;

/// <summary>
/// Spec section 8 for raw device buffers: every pointer non-null and aligned to its element, shapes
/// matching the plan, strides non-aliasing, output capacity at least the plan's bound, and nothing the
/// call writes sharing bytes with anything else it touches (<see cref="DeviceByteRanges"/>). Runs before
/// the first launch, so a rejected call has queued nothing.
/// </summary>
internal static class DeviceInputValidator
{
    public static void Validate(DevicePlan plan, DeviceTensor keys, DeviceTensor values, DeviceTensor queries, DeviceLayerOutput output, DevicePointer workspace, long workspaceBytes)
    {
        Inputs(plan, keys, values, queries);
        Pointer(output.Keys, "output.Keys", keys.DType.Size());
        Pointer(output.Values, "output.Values", keys.DType.Size());
        Pointer(output.Positions, "output.Positions", sizeof(int));
        Pointer(output.HeadLens, "output.HeadLens", sizeof(int));
        Pointer(output.CuLens, "output.CuLens", sizeof(int));
        Require(output.CapacityTokens >= plan.MaxOutputTokens, nameof(output), $"output capacity too small: {output.CapacityTokens} rows, the plan can keep up to {plan.MaxOutputTokens}");
        Pointer(workspace, nameof(workspace), 256);
        Require(workspaceBytes >= plan.WorkspaceBytes, nameof(workspace), $"workspace of {workspaceBytes} bytes is smaller than the {plan.WorkspaceBytes} the plan needs");
        long rowBytes = (long)plan.HeadDim * keys.DType.Size();
        new DeviceByteRanges()
            .Writes("output.Keys", output.Keys, plan.MaxOutputTokens * rowBytes)
            .Writes("output.Values", output.Values, plan.MaxOutputTokens * rowBytes)
            .Writes("output.Positions", output.Positions, (long)plan.MaxOutputTokens * sizeof(int))
            .Writes("output.HeadLens", output.HeadLens, (long)plan.KvHeads * sizeof(int))
            .Writes("output.CuLens", output.CuLens, (plan.KvHeads + 1L) * sizeof(int))
            .Writes(nameof(workspace), workspace, plan.WorkspaceBytes)
            .Reads(nameof(keys), keys)
            .Reads(nameof(values), values)
            .Reads(nameof(queries), plan.WindowRowsOf(queries))
            .RequireDisjoint();
    }

    private static void Inputs(DevicePlan plan, DeviceTensor keys, DeviceTensor values, DeviceTensor queries)
    {
        Tensor(keys, nameof(keys), plan.KvHeads, plan.Tokens, plan.HeadDim);
        Tensor(values, nameof(values), plan.KvHeads, plan.Tokens, plan.HeadDim);
        Require(values.DType == keys.DType, nameof(values), $"values dtype {values.DType.Name()} differs from keys dtype {keys.DType.Name()}");
        Require(queries.DType == keys.DType, nameof(queries), $"queries dtype {queries.DType.Name()} differs from keys dtype {keys.DType.Name()}");
        Require(queries.Heads == plan.QueryHeads && queries.Dim == plan.HeadDim, nameof(queries), $"queries must be [{plan.QueryHeads}, >= {plan.Window}, {plan.HeadDim}] (got [{queries.Heads}, {queries.Tokens}, {queries.Dim}])");
        Require(queries.Tokens >= plan.Window || !plan.ReadsWindow, nameof(queries), $"queries have {queries.Tokens} rows but the window needs {plan.Window} (Wq >= W)");
        Tensor(queries, nameof(queries), queries.Heads, queries.Tokens, queries.Dim);
    }

    public static void ValidateInPlace(DevicePlan plan, DeviceTensor keys, DeviceTensor values, DeviceTensor queries, DeviceSelection selection, OutputLayout layout, DevicePointer workspace, long workspaceBytes, DevicePointer staging, long stagingBytes)
    {
        Inputs(plan, keys, values, queries);
        Require(Enum.IsDefined(layout), nameof(layout), $"unknown output layout {layout}");
        // Caps drawn on the device are known only after the call, so the dense layout takes them only
        // where they cannot differ: one KV head.
        Require(layout != OutputLayout.Dense || !plan.DeviceCaps || plan.KvHeads == 1, nameof(layout), "the dense layout needs one cap for every head; AdaKV caps differ per head: use the flattened layout");
        Pointer(selection.Positions, "selection.Positions", sizeof(int));
        Pointer(selection.HeadLens, "selection.HeadLens", sizeof(int));
        Pointer(selection.CuLens, "selection.CuLens", sizeof(int));
        Require(selection.CapacityTokens >= plan.MaxOutputTokens, nameof(selection), $"output capacity too small: {selection.CapacityTokens} positions, the plan can keep up to {plan.MaxOutputTokens}");
        Pointer(workspace, nameof(workspace), 256);
        Require(workspaceBytes >= plan.WorkspaceBytes, nameof(workspace), $"workspace of {workspaceBytes} bytes is smaller than the {plan.WorkspaceBytes} the plan needs");
        Pointer(staging, nameof(staging), keys.DType.Size());
        long needed = (long)plan.MaxOutputTokens * plan.HeadDim * keys.DType.Size();
        Require(stagingBytes >= needed, nameof(staging), $"staging of {stagingBytes} bytes is smaller than one compressed cache ({needed} bytes)");
        var ranges = new DeviceByteRanges()
            .Writes(nameof(keys), keys)
            .Writes(nameof(values), values)
            .Writes("selection.Positions", selection.Positions, (long)plan.MaxOutputTokens * sizeof(int))
            .Writes("selection.HeadLens", selection.HeadLens, (long)plan.KvHeads * sizeof(int))
            .Writes("selection.CuLens", selection.CuLens, (plan.KvHeads + 1L) * sizeof(int))
            .Writes(nameof(workspace), workspace, plan.WorkspaceBytes)
            .Writes(nameof(staging), staging, needed)
            .Reads(nameof(queries), plan.WindowRowsOf(queries));
        if (layout == OutputLayout.Dense)
        {
            // Dense rows go back into their own head's rows, so K and V views that interleave in one
            // buffer (a [N, 2, H, D] cache) stay apart; the flattened layout packs rows from the start
            // of each buffer, across whatever the other tensor keeps there.
            ranges.MayInterleave(nameof(keys), nameof(values));
        }

        ranges.RequireDisjoint();
    }

    public static void ValidateAppend(DeviceFlatCache cache, DevicePointer keys, DevicePointer values, DevicePointer positions, int capacity, DevicePointer newKeys, DevicePointer newValues, int position, DevicePointer status)
    {
        Require(Enum.IsDefined(cache.DType), nameof(cache), $"unsupported dtype {(int)cache.DType}");
        Require(cache.KvHeads >= 1 && cache.HeadDim >= 1, nameof(cache), $"KV heads and head dim must be >= 1 (got {cache.KvHeads}, {cache.HeadDim})");
        Require(cache.CapacityTokens >= 0, "cache.CapacityTokens", $"capacity must be >= 0 (got {cache.CapacityTokens})");
        int size = cache.DType.Size();
        Pointer(cache.Keys, "cache.Keys", size);
        Pointer(cache.Values, "cache.Values", size);
        Pointer(cache.Positions, "cache.Positions", sizeof(int));
        Pointer(cache.HeadLens, "cache.HeadLens", sizeof(int));
        Pointer(cache.CuLens, "cache.CuLens", sizeof(int));
        Pointer(keys, "destinationKeys", size);
        Pointer(values, "destinationValues", size);
        Pointer(positions, "destinationPositions", sizeof(int));
        Pointer(newKeys, nameof(newKeys), size);
        Pointer(newValues, nameof(newValues), size);
        Pointer(status, nameof(status), sizeof(int));
        Require(capacity >= cache.KvHeads, "destinationCapacity", $"capacity {capacity} cannot even hold one new row per head ({cache.KvHeads})");
        Require(position >= 0, nameof(position), $"position must be >= 0 (got {position})");
        long rowBytes = (long)cache.HeadDim * size;
        new DeviceByteRanges()
            .Writes("destinationKeys", keys, capacity * rowBytes)
            .Writes("destinationValues", values, capacity * rowBytes)
            .Writes("destinationPositions", positions, (long)capacity * sizeof(int))
            .Writes("cache.HeadLens", cache.HeadLens, (long)cache.KvHeads * sizeof(int))
            .Writes("cache.CuLens", cache.CuLens, (cache.KvHeads + 1L) * sizeof(int))
            .Writes(nameof(status), status, sizeof(int))
            .Reads("cache.Keys", cache.Keys, cache.CapacityTokens * rowBytes)
            .Reads("cache.Values", cache.Values, cache.CapacityTokens * rowBytes)
            .Reads("cache.Positions", cache.Positions, (long)cache.CapacityTokens * sizeof(int))
            .Reads(nameof(newKeys), newKeys, cache.KvHeads * rowBytes)
            .Reads(nameof(newValues), newValues, cache.KvHeads * rowBytes)
            .RequireDisjoint("the append is out of place: its destination is a cache of its own");
    }

    public static void Pointer(DevicePointer pointer, string name, int alignment)
    {
        Require(pointer.Address != 0, name, "device pointer is null");
        Require(pointer.Address % (ulong)alignment == 0, name, $"device pointer {pointer} is not aligned to {alignment} bytes");
    }

    private static void Tensor(DeviceTensor t, string name, int heads, int tokens, int dim)
    {
        Require(Enum.IsDefined(t.DType), name, $"unsupported dtype {(int)t.DType} (F32, F16 and BF16 are supported)");
        Require(t.Heads == heads && t.Tokens == tokens && t.Dim == dim, name, $"{name} must be [{heads}, {tokens}, {dim}] (got [{t.Heads}, {t.Tokens}, {t.Dim}])");
        Pointer(t.Pointer, name, t.DType.Size());
        Require(t.HeadStride >= 0 && t.TokenStride >= 0, name, $"strides must be non-negative (head stride {t.HeadStride}, token stride {t.TokenStride})");
        bool aliased = t.Heads > 1 && t.Tokens > 1
            ? Math.Min(t.HeadStride, t.TokenStride) < dim || Math.Max(t.HeadStride, t.TokenStride) < Math.Min(t.HeadStride, t.TokenStride) * (t.HeadStride < t.TokenStride ? t.Heads : t.Tokens)
            : (t.Heads > 1 && t.HeadStride < dim) || (t.Tokens > 1 && t.TokenStride < dim);
        Require(!aliased, name, $"strides alias rows (head stride {t.HeadStride}, token stride {t.TokenStride}, head dim {dim})");
    }

    private static void Require(bool rule, string name, string message)
    {
        if (!rule)
        {
            throw new ArgumentException(message, name);
        }
    }
}
