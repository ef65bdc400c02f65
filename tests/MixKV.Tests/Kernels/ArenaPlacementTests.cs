using MixKV.Device;
using MixKV.Interop;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Kernels;

/// <summary>
/// Engines carve a layer's buffers out of one arena. Here K, V, Q, the five outputs and the workspace
/// are laid end to end in one emulated device allocation with random gaps, some of them negative, so
/// a buffer sometimes runs into the next. The call must be refused exactly when a buffer it writes
/// shares a byte with another of its buffers (the inputs never share here: their bytes would differ
/// from the layer's), changing nothing; otherwise it must give the bytes the same layer gives in
/// buffers of their own and write nothing in the arena but its outputs and workspace. Packed with
/// no gap, a kernel writing one byte past its buffer shows as a changed neighbour.
/// </summary>
[TestFixture]
public sealed class ArenaPlacementTests : EmulatedKernelFixture
{
    private const int Draws = 8;

    [Test]
    public void BuffersAnywhereInOneArenaRunExactlyWhenTheyShareNoWrittenByte()
    {
        TestRandom rng = KernelCheck.Seeded();
        int refused = 0;
        for (int draw = 0; draw < Draws; draw++)
        {
            refused += CheckOneDraw(rng, draw) ? 0 : 1;
        }

        TestContext.Out.WriteLine($"{Draws - refused} draws ran, {refused} were refused");
    }

    /// <summary>One random layer and placement; true when the call ran.</summary>
    private bool CheckOneDraw(TestRandom rng, int draw)
    {
        DType dtype = rng.Pick([DType.F32, DType.F16, DType.BF16]);
        int heads = rng.Int(1, 3), groups = rng.Int(1, 3), tokens = rng.Int(24, 120), dim = rng.Int(1, 40), window = rng.Int(2, 8);
        var options = new CompressionOptions { Method = rng.Pick([BudgetMethod.SnapKV, BudgetMethod.PyramidKV, BudgetMethod.AdaKV]), Window = window, Budget = window + rng.Int(1, tokens - window - 1) };
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, dtype);
        DevicePlan plan = backend.Plan(heads * groups, heads, tokens, dim, options, LayerPosition.Single);
        CompressedLayer expected = backend.Compress(data.Store(TensorLayout.Hnd).Inputs, options, LayerPosition.Single);
        int size = dtype.Size(), rowBytes = dim * size;

        byte[] Body(float[][][] tensor) => DeviceInputs.Body(DeviceInputs.Pack(tensor, dtype, TensorLayout.Hnd));
        Buffer[] buffers =
        [
            new("keys", Body(data.Keys).Length, size, Body(data.Keys)),
            new("values", Body(data.Values).Length, size, Body(data.Values)),
            new("queries", Body(data.Queries).Length, size, Body(data.Queries)),
            new("output.Keys", (long)plan.MaxOutputTokens * rowBytes, size, null),
            new("output.Values", (long)plan.MaxOutputTokens * rowBytes, size, null),
            new("output.Positions", (long)plan.MaxOutputTokens * sizeof(int), sizeof(int), null),
            new("output.HeadLens", heads * sizeof(int), sizeof(int), null),
            new("output.CuLens", (heads + 1) * sizeof(int), sizeof(int), null),
            new("workspace", plan.WorkspaceBytes, 256, null),
        ];
        long arenaBytes = Place(rng, buffers);
        Buffer Get(string name) => buffers.Single(b => b.Name == name);
        string placement = string.Join(", ", buffers.OrderBy(b => b.Offset).Select(b => $"{b.Name} [{b.Offset}, {b.Offset + b.Bytes})"));
        string say = rng.Say($"draw {draw}: {options.Method} {dtype} Hkv {heads} G {groups} N {tokens} D {dim} W {window} budget {options.Budget}; {placement}");

        using var arena = new DeviceRegion(backend.Runtime, arenaBytes);
        foreach (Buffer input in buffers.Where(b => b.Content is not null))
        {
            input.Content!.CopyTo(arena.Span[(int)input.Offset..]);
        }

        byte[] before = arena.Span.ToArray();
        DeviceTensor Tensor(string name, int rows, int tensorHeads) =>
            DeviceTensor.Create(arena.Pointer.AddBytes(Get(name).Offset), dtype, TensorLayout.Hnd, tensorHeads, rows, dim);
        DevicePointer At(string name) => arena.Pointer.AddBytes(Get(name).Offset);
        var output = new DeviceLayerOutput(At("output.Keys"), At("output.Values"), At("output.Positions"), At("output.HeadLens"), At("output.CuLens"), plan.MaxOutputTokens);
        void Run() => backend.Enqueue(plan, Tensor("keys", tokens, heads), Tensor("values", tokens, heads), Tensor("queries", window, heads * groups), output, At("workspace"), plan.WorkspaceBytes);

