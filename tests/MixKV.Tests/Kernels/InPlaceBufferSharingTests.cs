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
/// Which buffers <see cref="KernelBackend.EnqueueInPlace"/> lets share bytes, on the emulated backend.
/// K and V interleaved in one [N, 2, Hkv, D] buffer (as some engines keep their cache): the dense
/// layout writes each row back into its own head's rows and equals the reference's in-place result
/// byte for byte; the flattened layout packs rows from the start of each buffer, across the other
/// tensor's rows, and is refused. A workspace, staging or selection array over the cache or the
/// window queries is refused too. A refused call changes no byte of the cache or the queries.
/// </summary>
[TestFixture]
public sealed class InPlaceBufferSharingTests : EmulatedKernelFixture
{
    [Test]
    public void DenseInPlaceOverInterleavedKeysAndValuesEqualsTheReference([Values] DType dtype)
    {
        TestRandom rng = KernelCheck.Seeded();
        using Case c = Case.Interleaved(backend, rng, dtype);
        KeptTokens kept = new Ref.ReferenceCompressor().CompressInPlace(c.HostInputs, c.Options, c.Layer, OutputLayout.Dense);

        backend.EnqueueInPlace(c.Plan, c.Keys, c.Values, c.Queries, c.Selection, OutputLayout.Dense, c.Workspace.Pointer, c.Workspace.Bytes, c.Staging.Pointer, c.Staging.Bytes);
        backend.Runtime.Synchronize();

        Assert.That(c.HeadLens.Read<int>(c.Plan.KvHeads), Is.EqualTo(kept.HeadLens), c.Say("head_lens"));
        Assert.That(c.Positions.Read<int>(kept.TotalTokens), Is.EqualTo(kept.Positions), c.Say("positions"));
        Assert.That(c.Cache.Span.ToArray(), Is.EqualTo(c.HostCache), c.Say("the interleaved K/V buffer after the in-place compression"));
        c.Cache.AssertGuardsIntact(c.Say("the interleaved K/V buffer"));
    }

    [Test]
    public void FlattenedInPlaceRefusesInterleavedKeysAndValues()
    {
        TestRandom rng = KernelCheck.Seeded();
        using Case c = Case.Interleaved(backend, rng, rng.Pick([DType.F32, DType.F16, DType.BF16]));

        AssertRefused(c, "values", "overlaps keys", () => backend.EnqueueInPlace(c.Plan, c.Keys, c.Values, c.Queries, c.Selection, OutputLayout.Flattened, c.Workspace.Pointer, c.Workspace.Bytes, c.Staging.Pointer, c.Staging.Bytes));
    }

    /// <summary>Each moved buffer lies wholly inside the one it overlaps (first in argument order when it overlaps two).</summary>
    [TestCase("staging", "overlaps keys")]
    [TestCase("workspace", "overlaps selection.Positions")]
    [TestCase("selection.HeadLens", "overlaps queries")]
    [TestCase("selection.CuLens", "overlaps selection.HeadLens")]
    public void InPlaceRefusesScratchOverTheCacheOrTheQueries(string moved, string rule)
    {
        TestRandom rng = KernelCheck.Seeded();
        using Case c = Case.Interleaved(backend, rng, rng.Pick([DType.F32, DType.F16, DType.BF16]));
        Assert.That(c.Staging.Bytes, Is.LessThanOrEqualTo(c.Cache.Bytes), c.Say("the cache holds the staging"));
        Assert.That(c.Positions.Bytes, Is.LessThanOrEqualTo(c.Workspace.Bytes), c.Say("the workspace holds the positions"));
        Assert.That(c.HeadLens.Bytes, Is.LessThanOrEqualTo(c.QueryRegion.Bytes), c.Say("the queries hold head_lens"));
        DevicePointer staging = moved == "staging" ? c.Cache.Pointer : c.Staging.Pointer;
        DeviceSelection selection = moved switch
        {
            "workspace" => c.Selection with { Positions = c.Workspace.Pointer },
            "selection.HeadLens" => c.Selection with { HeadLens = c.Queries.Pointer },
            "selection.CuLens" => c.Selection with { CuLens = c.Selection.HeadLens },
            _ => c.Selection,
        };

        // Dense, which takes the interleaved cache: the one sharing left is the moved buffer's.
        AssertRefused(c, moved, rule, () => backend.EnqueueInPlace(c.Plan, c.Keys, c.Values, c.Queries, selection, OutputLayout.Dense, c.Workspace.Pointer, c.Workspace.Bytes, staging, c.Staging.Bytes));
    }

    /// <summary>The sizes at their bound: staging one byte, or the selection one position, short of what the plan can keep.</summary>
    [TestCase("staging", "smaller than one compressed cache")]
    [TestCase("selection", "capacity too small")]
    public void InPlaceRefusesBuffersOneShortOfThePlan(string shortened, string rule)
    {
        TestRandom rng = KernelCheck.Seeded();
        using Case c = Case.Interleaved(backend, rng, rng.Pick([DType.F32, DType.F16, DType.BF16]));
        Assert.That(c.Staging.Bytes, Is.EqualTo(KernelBackend.InPlaceStagingBytes(c.Plan, c.Keys.DType)), c.Say("the case's staging is the plan's bound"));
        long stagingBytes = shortened == "staging" ? c.Staging.Bytes - 1 : c.Staging.Bytes;
        DeviceSelection selection = shortened == "selection" ? c.Selection with { CapacityTokens = c.Plan.MaxOutputTokens - 1 } : c.Selection;

        AssertRefused(c, shortened, rule, () => backend.EnqueueInPlace(c.Plan, c.Keys, c.Values, c.Queries, selection, OutputLayout.Dense, c.Workspace.Pointer, c.Workspace.Bytes, c.Staging.Pointer, stagingBytes));
    }

