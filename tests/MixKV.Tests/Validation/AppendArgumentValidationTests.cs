using MixKV.Device;
using MixKV.Interop;
using MixKV.Tensors;
using MixKV.Tests.Kernels;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Validation;

/// <summary>
/// Spec section 8 for the decode-time append over raw device buffers (<see cref="KernelBackend.EnqueueAppend"/>):
/// null and misaligned pointers, a destination that overlaps the cache or cannot take a row a head, any
/// other buffer the call writes sharing bytes with one it writes or reads, a negative position or
/// capacity, an unsupported dtype. Each is an ArgumentException naming the
/// argument, raised before any launch: nothing is written, the cache's lengths and the status word
/// stay as they were. Lengths that only the device can see are refused there, with
/// <see cref="AppendStatus.InvalidLengths"/> and likewise nothing written.
/// </summary>
[TestFixture]
[Category("TsanSmall")] // the device refusal's kernels: also run once under ThreadSanitizer (build.cake TsanCheck)
public sealed class AppendArgumentValidationTests
{
    private const int KvHeads = 3, Dim = 8;
    private const DType ElementType = DType.BF16;

    private static IEnumerable<TestCaseData> Violations()
    {
        yield return Case(s => s with { Cache = s.Cache with { Keys = new DevicePointer(0) } }, "cache.Keys", "null", "NullCacheKeys");
        yield return Case(s => s with { Cache = s.Cache with { CuLens = s.Cache.CuLens.AddBytes(2) } }, "cache.CuLens", "not aligned", "MisalignedCacheCuLens");
        yield return Case(s => s with { Cache = s.Cache with { DType = (DType)77 } }, "cache", "unsupported dtype", "UnsupportedDType");
        yield return Case(s => s with { Cache = s.Cache with { KvHeads = 0 } }, "cache", "must be >= 1", "NoHeads");
        yield return Case(s => s with { Cache = s.Cache with { CapacityTokens = -1 } }, "cache.CapacityTokens", "must be >= 0", "NegativeCacheCapacity");
        yield return Case(s => s with { DestinationPositions = new DevicePointer(0) }, "destinationPositions", "null", "NullDestinationPositions");
        yield return Case(s => s with { DestinationValues = s.DestinationValues.AddBytes(1) }, "destinationValues", "not aligned", "MisalignedDestinationValues");
        yield return Case(s => s with { NewValues = s.NewValues.AddBytes(1) }, "newValues", "not aligned", "MisalignedNewValues");
        yield return Case(s => s with { Status = new DevicePointer(0) }, "status", "null", "NullStatus");
        yield return Case(s => s with { DestinationCapacity = KvHeads - 1 }, "destinationCapacity", "one new row per head", "CapacityBelowARowAHead");
        yield return Case(s => s with { Position = -1 }, "position", "must be >= 0", "NegativePosition");
        yield return Case(s => s with { DestinationKeys = s.Cache.Keys.AddBytes(Dim * 2) }, "destinationKeys", "overlap", "DestinationKeysOverlapTheCache");
        yield return Case(s => s with { DestinationPositions = s.Cache.Positions }, "destinationPositions", "overlap", "DestinationPositionsAreTheCaches");
        // Each of these puts a buffer wholly inside a larger one of its own, so it shares bytes with that one alone.
        yield return Case(s => s with { DestinationValues = s.DestinationKeys }, "destinationValues", "overlaps destinationKeys", "DestinationValuesAreTheDestinationKeys");
        yield return Case(s => s with { Cache = s.Cache with { CuLens = s.DestinationPositions } }, "cache.CuLens", "overlaps destinationPositions", "CacheCuLensInsideTheDestinationPositions");
        yield return Case(s => s with { Status = s.NewKeys.AddBytes(Dim * ElementType.Size()) }, "status", "overlaps newKeys", "StatusInsideTheNewKeys");
        yield return Case(s => s with { NewValues = s.DestinationValues }, "destinationValues", "overlaps newValues", "NewValuesInsideTheDestinationValues");
    }

    private static TestCaseData Case(Func<Setup, Setup> breakIt, string parameter, string rule, string name) =>
        new TestCaseData(breakIt, parameter, rule).SetName(name);

    [TestCaseSource(nameof(Violations))]
    public void AppendRejectsBeforeAnyLaunch(Func<Setup, Setup> breakIt, string parameter, string rule)
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        using var rig = new Rig(rng);
        Setup s = breakIt(rig.Valid);