        bool shared = buffers.Any(a => buffers.Any(b => a != b && (a.Content is null || b.Content is null) && Overlap(a, b)));
        if (shared)
        {
            Assert.Throws<ArgumentException>(Run, say);
            Assert.That(arena.Span.ToArray(), Is.EqualTo(before), $"{say}: a refused call changes nothing");
            arena.AssertGuardsIntact(say);
            return false;
        }

        Run();
        backend.Runtime.Synchronize();

        int kept = expected.Kept.TotalTokens;
        Assert.That(backend.ReadRejection(plan, At("workspace")), Is.EqualTo(DeviceRejection.None), say);
        Assert.That(arena.As<int>().Slice((int)(Get("output.HeadLens").Offset / sizeof(int)), heads).ToArray(), Is.EqualTo(expected.Kept.HeadLens), $"{say}: head_lens");
        Assert.That(arena.As<int>().Slice((int)(Get("output.CuLens").Offset / sizeof(int)), heads + 1).ToArray(), Is.EqualTo(expected.Kept.CuLens), $"{say}: cu_lens");
        Assert.That(arena.As<int>().Slice((int)(Get("output.Positions").Offset / sizeof(int)), kept).ToArray(), Is.EqualTo(expected.Kept.Positions), $"{say}: positions");
        Assert.That(arena.Span.Slice((int)Get("output.Keys").Offset, kept * rowBytes).ToArray(), Is.EqualTo(expected.Keys), $"{say}: K'");
        Assert.That(arena.Span.Slice((int)Get("output.Values").Offset, kept * rowBytes).ToArray(), Is.EqualTo(expected.Values), $"{say}: V'");

        // Everything but the workspace and the written part of each output is as it was: inputs, gaps, the outputs' tails.
        (string Name, long Bytes)[] written = [("output.Keys", (long)kept * rowBytes), ("output.Values", (long)kept * rowBytes), ("output.Positions", (long)kept * sizeof(int)),
            ("output.HeadLens", heads * sizeof(int)), ("output.CuLens", (heads + 1) * sizeof(int)), ("workspace", plan.WorkspaceBytes)];
        byte[] after = arena.Span.ToArray();
        foreach ((string name, long bytes) in written)
        {
            Array.Copy(after, Get(name).Offset, before, Get(name).Offset, bytes);
        }

        Sentinel.AssertSameBytes(before, after, $"{say}: bytes outside the outputs' kept rows and the workspace");
        arena.AssertGuardsIntact(say);
        return true;
    }

    /// <summary>
    /// Lays the buffers end to end in a random order from offset 0, each aligned, with a gap of 0-3
    /// alignments; in half the draws one of them (where a written buffer is involved) steps back into
    /// the buffer that ends last instead. Drawn again until no two inputs share a byte. Returns the
    /// arena's size.
    /// </summary>
    private static long Place(TestRandom rng, Buffer[] buffers)
    {
        while (true)
        {
            rng.Shuffle(buffers);
            int stepBack = rng.Coin() ? rng.Int(1, buffers.Length - 1) : -1;
            long end = 0;
            Buffer? last = null;
            for (int i = 0; i < buffers.Length; i++)
            {
                Buffer b = buffers[i];
                bool mayShare = last is not null && (last.Content is null || b.Content is null);
                long start = mayShare && i == stepBack
                    ? end - rng.Int(1, (int)Math.Min(last!.Bytes, b.Bytes))
                    : end + (rng.Int(0, 3) * b.Alignment);
                b.Offset = Math.Max(0, (start + b.Alignment - 1) / b.Alignment * b.Alignment);
                if (b.Offset + b.Bytes >= end)
                {
                    (end, last) = (b.Offset + b.Bytes, b);
                }
            }

            Buffer[] inputs = buffers.Where(b => b.Content is not null).ToArray();
            if (!inputs.Any(a => inputs.Any(b => a != b && Overlap(a, b))))
            {
                return end;
            }
        }
    }

    private static bool Overlap(Buffer a, Buffer b) => a.Offset < b.Offset + b.Bytes && b.Offset < a.Offset + a.Bytes;

    /// <summary>One argument's bytes in the arena: inputs carry their content, outputs and workspace none.</summary>
    private sealed class Buffer(string name, long bytes, int alignment, byte[]? content)
    {
        public string Name { get; } = name;

        public long Bytes { get; } = bytes;

        public int Alignment { get; } = alignment;

        public byte[]? Content { get; } = content;

        public long Offset { get; set; }
    }
}