    private static void AssertRefused(Case c, string parameter, string rule, TestDelegate call)
    {
        byte[] queriesBefore = c.QueryRegion.Span.ToArray();

        var error = Assert.Throws<ArgumentException>(call, c.Say(parameter));

        Assert.That(error!.ParamName, Is.EqualTo(parameter), c.Say(error.Message));
        Assert.That(error.Message, Does.Contain(rule), c.Say(error.Message));
        Assert.That(c.Cache.Span.ToArray(), Is.EqualTo(c.HostCache), c.Say("the cache is unchanged"));
        Assert.That(c.QueryRegion.Span.ToArray(), Is.EqualTo(queriesBefore), c.Say("the queries are unchanged"));
        c.Positions.AssertPoisoned(0, c.Positions.Bytes, c.Say("positions"));
        c.HeadLens.AssertPoisoned(0, c.HeadLens.Bytes, c.Say("head_lens"));
    }

    /// <summary>
    /// A uniform-cap layer whose K and V interleave in one buffer ([N, 2, Hkv, D]: token t's K rows, then
    /// its V rows), the same bytes on the host (<see cref="HostCache"/>, for the reference) and on the
    /// device, and poisoned selection, workspace and staging buffers sized by the plan.
    /// </summary>
    private sealed class Case : IDisposable
    {
        private readonly List<DeviceRegion> regions = [];

        private Case(TestRandom rng) => Rng = rng;

        public TestRandom Rng { get; }

        public string Description { get; private set; } = "";

        public CompressionOptions Options { get; private set; } = new();

        public LayerPosition Layer { get; private set; }

        public DevicePlan Plan { get; private set; } = null!;

        public byte[] HostCache { get; private set; } = [];

        public LayerInputs HostInputs { get; private set; } = null!;

        public DeviceRegion Cache { get; private set; } = null!;

        public DeviceRegion QueryRegion { get; private set; } = null!;

        public DeviceRegion Positions { get; private set; } = null!;

        public DeviceRegion HeadLens { get; private set; } = null!;

        public DeviceRegion Workspace { get; private set; } = null!;

        public DeviceRegion Staging { get; private set; } = null!;

        public DeviceTensor Keys { get; private set; }

        public DeviceTensor Values { get; private set; }

        public DeviceTensor Queries { get; private set; }

        public DeviceSelection Selection { get; private set; }

        public static Case Interleaved(KernelBackend backend, TestRandom rng, DType dtype)
        {
            var c = new Case(rng);
            int heads = rng.Int(1, 4), groups = rng.Int(1, 3), tokens = rng.Int(60, 160), dim = rng.Int(2, 40), window = rng.Int(2, 12);
            LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, dtype);
            c.Options = new CompressionOptions { Method = rng.Coin() ? BudgetMethod.SnapKV : BudgetMethod.PyramidKV, Window = window, Budget = window + rng.Int(1, tokens - window - 1) };
            c.Layer = new LayerPosition(rng.Int(0, 2), 3);
            c.Description = $"{c.Options.Method} {dtype} Hkv {heads} G {groups} N {tokens} D {dim} W {window} budget {c.Options.Budget} layer {c.Layer}";

            // The device gets the bytes before the reference's test compresses HostCache in place.
            c.HostCache = InterleavedCache.Bytes(data);
            c.Cache = c.Track(DeviceRegion.Of<byte>(backend.Runtime, c.HostCache));
            HeadTensor hostKeys = InterleavedCache.Keys(c.HostCache, data), hostValues = InterleavedCache.Values(c.HostCache, data);
            c.Keys = new DeviceTensor(c.Cache.Pointer, dtype, heads, tokens, dim, hostKeys.HeadStride, hostKeys.TokenStride);
            c.Values = c.Keys with { Pointer = c.Cache.Pointer.AddBytes(hostValues.Offset * dtype.Size()) };
            c.QueryRegion = c.Track(DeviceInputs.Upload(backend.Runtime, data.Queries, dtype, TensorLayout.Hnd, out DeviceTensor queries));
            c.Queries = queries;
            c.HostInputs = new LayerInputs(hostKeys, hostValues, DeviceInputs.Pack(data.Queries, dtype, TensorLayout.Hnd));

            c.Plan = backend.Plan(heads * groups, heads, tokens, dim, c.Options, c.Layer);
            c.Positions = c.Track(new DeviceRegion(backend.Runtime, (long)c.Plan.MaxOutputTokens * sizeof(int)));
            c.HeadLens = c.Track(new DeviceRegion(backend.Runtime, heads * sizeof(int)));
            DeviceRegion cuLens = c.Track(new DeviceRegion(backend.Runtime, (heads + 1) * sizeof(int)));
            c.Selection = new DeviceSelection(c.Positions.Pointer, c.HeadLens.Pointer, cuLens.Pointer, c.Plan.MaxOutputTokens);
            c.Workspace = c.Track(new DeviceRegion(backend.Runtime, c.Plan.WorkspaceBytes));
            c.Staging = c.Track(new DeviceRegion(backend.Runtime, KernelBackend.InPlaceStagingBytes(c.Plan, dtype)));
            return c;
        }

        public string Say(string what) => Rng.Say($"{Description}: {what}");

        public void Dispose() => regions.ForEach(r => r.Dispose());

        private DeviceRegion Track(DeviceRegion region)
        {
            regions.Add(region);
            return region;
        }
    }
}
