using MixKV.Device;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Kernels;

/// <summary>
/// The public device API beyond Enqueue, on the emulated backend (device memory is host memory):
/// in-place compression equals the reference's in-place result byte for byte (dense and flattened),
/// and the decode-time append equals the reference append, with an overflow that writes nothing
/// (inconsistent device lengths: AppendArgumentValidationTests).
/// </summary>
[TestFixture]
[Category("TsanSmall")] // small shapes: also run once under ThreadSanitizer (build.cake TsanCheck)
public sealed class DeviceApiTests : EmulatedKernelFixture
{
    [TestCase(BudgetMethod.SnapKV, OutputLayout.Dense, DType.F32, TensorLayout.Hnd)]
    [TestCase(BudgetMethod.PyramidKV, OutputLayout.Dense, DType.BF16, TensorLayout.Nhd)]
    [TestCase(BudgetMethod.AdaKV, OutputLayout.Flattened, DType.F16, TensorLayout.Hnd)]
    [TestCase(BudgetMethod.SnapKV, OutputLayout.Flattened, DType.F32, TensorLayout.Nhd)]
    public void InPlaceEqualsTheReferenceInPlace(BudgetMethod method, OutputLayout layout, DType dtype, TensorLayout tensorLayout)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = rng.Int(1, 4), groups = rng.Int(1, 3), tokens = rng.Int(80, 200), dim = 8 * rng.Int(1, 6), window = rng.Int(4, 12);
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, dtype);
        var options = new CompressionOptions { Method = method, Window = window, Budget = window + rng.Int(4, tokens - window - 4) };
        var layer = new LayerPosition(rng.Int(0, 2), 3);
        string say = rng.Say($"{method} {layout} {dtype} {tensorLayout} Hkv {heads} N {tokens} D {dim} W {window} budget {options.Budget}");

        InPlaceCheck.AssertMatchesReference(backend, data, tensorLayout, options, layer, layout, say);
    }

    /// <summary>AdaKV's caps are drawn on the device, but one KV head has one cap: dense in place takes it.</summary>
    [Test]
    public void DenseInPlaceTakesAdaKVOnOneKVHead([Values] DType dtype)
    {
        TestRandom rng = KernelCheck.Seeded();
        int groups = rng.Int(1, 4), tokens = rng.Int(60, 160), dim = rng.Int(1, 48), window = rng.Int(2, 12);
        LayerData data = LayerData.Random(rng, 1, groups, tokens, dim, window, dtype);
        var options = new CompressionOptions { Method = BudgetMethod.AdaKV, Window = window, Budget = window + rng.Int(1, tokens - window - 1) };
        TensorLayout layout = rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd;
        string say = rng.Say($"AdaKV {dtype} {layout} G {groups} N {tokens} D {dim} W {window} budget {options.Budget}");

        DevicePlan plan = InPlaceCheck.AssertMatchesReference(backend, data, layout, options, LayerPosition.Single, OutputLayout.Dense, say);

        Assert.That(plan.DeviceCaps, Is.True, $"{say}: the caps were the device's");
    }

    [Test]
    public void DenseInPlaceRefusesPerHeadCapsAndWritesNothing()
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = 3, tokens = 120, dim = 16, window = 8;
        LayerData data = LayerData.Random(rng, heads, 2, tokens, dim, window, DType.F32);
        var options = new CompressionOptions { Method = BudgetMethod.AdaKV, Window = window, Budget = 40 };
        DevicePlan plan = backend.Plan(heads * 2, heads, tokens, dim, options, LayerPosition.Single);
        using var keys = DeviceInputs.Upload(backend.Runtime, data.Keys, DType.F32, TensorLayout.Hnd, out DeviceTensor keyTensor);
        using var values = DeviceInputs.Upload(backend.Runtime, data.Values, DType.F32, TensorLayout.Hnd, out DeviceTensor valueTensor);
        using var queries = DeviceInputs.Upload(backend.Runtime, data.Queries, DType.F32, TensorLayout.Hnd, out DeviceTensor queryTensor);
        byte[] keysBefore = keys.Span.ToArray();
        using var positions = new DeviceRegion(backend.Runtime, (long)plan.MaxOutputTokens * sizeof(int));
        using var lens = new DeviceRegion(backend.Runtime, heads * sizeof(int));
        using var cu = new DeviceRegion(backend.Runtime, (heads + 1) * sizeof(int));
        using var workspace = new DeviceRegion(backend.Runtime, plan.WorkspaceBytes);
        using var staging = new DeviceRegion(backend.Runtime, KernelBackend.InPlaceStagingBytes(plan, DType.F32));

        var error = Assert.Throws<ArgumentException>(() => backend.EnqueueInPlace(plan, keyTensor, valueTensor, queryTensor, new DeviceSelection(positions.Pointer, lens.Pointer, cu.Pointer, plan.MaxOutputTokens), OutputLayout.Dense, workspace.Pointer, workspace.Bytes, staging.Pointer, staging.Bytes));

        Assert.That(error!.ParamName, Is.EqualTo("layout"), rng.Tag);
        Assert.That(keys.Span.ToArray(), Is.EqualTo(keysBefore), rng.Say("K unchanged"));
        positions.AssertPoisoned(0, positions.Bytes, rng.Say("positions not written"));
    }

    [TestCase("keys", DeviceRejection.NonFiniteKeys, true)]
    [TestCase("values", DeviceRejection.NonFiniteValues, false)]
    [TestCase("queries", DeviceRejection.NonFiniteQueries, true)]
    public void NonFiniteInputsAreRejectedOnTheDeviceAndNothingIsWritten(string tensor, DeviceRejection expected, bool nan)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = 2, groups = 2, tokens = rng.Int(60, 120), dim = 16, window = 8;
        const DType dtype = DType.F16;
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, dtype);
        var options = new CompressionOptions { Method = BudgetMethod.AdaKV, Window = window, Budget = 30 };
        DevicePlan plan = backend.Plan(heads * groups, heads, tokens, dim, options, LayerPosition.Single);
        using var keys = DeviceInputs.Upload(backend.Runtime, data.Keys, dtype, TensorLayout.Hnd, out DeviceTensor keyTensor);
        using var values = DeviceInputs.Upload(backend.Runtime, data.Values, dtype, TensorLayout.Hnd, out DeviceTensor valueTensor);
        using var queries = DeviceInputs.Upload(backend.Runtime, data.Queries, dtype, TensorLayout.Hnd, out DeviceTensor queryTensor);
        DeviceRegion target = tensor switch { "keys" => keys, "values" => values, _ => queries };
        int element = rng.Int(0, target.As<ushort>().Length - 1);
        target.As<ushort>()[element] = nan ? (ushort)0x7E00 : (ushort)0xFC00; // fp16 NaN or -Inf
        using var outputs = new PoisonedOutputs(backend.Runtime, plan, dim * dtype.Size());
        using var workspace = new DeviceRegion(backend.Runtime, plan.WorkspaceBytes);
        string say = rng.Say($"{(nan ? "NaN" : "-Inf")} in {tensor} at element {element}");

        backend.Enqueue(plan, keyTensor, valueTensor, queryTensor, outputs.Layer, workspace.Pointer, workspace.Bytes);

        Assert.That(backend.ReadRejection(plan, workspace.Pointer), Is.EqualTo(expected), say);
        outputs.AssertNothingWritten(say);
    }

    /// <summary>
    /// K and V are checked inside head_token_stats when the layer is compressed and by check_finite when
    /// it is not: a NaN or Inf in any row (the window's rows, which the statistics do not use,
    /// included), either row form (8-byte words or elements: D = 14 in 16 bits is not a whole number
    /// of words) and either layout is rejected with nothing written.
    /// </summary>
    [Test]
    public void NonFiniteRowsOfKOrVAreRejectedWhereverTheyAre([Values("keys", "values")] string tensor, [Values] DType dtype, [Values] bool inWindow, [Values] bool compressed)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = 2, groups = 2, tokens = rng.Int(60, 120), dim = rng.Coin() ? 16 : 14, window = 8;
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, dtype);
        int head = rng.Int(0, heads - 1), token = inWindow ? rng.Int(tokens - window, tokens - 1) : rng.Int(0, tokens - window - 1), element = rng.Int(0, dim - 1);
        float poison = rng.Pick(new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity });
        (tensor == "keys" ? data.Keys : data.Values)[head][token][element] = poison;
        var options = new CompressionOptions { Window = window, Budget = compressed ? 30 : tokens + 1 };
        TensorLayout layout = rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd;
        AssertRejectedWithNothingWritten(data, options, layout, compressed, tensor == "keys" ? DeviceRejection.NonFiniteKeys : DeviceRejection.NonFiniteValues,
            rng.Say($"{poison} in {tensor} {dtype} {layout} D {dim} at head {head}, token {token} of {tokens}, element {element}; compressed {compressed}"));
    }

    /// <summary>
    /// The window rows are checked by window_run_stats where it holds them (16-bit layers on the run
    /// kernels: G·W at most 128, W at least 8) and by check_finite otherwise (fp32 here, and every
    /// layer that is not compressed): a NaN or Inf in any query head, row or element is rejected with
    /// nothing written.
    /// </summary>
    [Test]
    public void NonFiniteWindowRowsAreRejectedWhereverTheyAre([Values] DType dtype, [Values] bool compressed)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = rng.Int(1, 3), groups = rng.Pick(new[] { 1, 2, 4 }), tokens = rng.Int(150, 300), dim = 16 * rng.Int(1, 4), window = rng.Pick(new[] { 8, 12, 16, 32 });
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, dtype);
        int head = rng.Int(0, heads * groups - 1), row = rng.Int(0, window - 1), element = rng.Int(0, dim - 1);
        float poison = rng.Pick(new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity });
        data.Queries[head][row][element] = poison;
        var options = new CompressionOptions { Window = window, Budget = compressed ? window + 40 : tokens + 1 };
        TensorLayout layout = rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd;
        AssertRejectedWithNothingWritten(data, options, layout, compressed, DeviceRejection.NonFiniteQueries,
            rng.Say($"{poison} in query head {head} of {heads * groups}, row {row} of {window}, element {element} of {dim}; {dtype} {layout}, compressed {compressed}"));
    }

    /// <summary>
    /// One NaN or Inf at each edge of the kernels' pieces, one at a time: the first and last element of
    /// the first and last row of every 64-row block (check_finite's blocks, head_token_stats' chunks; the
    /// last block partial) in the first and last head, and of the window's first and last row in the
    /// first and last query head; either row form. The draws above land on such an edge rarely, and a
    /// check that stopped one word or one row short of its block passed them all.
    /// </summary>
    [Test]
    public void NonFiniteAtEveryBlockEdgeIsRejected([Values("keys", "values", "queries")] string tensor, [Values] DType dtype, [Values] bool compressed)
    {
        TestRandom rng = KernelCheck.Seeded();
        const int heads = 2, groups = 2, window = 8, block = 64;
        int tokens = (2 * block) + rng.Int(window + 1, block - 1), dim = rng.Coin() ? 16 : 14;
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, dtype);
        float[][][] target = tensor switch { "keys" => data.Keys, "values" => data.Values, _ => data.Queries };
        int[] rows = tensor == "queries"
            ? [0, window - 1]
            : [.. Enumerable.Range(0, (tokens + block - 1) / block).SelectMany(b => new[] { b * block, Math.Min((b * block) + block - 1, tokens - 1) })];
        var options = new CompressionOptions { Window = window, Budget = compressed ? window + 40 : tokens + 1 };
        TensorLayout layout = rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd;
        DeviceRejection expected = tensor switch { "keys" => DeviceRejection.NonFiniteKeys, "values" => DeviceRejection.NonFiniteValues, _ => DeviceRejection.NonFiniteQueries };
        foreach (int head in new[] { 0, target.Length - 1 })
        {
            foreach (int row in rows)
            {
                foreach (int element in new[] { 0, dim - 1 })
                {
                    float kept = target[head][row][element], poison = rng.Pick(new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity });
                    target[head][row][element] = poison;
                    AssertRejectedWithNothingWritten(data, options, layout, compressed, expected,
                        rng.Say($"{poison} in {tensor} {dtype} {layout} D {dim} at head {head}, row {row} of {target[head].Length}, element {element}; compressed {compressed}"));
                    target[head][row][element] = kept;
                }
            }
        }
    }

    /// <summary>Queues the layer over poisoned <paramref name="data"/> and checks the rejection and that no output was written.</summary>
    private void AssertRejectedWithNothingWritten(LayerData data, CompressionOptions options, TensorLayout layout, bool compressed, DeviceRejection expected, string say)
    {
        DType dtype = data.DType;
        DevicePlan plan = backend.Plan(data.QueryHeads, data.KvHeads, data.Tokens, data.Dim, options, LayerPosition.Single);
        using var keys = DeviceInputs.Upload(backend.Runtime, data.Keys, dtype, layout, out DeviceTensor keyTensor);
        using var values = DeviceInputs.Upload(backend.Runtime, data.Values, dtype, layout, out DeviceTensor valueTensor);
        using var queries = DeviceInputs.Upload(backend.Runtime, data.Queries, dtype, layout, out DeviceTensor queryTensor);
        using var outputs = new PoisonedOutputs(backend.Runtime, plan, data.Dim * dtype.Size());
        using var workspace = new DeviceRegion(backend.Runtime, plan.WorkspaceBytes);

        backend.Enqueue(plan, keyTensor, valueTensor, queryTensor, outputs.Layer, workspace.Pointer, workspace.Bytes);

        Assert.That(plan.Compressed, Is.EqualTo(compressed), say);
        Assert.That(backend.ReadRejection(plan, workspace.Pointer), Is.EqualTo(expected), say);
        outputs.AssertNothingWritten(say);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void AppendEqualsTheReferenceAndOverflowWritesNothing(bool overflow)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = rng.Int(1, 5), dim = 4 * rng.Int(1, 8);
        const DType dtype = DType.BF16;
        int rowBytes = dim * dtype.Size();
        int[] lens = Enumerable.Range(0, heads).Select(_ => rng.Int(0, 40)).ToArray();
        if (overflow && lens.Sum() == 0)
        {
            // An overflowing capacity (below T + Hkv) must still hold one new row per head, or the
            // call is rejected as bad input before anything runs: that needs T >= 1.
            lens[0] = rng.Int(1, 40);
        }

        int total = lens.Sum();
        int capacity = overflow ? total + heads - 1 : total + heads + rng.Int(0, 3);
        int position = rng.Int(1000, 9000);
        string say = rng.Say($"lens [{string.Join(",", lens)}] capacity {capacity} D {dim}");
        byte[] rows = KernelCheck.RandomBytes(rng, Math.Max(total, 1) * rowBytes), rowsV = KernelCheck.RandomBytes(rng, Math.Max(total, 1) * rowBytes);
        byte[] newK = KernelCheck.RandomBytes(rng, heads * rowBytes), newV = KernelCheck.RandomBytes(rng, heads * rowBytes);
        int[] positions = Enumerable.Range(0, Math.Max(total, 1)).Select(_ => rng.Int(0, 999)).ToArray();

        using var k = DeviceRegion.Of<byte>(backend.Runtime, rows);
        using var v = DeviceRegion.Of<byte>(backend.Runtime, rowsV);
        using var p = DeviceRegion.Of<int>(backend.Runtime, positions);
        using var headLens = DeviceRegion.Of<int>(backend.Runtime, lens);
        using var cuLens = DeviceRegion.Of<int>(backend.Runtime, PipelineKernelTests.Prefix(lens));
        using var newKeys = DeviceRegion.Of<byte>(backend.Runtime, newK);
        using var newValues = DeviceRegion.Of<byte>(backend.Runtime, newV);
        using var k2 = new DeviceRegion(backend.Runtime, (long)capacity * rowBytes);
        using var v2 = new DeviceRegion(backend.Runtime, (long)capacity * rowBytes);
        using var p2 = new DeviceRegion(backend.Runtime, capacity * sizeof(int));
        using var status = DeviceRegion.Of<int>(backend.Runtime, [0]);
        var cache = new DeviceFlatCache(k.Pointer, v.Pointer, p.Pointer, headLens.Pointer, cuLens.Pointer, dtype, heads, dim, Math.Max(total, 1));

        backend.EnqueueAppend(cache, k2.Pointer, v2.Pointer, p2.Pointer, capacity, newKeys.Pointer, newValues.Pointer, position, status.Pointer);
        backend.Runtime.Synchronize();

        if (overflow)
        {
            Assert.That(backend.ReadAppendStatus(status.Pointer), Is.EqualTo(AppendStatus.Overflow), $"{say}: overflow reported");
            k2.AssertPoisoned(0, k2.Bytes, $"{say}: no key row written");
            v2.AssertPoisoned(0, v2.Bytes, $"{say}: no value row written");
            p2.AssertPoisoned(0, p2.Bytes, $"{say}: no position written");
            Assert.That(headLens.Read<int>(heads), Is.EqualTo(lens), $"{say}: head_lens unchanged");
            return;
        }

        var reference = new FlatCache(KernelCheck.Padded(rows, capacity * rowBytes), KernelCheck.Padded(rowsV, capacity * rowBytes), dtype, dim, capacity, (int[])lens.Clone(), KernelCheck.Padded(positions, capacity));
        Ref.Append.Run(reference, newK, newV, position);
        int grown = total + heads;
        Assert.That(backend.ReadAppendStatus(status.Pointer), Is.EqualTo(AppendStatus.Appended), say);
        Assert.That(headLens.Read<int>(heads), Is.EqualTo(reference.HeadLens), $"{say}: head_lens");
        Assert.That(cuLens.Read<int>(heads + 1), Is.EqualTo(reference.CuLens), $"{say}: cu_lens");
        Assert.That(k2.Span[..(grown * rowBytes)].ToArray(), Is.EqualTo(reference.Keys.Span[..(grown * rowBytes)].ToArray()), $"{say}: keys");
        Assert.That(v2.Span[..(grown * rowBytes)].ToArray(), Is.EqualTo(reference.Values.Span[..(grown * rowBytes)].ToArray()), $"{say}: values");
        Assert.That(p2.Read<int>(grown), Is.EqualTo(reference.Positions[..grown]), $"{say}: positions");
        k2.AssertPoisoned(grown * rowBytes, k2.Bytes, $"{say}: nothing past T + Hkv");
    }
}
