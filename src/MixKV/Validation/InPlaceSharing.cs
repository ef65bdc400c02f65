using MixKV.Tensors;

namespace MixKV.Validation;

/// <summary>
/// The host in-place call's rule on shared memory, as the device's (DeviceByteRanges): what it writes
/// must not share bytes with anything else it touches. Dense rows go back into their own head's rows,
/// so K and V may interleave in one buffer ([N, 2, Hkv, D]); flattened rows are packed from the start
/// of each view, across whatever the other tensor keeps there. The window queries are read and must
/// stay as the caller had them. Checked before any row moves.
/// </summary>
internal static class InPlaceSharing
{
    /// <param name="window">The window rows the call reads: W when N &gt;= W, else 0 (no query is read), as DevicePlan.ReadsWindow.</param>
    public static void Validate(LayerInputs inputs, OutputLayout layout, int keptTokens, int window)
    {
        ReadOnlySpan<byte> keys = Extent(inputs.Keys), values = Extent(inputs.Values), queries = Extent(inputs.WindowQueries(window));
        Require(!queries.Overlaps(keys), "queries", "the window queries share bytes with the keys, which the in-place call overwrites");
        Require(!queries.Overlaps(values), "queries", "the window queries share bytes with the values, which the in-place call overwrites");
        if (layout == OutputLayout.Flattened)
        {
            Require(!Packed(inputs.Keys, keptTokens).Overlaps(values), "values", "the flattened in-place call packs the kept keys over the values' rows: keep K and V in buffers of their own, or use the dense layout");
            Require(!Packed(inputs.Values, keptTokens).Overlaps(keys), "values", "the flattened in-place call packs the kept values over the keys' rows: keep K and V in buffers of their own, or use the dense layout");
        }
    }

    /// <summary>The bytes from the view's first element to its last.</summary>
    private static ReadOnlySpan<byte> Extent(HeadTensor t)
    {
        long start = t.Offset * t.ElementSize, end = t.ElementExtent() * t.ElementSize;
        return end <= start ? [] : t.Data.Span[(int)start..(int)end];
    }

    /// <summary>The [T, D] rows a flattened in-place call writes from the start of the view (they fit: checked before).</summary>
    private static ReadOnlySpan<byte> Packed(HeadTensor t, int keptTokens)
    {
        long start = t.Offset * t.ElementSize;
        return t.Data.Span.Slice((int)start, (int)((long)keptTokens * t.Dim * t.ElementSize));
    }

    private static void Require(bool rule, string name, string message)
    {
        if (!rule)
        {
            throw new ArgumentException(message, name);
        }
    }
}
