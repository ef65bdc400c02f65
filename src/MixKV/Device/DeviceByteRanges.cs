using MixKV.Interop;
using MixKV.Tensors;

namespace MixKV.Device;

/// <summary>
/// The device bytes one call reads and writes, each named as its argument, and the rule between them:
/// nothing the call writes may share a byte with anything else it writes or reads. A workspace laid
/// over the keys, or positions inside K', would otherwise run to the end and leave the caller's cache
/// or the result quietly wrong. A strided input counts from its first element to its last (the gaps
/// between its rows included): buffers of their own never fall in there.
/// </summary>
internal sealed class DeviceByteRanges
{
    private readonly List<Range> written = [];
    private readonly List<Range> read = [];
    private (string, string)? mayInterleave;

    /// <summary>A buffer the call writes: <paramref name="bytes"/> from <paramref name="start"/> (0 bytes: nothing).</summary>
    public DeviceByteRanges Writes(string name, DevicePointer start, long bytes) => Add(written, Range.Of(name, start, bytes));

    /// <summary>A tensor the call may overwrite anywhere between its first and last element.</summary>
    public DeviceByteRanges Writes(string name, DeviceTensor tensor) => Add(written, Range.Of(name, tensor));

    /// <summary>A buffer the call only reads.</summary>
    public DeviceByteRanges Reads(string name, DevicePointer start, long bytes) => Add(read, Range.Of(name, start, bytes));

    /// <summary>A tensor the call only reads.</summary>
    public DeviceByteRanges Reads(string name, DeviceTensor tensor) => Add(read, Range.Of(name, tensor));

    /// <summary>Two written tensors whose views may interleave (the call writes only its own elements of each).</summary>
    public DeviceByteRanges MayInterleave(string first, string second)
    {
        mayInterleave = (first, second);
        return this;
    }

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> naming the written argument of the first shared byte
    /// found, in argument order: the later of two written buffers, or the written one beside a read one.
    /// <paramref name="why"/>, when given, ends the message.
    /// </summary>
    public void RequireDisjoint(string? why = null)
    {
        string end = why is null ? "" : $"; {why}";
        for (int i = 0; i < written.Count; i++)
        {
            for (int j = 0; j < i; j++)
            {
                if (!Interleaves(written[i].Name, written[j].Name))
                {
                    Require(written[i], written[j], $"every buffer the call writes needs bytes of its own{end}");
                }
            }

            foreach (Range input in read)
            {
                Require(written[i], input, $"the call writes {written[i].Name} and only reads {input.Name}{end}");
            }
        }
    }

    private DeviceByteRanges Add(List<Range> ranges, Range range)
    {
        ranges.Add(range);
        return this;
    }

    private bool Interleaves(string a, string b) => mayInterleave is (string first, string second) && ((a == first && b == second) || (a == second && b == first));

    private static void Require(Range a, Range b, string rule)
    {
        if (a.Overlaps(b))
        {
            throw new ArgumentException($"{a.Name} {a} overlaps {b.Name} {b}: {rule}", a.Name);
        }
    }

    private readonly record struct Range(string Name, ulong Start, ulong End)
    {
        public static Range Of(string name, DevicePointer start, long bytes) =>
            new(name, start.Address, start.Address + (ulong)Math.Max(bytes, 0));

        /// <summary>First element to last (strides are validated non-negative before this).</summary>
        public static Range Of(string name, DeviceTensor t)
        {
            long elements = t.Heads == 0 || t.Tokens == 0 || t.Dim == 0
                ? 0
                : ((t.Heads - 1L) * t.HeadStride) + ((t.Tokens - 1L) * t.TokenStride) + t.Dim;
            return Of(name, t.Pointer, elements * t.DType.Size());
        }

        public bool Overlaps(Range other) => Start < End && other.Start < other.End && Start < other.End && other.Start < End;

        public override string ToString() => $"[0x{Start:x}, 0x{End:x})";
    }
}