        var error = Assert.Throws<ArgumentException>(() => rig.Backend.EnqueueAppend(s.Cache, s.DestinationKeys, s.DestinationValues, s.DestinationPositions, s.DestinationCapacity, s.NewKeys, s.NewValues, s.Position, s.Status), rng.Tag);

        Assert.That(error!.ParamName, Is.EqualTo(parameter), rng.Say(error.Message));
        Assert.That(error.Message, Does.Contain(rule), rng.Say(error.Message));
        rig.AssertNothingWritten(rng.Tag);
    }

    /// <summary>What <see cref="AppendRefusesInconsistentDeviceLengthsAndWritesNothing"/> breaks in the cache's device-resident lengths.</summary>
    public enum BrokenLengths
    {
        NegativeLength,       // head_lens[h] < 0, cu_lens still its prefix sum
        CuLensNotThePrefix,   // cu_lens[h + 1] one off the sum
        CuLensNotFromZero,    // every cu_lens shifted by one row, still inside the cache: only cu_lens[0] tells
        RowsPastTheCache,     // T = cu_lens[Hkv] above the cache's capacity
    }

    /// <summary>
    /// The cache's lengths are the caller's device data, read by the kernels only: inconsistent ones
    /// must be refused on the device before any row, position or length is written, where they would
    /// have made the append copy outside the buffers.
    /// </summary>
    [Test]
    public void AppendRefusesInconsistentDeviceLengthsAndWritesNothing([Values] BrokenLengths broken)
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        using var rig = new Rig(rng);
        Setup s = rig.Valid;
        int[] lens = rig.Lens.ToArray();
        int[] cu = PipelineKernelTests.Prefix(lens);
        int head = rng.Int(0, KvHeads - 1);
        switch (broken)
        {
            case BrokenLengths.NegativeLength:
                lens[head] = -rng.Int(1, 5);
                cu = PipelineKernelTests.Prefix(lens);
                break;
            case BrokenLengths.CuLensNotThePrefix: cu[head + 1] += rng.Coin() ? 1 : -1; break;
            case BrokenLengths.CuLensNotFromZero: cu = cu.Select(c => c + 1).ToArray(); break;
            case BrokenLengths.RowsPastTheCache: s = s with { Cache = s.Cache with { CapacityTokens = cu[^1] - rng.Int(1, lens.Min()) } }; break;
        }

        rig.BreakLengths(lens, cu);
        string say = rng.Say($"{broken}: head_lens [{string.Join(",", lens)}] cu_lens [{string.Join(",", cu)}], cache capacity {s.Cache.CapacityTokens}");

        rig.Backend.EnqueueAppend(s.Cache, s.DestinationKeys, s.DestinationValues, s.DestinationPositions, s.DestinationCapacity, s.NewKeys, s.NewValues, s.Position, s.Status);

        Assert.That(rig.Backend.ReadAppendStatus(s.Status), Is.EqualTo(AppendStatus.InvalidLengths), say);
        rig.AssertNothingWritten(say, AppendStatus.InvalidLengths);
    }

    [Test]
    public void TheValidSetupAppends()
    {
        // The control for the cases above: the same buffers, unbroken, take one row a head.
        TestRandom rng = TestRandom.ForCurrentTest();
        using var rig = new Rig(rng);
        Setup s = rig.Valid;

        rig.Backend.EnqueueAppend(s.Cache, s.DestinationKeys, s.DestinationValues, s.DestinationPositions, s.DestinationCapacity, s.NewKeys, s.NewValues, s.Position, s.Status);

        Assert.That(rig.Backend.ReadAppendStatus(s.Status), Is.EqualTo(AppendStatus.Appended), rng.Tag);
        Assert.That(rig.ReadHeadLens(), Is.EqualTo(rig.Lens.Select(len => len + 1).ToArray()), rng.Say("head_lens grew by one"));
    }

    public sealed record Setup(DeviceFlatCache Cache, DevicePointer DestinationKeys, DevicePointer DestinationValues, DevicePointer DestinationPositions, int DestinationCapacity,
        DevicePointer NewKeys, DevicePointer NewValues, int Position, DevicePointer Status);

    /// <summary>
    /// A random flattened cache (three spare rows past its T) and guarded, poisoned destinations for
    /// every argument of EnqueueAppend.
    /// </summary>
    private sealed class Rig : IDisposable
    {
        private const int SpareRows = 3;
        private readonly List<DeviceRegion> regions = [];
        private readonly DeviceRegion destinationKeys, destinationValues, destinationPositions, status, headLens, cuLens;
        private int[] cu;

        public Rig(TestRandom rng)
        {
            Backend = KernelBackend.OpenEmulated();
            Lens = Enumerable.Range(0, KvHeads).Select(_ => rng.Int(1, 20)).ToArray();
            cu = PipelineKernelTests.Prefix(Lens);
            int rows = cu[^1] + SpareRows, capacity = rows + KvHeads + rng.Int(0, 4), rowBytes = Dim * ElementType.Size();
            DeviceRegion keys = Add(DeviceRegion.Of<byte>(Backend.Runtime, KernelCheck.RandomBytes(rng, rows * rowBytes)));
            DeviceRegion values = Add(DeviceRegion.Of<byte>(Backend.Runtime, KernelCheck.RandomBytes(rng, rows * rowBytes)));
            DeviceRegion positions = Add(DeviceRegion.Of<int>(Backend.Runtime, Enumerable.Range(0, rows).ToArray()));
            headLens = Add(DeviceRegion.Of<int>(Backend.Runtime, Lens));
            cuLens = Add(DeviceRegion.Of<int>(Backend.Runtime, cu));
            DeviceRegion newKeys = Add(DeviceRegion.Of<byte>(Backend.Runtime, KernelCheck.RandomBytes(rng, KvHeads * rowBytes)));
            DeviceRegion newValues = Add(DeviceRegion.Of<byte>(Backend.Runtime, KernelCheck.RandomBytes(rng, KvHeads * rowBytes)));
            destinationKeys = Add(new DeviceRegion(Backend.Runtime, (long)capacity * rowBytes));
            destinationValues = Add(new DeviceRegion(Backend.Runtime, (long)capacity * rowBytes));
            destinationPositions = Add(new DeviceRegion(Backend.Runtime, capacity * sizeof(int)));
            status = Add(DeviceRegion.Of<int>(Backend.Runtime, [0]));
            var cache = new DeviceFlatCache(keys.Pointer, values.Pointer, positions.Pointer, headLens.Pointer, cuLens.Pointer, ElementType, KvHeads, Dim, rows);
            Valid = new Setup(cache, destinationKeys.Pointer, destinationValues.Pointer, destinationPositions.Pointer, capacity, newKeys.Pointer, newValues.Pointer, rng.Int(100, 1000), status.Pointer);
        }

        public KernelBackend Backend { get; }

        /// <summary>The cache's head_lens as the device holds them.</summary>
        public int[] Lens { get; private set; }

        public Setup Valid { get; }

        /// <summary>Overwrites the cache's device lengths (and what <see cref="AssertNothingWritten"/> expects of them).</summary>
        public void BreakLengths(int[] lens, int[] cuLensNow)
        {
            lens.CopyTo(headLens.As<int>());
            cuLensNow.CopyTo(cuLens.As<int>());
            (Lens, cu) = (lens, cuLensNow);
        }

        public int[] ReadHeadLens() => headLens.Read<int>(KvHeads);

        /// <summary>No row, position or length written; the status word 0 as the caller zeroed it, unless the device refused.</summary>
        public void AssertNothingWritten(string tag, AppendStatus expectedStatus = AppendStatus.Appended)
        {
            foreach ((DeviceRegion region, string name) in new[] { (destinationKeys, "destination keys"), (destinationValues, "destination values"), (destinationPositions, "destination positions") })
            {
                region.AssertPoisoned(0, region.Bytes, $"{name} must not be written by a rejected call {tag}");
            }

            Assert.That(headLens.Read<int>(KvHeads), Is.EqualTo(Lens), $"head_lens unchanged {tag}");
            Assert.That(cuLens.Read<int>(KvHeads + 1), Is.EqualTo(cu), $"cu_lens unchanged {tag}");
            Assert.That((AppendStatus)status.Read<int>(1)[0], Is.EqualTo(expectedStatus), $"status {tag}");
            regions.ForEach(r => r.AssertGuardsIntact(tag));
        }

        public void Dispose()
        {
            regions.ForEach(r => r.Dispose());
            Backend.Dispose();
        }

        private DeviceRegion Add(DeviceRegion region)
        {
            regions.Add(region);
            return region;
        }
    }
}
