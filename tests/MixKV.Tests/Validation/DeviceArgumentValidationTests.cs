using MixKV.Device;
using MixKV.Interop;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Validation;

/// <summary>
/// Spec section 8 for raw device buffers (<see cref="KernelBackend.Enqueue"/>): null and misaligned
/// pointers, shapes that disagree with the plan, output capacity and workspace too small, a buffer the
/// call writes sharing bytes with another it writes or reads. Each is an ArgumentException naming the
/// argument, raised before any launch: the poisoned outputs and the caller's K/V/Q bytes are
/// unchanged. Runs on the emulated backend, whose device memory is host memory.
/// </summary>
[TestFixture]
public sealed class DeviceArgumentValidationTests
{
    private const int KvHeads = 2, Groups = 2, Tokens = 96, Dim = 16, Window = 8;

    private static readonly CompressionOptions Options = new() { Window = Window, Budget = 24, Method = BudgetMethod.AdaKV };

    private static IEnumerable<TestCaseData> Violations()
    {
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Keys = s.Keys with { Pointer = new DevicePointer(0) } }), "keys", "null").SetName("NullKeys");
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Values = s.Values with { Pointer = s.Values.Pointer.AddBytes(2) } }), "values", "not aligned").SetName("MisalignedValues");
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Queries = s.Queries with { Pointer = s.Queries.Pointer.AddBytes(1) } }), "queries", "not aligned").SetName("MisalignedQueries");
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Output = s.Output with { Positions = new DevicePointer(0) } }), "output.Positions", "null").SetName("NullPositions");
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Output = s.Output with { HeadLens = s.Output.HeadLens.AddBytes(2) } }), "output.HeadLens", "not aligned").SetName("MisalignedHeadLens");
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Output = s.Output with { CapacityTokens = s.Output.CapacityTokens - 1 } }), "output", "capacity too small").SetName("OutputCapacityTooSmall");
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { WorkspaceBytes = s.WorkspaceBytes - 4 }), "workspace", "smaller than").SetName("WorkspaceTooSmall");
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Workspace = s.Workspace.AddBytes(4) }), "workspace", "not aligned").SetName("MisalignedWorkspace");
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Workspace = s.Workspace.AddBytes(128) }), "workspace", "not aligned to 256").SetName("WorkspaceOffItsTwoHundredFiftySixBytes");
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Keys = s.Keys with { Tokens = Tokens - 1 } }), "keys", "must be [").SetName("KeysShapeDisagreesWithPlan");
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Values = s.Values with { DType = DType.F16 } }), "values", "dtype").SetName("ValuesDTypeDiffers");
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Queries = s.Queries.SliceTokens(0, Window - 1) }), "queries", "window").SetName("TooFewQueryRows");
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Keys = s.Keys with { TokenStride = Dim - 1 } }), "keys", "alias").SetName("AliasingKeyStrides");
        // Each overlap puts the smaller buffer wholly inside a larger one of its own, so it shares bytes with that one alone.
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Keys = s.Keys with { Pointer = s.Workspace } }), "workspace", "overlaps keys").SetName("KeysInsideTheWorkspace");
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Queries = s.Queries with { Pointer = s.Output.Keys } }), "output.Keys", "overlaps queries").SetName("WindowQueriesInsideOutputKeys");
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Output = s.Output with { Positions = s.Output.Values.AddBytes((long)s.Output.CapacityTokens * (Dim - 1) * sizeof(float)) } }), "output.Positions", "overlaps output.Values").SetName("PositionsInTheTailOfOutputValues");
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Output = s.Output with { CuLens = s.Output.HeadLens.AddBytes(sizeof(int)) } }), "output.CuLens", "overlaps output.HeadLens").SetName("CuLensOverHeadLens");
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Output = s.Output with { Values = s.Workspace } }), "workspace", "overlaps output.Values").SetName("OutputValuesInsideTheWorkspace");
        // One element of sharing is sharing: K' starting on the last element of K.
        yield return new TestCaseData(new Func<Setup, Setup>(s => s with { Output = s.Output with { Keys = s.Keys.Pointer.AddBytes(((long)KvHeads * Tokens * Dim - 1) * sizeof(float)) } }), "output.Keys", "overlaps keys").SetName("OutputKeysFromTheLastKeyElement");
    }

    [TestCaseSource(nameof(Violations))]
    public void EnqueueRejectsBeforeAnyLaunch(Func<Setup, Setup> breakIt, string parameter, string rule)
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        using var rig = new Rig(rng);
        byte[][] inputsBefore = [rig.Keys.Span.ToArray(), rig.Values.Span.ToArray(), rig.Queries.Span.ToArray()];
        Setup broken = breakIt(rig.Valid);
        Assert.That(rig.Plan.WorkspaceBytes, Is.GreaterThan(rig.Keys.Bytes).And.GreaterThan(rig.Plan.MaxOutputTokens * Dim * sizeof(float)), "the workspace holds K or K' (overlap cases)");
        Assert.That(rig.Queries.Bytes, Is.LessThanOrEqualTo(rig.Plan.MaxOutputTokens * Dim * sizeof(float)), "K' holds the window queries (overlap case)");

        var error = Assert.Throws<ArgumentException>(() => rig.Backend.Enqueue(rig.Plan, broken.Keys, broken.Values, broken.Queries, broken.Output, broken.Workspace, broken.WorkspaceBytes), rng.Tag);

        Assert.That(error!.ParamName, Is.EqualTo(parameter), rng.Say(error.Message));
        Assert.That(error.Message, Does.Contain(rule), rng.Tag);
        foreach ((DeviceRegion region, string name) in rig.Outputs)
        {
            region.AssertPoisoned(0, region.Bytes, $"{name} must not be written by a rejected call {rng.Tag}");
            region.AssertGuardsIntact(name);
        }

        Assert.That(rig.Keys.Span.ToArray(), Is.EqualTo(inputsBefore[0]), rng.Say("keys unchanged"));
        Assert.That(rig.Values.Span.ToArray(), Is.EqualTo(inputsBefore[1]), rng.Say("values unchanged"));
        Assert.That(rig.Queries.Span.ToArray(), Is.EqualTo(inputsBefore[2]), rng.Say("queries unchanged"));
    }

    /// <summary>Several kernels take heads on a grid axis (at most 65535 blocks): a plan past it is refused up front.</summary>
    [Test]
    public void PlanRefusesMoreQueryHeadsThanAGridAxisHolds()
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        int kvHeads = rng.Pick([1, 3, 65537]);
        var error = Assert.Throws<ArgumentException>(() => DevicePlan.Create(65537 * 3, kvHeads, Tokens, Dim, Options, LayerPosition.Single), rng.Tag);
        Assert.That(error!.ParamName, Is.EqualTo("queryHeads"), rng.Say(error.Message));
        Assert.That(error.Message, Does.Contain("at most 65535"), rng.Tag);

        // At the bound itself: 65535 query heads plan, one more does not.
        Assert.That(DevicePlan.Create(65535, rng.Pick([1, 3, 257]), Tokens, Dim, Options, LayerPosition.Single).QueryHeads, Is.EqualTo(65535), rng.Tag);
        Assert.Throws<ArgumentException>(() => DevicePlan.Create(65536, rng.Pick([1, 2, 256]), Tokens, Dim, Options, LayerPosition.Single), rng.Tag);
    }

    /// <summary>Rows of different heads may not share elements even when each head holds one token (only the head stride steps).</summary>
    [Test]
    public void OneTokenKeysWhoseHeadsAliasAreRefused()
    {
        TestRandom rng = TestRandom.ForCurrentTest();
        using var rig = new Rig(rng);
        DevicePlan plan = rig.Backend.Plan(KvHeads * Groups, KvHeads, 1, Dim, Options, LayerPosition.Single);
        Setup s = rig.Valid;
        var keys = new DeviceTensor(rig.Keys.Pointer, DType.F32, KvHeads, 1, Dim, HeadStride: rng.Int(1, Dim - 1), TokenStride: Dim);
        var values = new DeviceTensor(rig.Values.Pointer, DType.F32, KvHeads, 1, Dim, HeadStride: Dim, TokenStride: Dim);

        var error = Assert.Throws<ArgumentException>(() => rig.Backend.Enqueue(plan, keys, values, s.Queries, s.Output, s.Workspace, s.WorkspaceBytes), rng.Say($"head stride {keys.HeadStride}"));

        Assert.That(error!.ParamName, Is.EqualTo("keys"), rng.Say(error.Message));
        Assert.That(error.Message, Does.Contain("alias"), rng.Tag);
        foreach ((DeviceRegion region, string name) in rig.Outputs)
        {
            region.AssertPoisoned(0, region.Bytes, $"{name} must not be written by a rejected call {rng.Tag}");
        }
    }

    [Test]
    public void OutputsPackedEndToEndInOneBufferRun()
    {
        // The control for the overlap cases: buffers that touch without sharing a byte are accepted.
        TestRandom rng = TestRandom.ForCurrentTest();
        using var rig = new Rig(rng);
        Setup s = rig.Valid;
        long rows = (long)rig.Plan.MaxOutputTokens * Dim * sizeof(float), positions = (long)rig.Plan.MaxOutputTokens * sizeof(int);
        using var packed = new DeviceRegion(rig.Backend.Runtime, (2 * rows) + positions + ((2L * KvHeads) + 1) * sizeof(int));
        DevicePointer at = packed.Pointer;
        var output = new DeviceLayerOutput(at, at.AddBytes(rows), at.AddBytes(2 * rows), at.AddBytes((2 * rows) + positions), at.AddBytes((2 * rows) + positions + (KvHeads * sizeof(int))), rig.Plan.MaxOutputTokens);

        rig.Backend.Enqueue(rig.Plan, s.Keys, s.Values, s.Queries, output, s.Workspace, s.WorkspaceBytes);
        rig.Backend.Runtime.Synchronize();

        int[] lens = packed.As<int>().Slice((int)(((2 * rows) + positions) / sizeof(int)), KvHeads).ToArray();
        int[] cu = packed.As<int>().Slice((int)(((2 * rows) + positions) / sizeof(int)) + KvHeads, KvHeads + 1).ToArray();
        Assert.That(lens, Has.All.GreaterThanOrEqualTo(Window), rng.Say($"head_lens {string.Join(",", lens)}"));
        Assert.That(cu[^1], Is.EqualTo(lens.Sum()), rng.Say($"cu_lens {string.Join(",", cu)}"));
        packed.AssertGuardsIntact("the packed outputs");
    }

    [Test]
    public void TheValidSetupRuns()
    {
        // The control for the cases above: the same buffers, unbroken, are accepted and every head gets rows.
        TestRandom rng = TestRandom.ForCurrentTest();
        using var rig = new Rig(rng);
        Setup s = rig.Valid;

        rig.Backend.Enqueue(rig.Plan, s.Keys, s.Values, s.Queries, s.Output, s.Workspace, s.WorkspaceBytes);
        rig.Backend.Runtime.Synchronize();

        int[] lens = rig.HeadLens.Read<int>(KvHeads);
        Assert.That(lens, Has.All.GreaterThanOrEqualTo(Window), rng.Say($"head_lens {string.Join(",", lens)}"));
        Assert.That(rig.CuLens.Read<int>(KvHeads + 1)[^1], Is.EqualTo(lens.Sum()), rng.Tag);
    }

    public sealed record Setup(DeviceTensor Keys, DeviceTensor Values, DeviceTensor Queries, DeviceLayerOutput Output, DevicePointer Workspace, long WorkspaceBytes);

    /// <summary>A planned layer with guarded, poisoned device buffers for every argument of Enqueue.</summary>
    private sealed class Rig : IDisposable
    {
        private readonly List<DeviceRegion> regions = [];

        public Rig(TestRandom rng)
        {
            Backend = KernelBackend.OpenEmulated();
            Plan = Backend.Plan(KvHeads * Groups, KvHeads, Tokens, Dim, Options, LayerPosition.Single);
            LayerData data = LayerData.Random(rng, KvHeads, Groups, Tokens, Dim, Window, DType.F32);
            Keys = Upload(data.Keys);
            Values = Upload(data.Values);
            Queries = Upload(data.Queries);
            int rowBytes = Dim * sizeof(float);
            DeviceRegion outKeys = Region((long)Plan.MaxOutputTokens * rowBytes), outValues = Region((long)Plan.MaxOutputTokens * rowBytes);
            DeviceRegion positions = Region((long)Plan.MaxOutputTokens * sizeof(int));
            HeadLens = Region(KvHeads * sizeof(int));
            CuLens = Region((KvHeads + 1) * sizeof(int));
            DeviceRegion workspace = Region(Plan.WorkspaceBytes);
            Outputs = [(outKeys, "K'"), (outValues, "V'"), (positions, "positions"), (HeadLens, "head_lens"), (CuLens, "cu_lens")];
            Valid = new Setup(
                Tensor(Keys, KvHeads, Tokens),
                Tensor(Values, KvHeads, Tokens),
                Tensor(Queries, KvHeads * Groups, Window),
                new DeviceLayerOutput(outKeys.Pointer, outValues.Pointer, positions.Pointer, HeadLens.Pointer, CuLens.Pointer, Plan.MaxOutputTokens),
                workspace.Pointer,
                Plan.WorkspaceBytes);
        }

        public KernelBackend Backend { get; }

        public DevicePlan Plan { get; }

        public DeviceRegion Keys { get; }

        public DeviceRegion Values { get; }

        public DeviceRegion Queries { get; }

        public DeviceRegion HeadLens { get; }

        public DeviceRegion CuLens { get; }

        public (DeviceRegion Region, string Name)[] Outputs { get; }

        public Setup Valid { get; }

        public void Dispose()
        {
            regions.ForEach(r => r.Dispose());
            Backend.Dispose();
        }

        private DeviceRegion Region(long bytes)
        {
            regions.Add(new DeviceRegion(Backend.Runtime, bytes));
            return regions[^1];
        }

        private DeviceRegion Upload(float[][][] tensor)
        {
            regions.Add(DeviceRegion.Of<float>(Backend.Runtime, tensor.SelectMany(head => head.SelectMany(row => row)).ToArray()));
            return regions[^1];
        }

        private static DeviceTensor Tensor(DeviceRegion region, int heads, int tokens) =>
            DeviceTensor.Create(region.Pointer, DType.F32, TensorLayout.Hnd, heads, tokens, Dim);
    }
}
