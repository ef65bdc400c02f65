using System.Runtime.InteropServices;
using MixKV.Device;
using MixKV.Interop;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Kernels;

/// <summary>
/// An engine's whole use of a layer on the device: Enqueue compresses it into flattened outputs, then
/// each decode step appends one row per head with <see cref="KernelBackend.EnqueueAppend"/>, ping-ponging
/// between two buffer sets while head_lens and cu_lens grow in place. After every step the cache must
/// be what <see cref="Ref.Append"/> makes of the same compressed layer and rows; in half the draws the
/// capacity runs out at a drawn step, which must report Overflow and change nothing.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class DecodeLoopTests : EmulatedKernelFixture
{
    private const int Draws = 6;

    [Test]
    public void AppendStepsAfterEnqueueMatchTheReferenceAppend()
    {
        TestRandom rng = KernelCheck.Seeded();
        for (int draw = 0; draw < Draws; draw++)
        {
            DecodeLoop(rng, $"draw {draw}");
        }
    }

    private void DecodeLoop(TestRandom rng, string draw)
    {
        DType dtype = rng.Pick([DType.F32, DType.F16, DType.BF16]);
        int heads = rng.Int(1, 4), groups = rng.Int(1, 3), tokens = rng.Int(40, 300), dim = rng.Pick([3, 4, 7, 16, 32, 64]), window = rng.Int(1, 16);
        var options = new CompressionOptions
        {
            Method = rng.Pick(Enum.GetValues<BudgetMethod>()),
            Score = rng.Pick(Enum.GetValues<ScoreMode>()),
            Window = window,
            Budget = window + rng.Int(1, tokens - window),
        };
        var layer = new LayerPosition(rng.Int(0, 2), 3);
        TensorLayout layout = rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd;
        int steps = rng.Int(2, 8), overflowAt = rng.Coin() ? rng.Int(0, steps - 1) : -1;
        string say = rng.Say($"{draw}: {dtype.Name()} Hkv {heads} G {groups} N {tokens} D {dim} W {window} {options.Method.Name()}/{options.Score.Name()} budget {options.Budget} layer {layer} {layout}, {steps} steps, overflow at {overflowAt}");

        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, dtype);
        DevicePlan plan = backend.Plan(heads * groups, heads, tokens, dim, options, layer);
        int rowBytes = dim * dtype.Size();
        using DeviceRegion keys = DeviceInputs.Upload(backend.Runtime, data.Keys, dtype, layout, out DeviceTensor keysView);
        using DeviceRegion values = DeviceInputs.Upload(backend.Runtime, data.Values, dtype, layout, out DeviceTensor valuesView);
        using DeviceRegion queries = DeviceInputs.Upload(backend.Runtime, data.Queries, dtype, layout, out DeviceTensor queriesView);
        using var workspace = new DeviceRegion(backend.Runtime, plan.WorkspaceBytes);
        using var compressed = new PoisonedOutputs(backend.Runtime, plan, rowBytes);
        backend.Enqueue(plan, keysView, valuesView, queriesView, compressed.Layer, workspace.Pointer, workspace.Bytes);
        Assert.That(backend.ReadRejection(plan, workspace.Pointer), Is.EqualTo(DeviceRejection.None), say);

        // The host's copy of the compressed cache, with room for every step (or, to overflow, for fewer).
        byte[][] start = compressed.Snapshot();
        int[] lens = MemoryMarshal.Cast<byte, int>(start[3]).ToArray();
        int live = lens.Sum();
        int capacity = overflowAt < 0 ? live + steps * heads + rng.Int(0, 3) : live + overflowAt * heads + rng.Int(0, heads - 1);
        var expected = new FlatCache(KernelCheck.Padded(start[0], capacity * rowBytes), KernelCheck.Padded(start[1], capacity * rowBytes), dtype, dim, capacity, lens,
            MemoryMarshal.Cast<byte, int>(KernelCheck.Padded(start[2], capacity * sizeof(int))).ToArray());

        using var setA = new RowSet(backend, capacity, rowBytes);
        using var setB = new RowSet(backend, capacity, rowBytes);
        using var status = new DeviceRegion(backend.Runtime, sizeof(int));
        var source = new DeviceFlatCache(compressed.Layer.Keys, compressed.Layer.Values, compressed.Layer.Positions, compressed.Layer.HeadLens, compressed.Layer.CuLens, dtype, heads, dim, plan.MaxOutputTokens);
        for (int step = 0; step < steps; step++)
        {
            RowSet destination = step % 2 == 0 ? setA : setB;
            string at = $"{say}: step {step}, {live} live rows, capacity {capacity}";
            byte[] newKeys = KernelCheck.RandomBytes(rng, heads * rowBytes), newValues = KernelCheck.RandomBytes(rng, heads * rowBytes);
            using var newKeyRows = DeviceRegion.Of<byte>(backend.Runtime, newKeys);
            using var newValueRows = DeviceRegion.Of<byte>(backend.Runtime, newValues);
            byte[][] before = destination.Snapshot();
            int[] lensBefore = ReadInts(compressed.Layer.HeadLens, heads);
            status.Span.Clear();

            backend.EnqueueAppend(source, destination.Keys.Pointer, destination.Values.Pointer, destination.Positions.Pointer, capacity, newKeyRows.Pointer, newValueRows.Pointer, tokens + step, status.Pointer);

            if (step == overflowAt)
            {
                Assert.That(backend.ReadAppendStatus(status.Pointer), Is.EqualTo(AppendStatus.Overflow), at);
                Assert.That(ReadInts(compressed.Layer.HeadLens, heads), Is.EqualTo(lensBefore), $"{at}: head_lens unchanged");
                Assert.That(destination.Snapshot(), Is.EqualTo(before), $"{at}: the destination unchanged");
                return;
            }

            Ref.Append.Run(expected, newKeys, newValues, tokens + step);
            live += heads;
            Assert.That(backend.ReadAppendStatus(status.Pointer), Is.EqualTo(AppendStatus.Appended), at);
            Assert.That(ReadInts(compressed.Layer.HeadLens, heads), Is.EqualTo(expected.HeadLens), $"{at}: head_lens");
            Assert.That(ReadInts(compressed.Layer.CuLens, heads + 1), Is.EqualTo(expected.CuLens), $"{at}: cu_lens");
            Sentinel.AssertSameBytes(expected.Keys.Span[..(live * rowBytes)], destination.Keys.Span[..(live * rowBytes)], $"{at}: keys");
            Sentinel.AssertSameBytes(expected.Values.Span[..(live * rowBytes)], destination.Values.Span[..(live * rowBytes)], $"{at}: values");
            Assert.That(destination.Positions.Read<int>(live), Is.EqualTo(expected.Positions[..live]), $"{at}: positions");
            destination.AssertPoisonedFrom(live, at);
            source = source with { Keys = destination.Keys.Pointer, Values = destination.Values.Pointer, Positions = destination.Positions.Pointer, CapacityTokens = capacity };
        }

        Assert.That(overflowAt, Is.EqualTo(-1), $"{say}: the loop ended before its overflow");
    }

    private int[] ReadInts(DevicePointer pointer, int count)
    {
        var values = new int[count];
        backend.Runtime.CopyToHost(pointer, MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    /// <summary>One side of the ping-pong: K, V [capacity, D] and positions [capacity], poisoned.</summary>
    private sealed class RowSet(KernelBackend backend, int capacity, int rowBytes) : IDisposable
    {
        public DeviceRegion Keys { get; } = new(backend.Runtime, (long)capacity * rowBytes);

        public DeviceRegion Values { get; } = new(backend.Runtime, (long)capacity * rowBytes);

        public DeviceRegion Positions { get; } = new(backend.Runtime, (long)capacity * sizeof(int));

        public byte[][] Snapshot() => [Keys.Span.ToArray(), Values.Span.ToArray(), Positions.Span.ToArray()];

        /// <summary>Rows past the live ones were never written: the live count only grows.</summary>
        public void AssertPoisonedFrom(int live, string say)
        {
            Keys.AssertPoisoned((long)live * rowBytes, Keys.Bytes, $"{say}: keys past the live rows");
            Values.AssertPoisoned((long)live * rowBytes, Values.Bytes, $"{say}: values past the live rows");
            Positions.AssertPoisoned((long)live * sizeof(int), Positions.Bytes, $"{say}: positions past the live rows");
            foreach (DeviceRegion region in new[] { Keys, Values, Positions })
            {
                region.AssertGuardsIntact(say);
            }
        }

        public void Dispose()
        {
            Keys.Dispose();
            Values.Dispose();
            Positions.Dispose();
        }
    }
}
