using MixKV.Tensors;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;
using K = MixKV.Kernels;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Kernels;

/// <summary>kernels/append.cu (spec section 7): decode-time append_rows + append_lengths against Reference.Append on a FlatCache.</summary>
[TestFixture]
[Category("TsanSmall")] // small shapes: also run once under ThreadSanitizer (build.cake TsanCheck)
[NonParallelizable]
public sealed class AppendKernelTests : EmulatedKernelFixture
{
    /// <summary>dtype, head dim, the copy word; oneBlock launches a single block per head so the kernel must grid-stride.</summary>
    [Test]
    public void MatchesTheReferenceAppend([Values(0, 1, 2)] int widthCase, [Values] bool oneBlock)
    {
        (DType dtype, int dim, int word) = widthCase switch
        {
            0 => (DType.F32, 8, 16),
            1 => (DType.F16, 4, 4),
            _ => (DType.BF16, 7, 2),
        };
        TestRandom rng = KernelCheck.Seeded();
        int heads = rng.Int(1, 6), rowBytes = dim * dtype.Size();
        int[] lens = Enumerable.Range(0, heads).Select(_ => rng.Int(0, 80)).ToArray();
        lens[rng.Int(0, heads - 1)] = rng.Coin() ? 0 : 33; // an empty head, or one past a warp's rows
        int total = lens.Sum(), capacity = total + heads + rng.Int(0, 5), position = rng.Int(100, 100000);
        string say = rng.Say($"{dtype.Name()} D {dim} lens [{string.Join(",", lens)}] one block {oneBlock}");

        byte[] keys = KernelCheck.RandomBytes(rng, capacity * rowBytes), values = KernelCheck.RandomBytes(rng, capacity * rowBytes);
        byte[] newKeys = KernelCheck.RandomBytes(rng, heads * rowBytes), newValues = KernelCheck.RandomBytes(rng, heads * rowBytes);
        int[] positions = Enumerable.Range(0, capacity).Select(_ => rng.Int(0, 99)).ToArray();
        int[] cu = PipelineKernelTests.Prefix(lens);

        var cache = new FlatCache(keys.ToArray(), values.ToArray(), dtype, dim, capacity, (int[])lens.Clone(), (int[])positions.Clone());
        Ref.Append.Run(cache, newKeys, newValues, position);

        foreach ((byte[] rows, byte[] added, Memory<byte> expected) in new[] { (keys, newKeys, cache.Keys), (values, newValues, cache.Values) })
        {
            var runtime = backend.Runtime;
            using var source = DeviceRegion.Of<byte>(runtime, rows.AsSpan(0, Math.Max(total, 1) * rowBytes));
            using var destination = new DeviceRegion(runtime, (long)capacity * rowBytes);
            using var newRows = DeviceRegion.Of<byte>(runtime, added);
            using var headLens = DeviceRegion.Of<int>(runtime, lens);
            using var cuLens = DeviceRegion.Of<int>(runtime, cu);
            using var sourcePositions = DeviceRegion.Of<int>(runtime, positions.AsSpan(0, Math.Max(total, 1)));
            using var destinationPositions = new DeviceRegion(runtime, capacity * sizeof(int));
            Assert.That(K.RowCopyWord.Pick(rowBytes, source.Pointer.Address, rowBytes, rowBytes, destination.Pointer.Address, rowBytes, rowBytes, newRows.Pointer.Address), Is.EqualTo(word), "the case exercises its copy word");

            if (oneBlock)
            {
                runtime.Launch($"append_rows<{K.RowCopyWord.TypeName(word)}>", K.Launch.Config(1, (uint)heads, 256), new K.AppendParams
                {
                    Source = source.Pointer.Address,
                    Destination = destination.Pointer.Address,
                    NewRows = newRows.Pointer.Address,
                    HeadLens = headLens.Pointer.Address,
                    CuLens = cuLens.Pointer.Address,
                    SourcePositions = sourcePositions.Pointer.Address,
                    DestinationPositions = destinationPositions.Pointer.Address,
                    RowWords = rowBytes / word,
                    Position = position,
                    Capacity = capacity,
                    SourceCapacity = Math.Max(total, 1),
                });
                runtime.Launch("append_lengths", K.Launch.Config(1, 1, 32),
                    new K.AppendLengthsParams { HeadLens = headLens.Pointer.Address, CuLens = cuLens.Pointer.Address, Heads = heads, Capacity = capacity, SourceCapacity = Math.Max(total, 1) });
            }
            else
            {
                K.Append.Enqueue(runtime, heads, rowBytes, lens.Max(), source.Pointer, Math.Max(total, 1), destination.Pointer, newRows.Pointer, headLens.Pointer, cuLens.Pointer, sourcePositions.Pointer, destinationPositions.Pointer, position, capacity);
            }

            int grown = total + heads;
            Sentinel.AssertSameBytes(expected.Span[..(grown * rowBytes)], destination.Span[..(grown * rowBytes)], $"{say}: rows after the append");
            destination.AssertPoisoned(grown * rowBytes, destination.Bytes, $"{say}: rows past T + Hkv");
            Assert.That(destinationPositions.Read<int>(grown), Is.EqualTo(cache.Positions[..grown]), $"{say}: positions");
            destinationPositions.AssertPoisoned(grown * sizeof(int), destinationPositions.Bytes, $"{say}: positions past T + Hkv");
            Assert.That(headLens.Read<int>(heads), Is.EqualTo(cache.HeadLens), $"{say}: head_lens grow by one");
            Assert.That(cuLens.Read<int>(heads + 1), Is.EqualTo(cache.CuLens), $"{say}: cu_lens");
            Sentinel.AssertSameBytes(rows.AsSpan(0, Math.Max(total, 1) * rowBytes), source.Span, $"{say}: the source is read only");
            foreach (DeviceRegion b in new[] { source, destination, newRows, headLens, cuLens, sourcePositions, destinationPositions })
            {
                b.AssertGuardsIntact(say);
            }
        }
    }
}
