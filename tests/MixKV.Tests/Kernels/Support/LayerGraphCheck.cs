using MixKV.Device;
using MixKV.Interop;
using MixKV.Kernels.Runtime;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;

namespace MixKV.Tests.Kernels.Support;

/// <summary>
/// The checks of <see cref="KernelBackend.CaptureEnqueue"/> over any backend. Buffers go through the
/// runtime's own copies and fills, so the same check runs on the CPU runtime in CI and on a GPU.
/// </summary>
internal static class LayerGraphCheck
{
    /// <summary>
    /// A captured layer, launched over two different contents of the same buffers, writes exactly the
    /// bytes (poison included) that Enqueue writes over the same contents; the capture itself writes
    /// no output.
    /// </summary>
    public static void LaunchesEqualEnqueue(KernelBackend backend, BudgetMethod method, DType dtype, bool offlineRedundancy)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = rng.Int(1, 3), groups = rng.Int(1, 3), tokens = rng.Int(90, 260), dim = 16 * rng.Int(1, 4), window = rng.Int(8, 16);
        TensorLayout layout = rng.Coin() ? TensorLayout.Hnd : TensorLayout.Nhd;
        var options = new CompressionOptions
        {
            Method = method,
            Window = window,
            Budget = window + rng.Int(4, tokens - window - 4),
            Redundancy = offlineRedundancy ? RandomTable(rng, layers: 2, heads) : null,
        };
        var position = new LayerPosition(1, 2);
        string say = rng.Say($"{backend.Name} {method} {dtype} {layout} Hkv {heads} G {groups} N {tokens} D {dim} W {window} budget {options.Budget} offline redundancy {offlineRedundancy}");
        LaunchesEqualEnqueue(backend, rng, LayerData.Random(rng, heads, groups, tokens, dim, window, dtype), layout, options, position, say);
    }

    /// <summary>The same check over a drawn case's layer and options (the random-shape search).</summary>
    public static void LaunchesEqualEnqueue(KernelBackend backend, KernelCase c, TestRandom rng, string draw)
    {
        LayerData data = c.Data(rng, out int tokens);
        (CompressionOptions options, LayerPosition position) = c.DrawOptions(rng, tokens);
        LaunchesEqualEnqueue(backend, rng, data, c.Layout, options, position, rng.Say($"{draw} ({c}): N {tokens}, budget {options.Budget}, layer {position}"));
    }

    private static void LaunchesEqualEnqueue(KernelBackend backend, TestRandom rng, LayerData data, TensorLayout layout, CompressionOptions options, LayerPosition position, string say)
    {
        DevicePlan plan = backend.Plan(data.QueryHeads, data.KvHeads, data.Tokens, data.Dim, options, position);
        int rowBytes = data.Dim * data.DType.Size();
        using var layer = new DeviceLayer(backend.Runtime, plan, data, layout);
        using var fromGraph = new OutputBuffers(backend.Runtime, plan, rowBytes);
        using var fromEnqueue = new OutputBuffers(backend.Runtime, plan, rowBytes);

        var refused = Assert.Catch<ArgumentException>(() => backend.CaptureEnqueue(plan, layer.Keys, layer.Values, layer.Queries, fromGraph.Layer, layer.Workspace, plan.WorkspaceBytes - 1));
        Assert.That(refused!.ParamName, Is.EqualTo("workspace"), $"{say}: {refused.Message}");
        using DeviceLayerGraph graph = backend.CaptureEnqueue(plan, layer.Keys, layer.Values, layer.Queries, fromGraph.Layer, layer.Workspace, layer.WorkspaceBytes);
        backend.Runtime.Synchronize();
        Assert.That(fromGraph.Snapshot().All(bytes => bytes.All(b => b == DeviceRegion.Poison)), $"{say}: neither capture ran anything");

        byte[][]? firstRun = null;
        for (int run = 0; run < 2; run++)
        {
            if (run > 0)
            {
                layer.Refill(LayerData.Random(rng, data.KvHeads, data.QueryHeads / data.KvHeads, data.Tokens, data.Dim, data.Queries[0].Length, data.DType));
                fromGraph.Poison();
                fromEnqueue.Poison();
            }

            byte[][] launched = AssertLaunchEqualsEnqueue(backend, plan, graph, layer, fromGraph, fromEnqueue, $"{say}: run {run}");
            if (firstRun is null)
            {
                firstRun = launched;
            }
            else
            {
                Assert.That(launched[OutputBuffers.Keys], Is.Not.EqualTo(firstRun[OutputBuffers.Keys]), $"{say}: the second launch read the new contents");
            }
        }
    }

    /// <summary>
    /// Captures one drawn layer again and again on this thread while <paramref name="alongside"/> runs on
    /// another thread over the same backend, then launches the last graph against Enqueue. Nothing the
    /// other thread copies, fills or launches may be recorded into a graph (or skipped while a capture
    /// resolves its kernels): <paramref name="alongside"/> checks its own results, and its failure is
    /// this check's failure.
    /// </summary>
    public static void CapturesBesideOtherWork(KernelBackend backend, KernelCase c, TestRandom rng, Action alongside)
    {
        LayerData data = c.Data(rng, out int tokens);
        (CompressionOptions options, LayerPosition position) = c.DrawOptions(rng, tokens);
        string say = rng.Say($"captured beside other work ({c}): N {tokens}, budget {options.Budget}, layer {position}");
        DevicePlan plan = backend.Plan(data.QueryHeads, data.KvHeads, data.Tokens, data.Dim, options, position);
        int rowBytes = data.Dim * data.DType.Size();
        using var layer = new DeviceLayer(backend.Runtime, plan, data, c.Layout);
        using var fromGraph = new OutputBuffers(backend.Runtime, plan, rowBytes);
        using var fromEnqueue = new OutputBuffers(backend.Runtime, plan, rowBytes);

        Task other = Task.Factory.StartNew(alongside, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        DeviceLayerGraph? graph = null;
        int captures = 0;
        try
        {
            do
            {
                graph?.Dispose();
                graph = backend.CaptureEnqueue(plan, layer.Keys, layer.Values, layer.Queries, fromGraph.Layer, layer.Workspace, layer.WorkspaceBytes);
                captures++;
            }
            while (!other.IsCompleted);
        }
        finally
        {
            // The other thread's failure first: a graph that took in its launches must not be run.
            other.GetAwaiter().GetResult();
        }

        using (graph)
        {
            TestContext.Progress.WriteLine($"{captures} captures beside the other thread's work");
            AssertLaunchEqualsEnqueue(backend, plan, graph, layer, fromGraph, fromEnqueue, $"{say}: the last of {captures} captures");
        }
    }

    /// <summary>Launches <paramref name="graph"/>, then Enqueue over the same inputs; both must write the same bytes. Returns the graph's.</summary>
    private static byte[][] AssertLaunchEqualsEnqueue(KernelBackend backend, DevicePlan plan, DeviceLayerGraph graph, DeviceLayer layer, OutputBuffers fromGraph, OutputBuffers fromEnqueue, string say)
    {
        graph.Launch();
        Assert.That(backend.ReadRejection(plan, layer.Workspace), Is.EqualTo(DeviceRejection.None), say);
        byte[][] launched = fromGraph.Snapshot();
        backend.Enqueue(plan, layer.Keys, layer.Values, layer.Queries, fromEnqueue.Layer, layer.Workspace, layer.WorkspaceBytes);
        backend.Runtime.Synchronize();
        byte[][] enqueued = fromEnqueue.Snapshot();

        int kept = BitConverter.ToInt32(launched[OutputBuffers.CuLens], plan.KvHeads * sizeof(int));
        Assert.That(kept, Is.InRange(1, plan.MaxOutputTokens), $"{say}: the graph wrote cu_lens");
        for (int i = 0; i < launched.Length; i++)
        {
            Assert.That(launched[i], Is.EqualTo(enqueued[i]), $"{say}: {OutputBuffers.Names[i]} from the graph vs Enqueue");
        }

        return launched;
    }

    /// <summary>Non-finite K after the capture: the launch is rejected and writes nothing; the next clean launch writes again.</summary>
    public static void LaunchOverNonFiniteKeysIsRejected(KernelBackend backend)
    {
        TestRandom rng = KernelCheck.Seeded();
        int heads = 2, groups = 2, tokens = rng.Int(80, 160), dim = 32, window = 8;
        const DType dtype = DType.BF16;
        var options = new CompressionOptions { Method = BudgetMethod.AdaKV, Window = window, Budget = 40 };
        DevicePlan plan = backend.Plan(heads * groups, heads, tokens, dim, options, LayerPosition.Single);
        LayerData data = LayerData.Random(rng, heads, groups, tokens, dim, window, dtype);
        using var layer = new DeviceLayer(backend.Runtime, plan, data, TensorLayout.Hnd);
        using var outputs = new OutputBuffers(backend.Runtime, plan, dim * dtype.Size());
        using DeviceLayerGraph graph = backend.CaptureEnqueue(plan, layer.Keys, layer.Values, layer.Queries, outputs.Layer, layer.Workspace, layer.WorkspaceBytes);
        int head = rng.Int(0, heads - 1), token = rng.Int(0, tokens - 1), element = rng.Int(0, dim - 1);
        string say = rng.Say($"{backend.Name}: NaN in K at head {head}, token {token}, element {element}, after the capture");

        float kept = data.Keys[head][token][element];
        data.Keys[head][token][element] = float.NaN;
        layer.Refill(data);
        graph.Launch();

        Assert.That(backend.ReadRejection(plan, layer.Workspace), Is.EqualTo(DeviceRejection.NonFiniteKeys), say);
        Assert.That(outputs.Snapshot().All(bytes => bytes.All(b => b == DeviceRegion.Poison)), $"{say}: nothing written");

        data.Keys[head][token][element] = kept;
        layer.Refill(data);
        graph.Launch();
        Assert.That(backend.ReadRejection(plan, layer.Workspace), Is.EqualTo(DeviceRejection.None), $"{say}: the finite launch after it");
        Assert.That(outputs.Snapshot()[OutputBuffers.HeadLens], Has.Some.Not.EqualTo(DeviceRegion.Poison), $"{say}: the finite launch wrote head_lens");
    }

    private static RedundancyTable RandomTable(TestRandom rng, int layers, int heads) =>
        new([.. Enumerable.Range(0, layers).Select(_ => (IReadOnlyList<double>)[.. Enumerable.Range(0, heads).Select(_ => rng.Uniform(0, 1))])]);

    /// <summary>K, V, Q and a workspace in device memory, filled through the runtime's copies.</summary>
    private sealed class DeviceLayer : IDisposable
    {
        private readonly IKernelRuntime runtime;
        private readonly TensorLayout layout;
        private readonly IDeviceAllocation keys, values, queries, workspace;

        public DeviceLayer(IKernelRuntime runtime, DevicePlan plan, LayerData data, TensorLayout layout)
        {
            this.runtime = runtime;
            this.layout = layout;
            (keys, Keys) = Upload(data.Keys, data.DType);
            (values, Values) = Upload(data.Values, data.DType);
            (queries, Queries) = Upload(data.Queries, data.DType);
            workspace = runtime.Allocate(plan.WorkspaceBytes);
        }

        public DeviceTensor Keys { get; }

        public DeviceTensor Values { get; }

        public DeviceTensor Queries { get; }

        public DevicePointer Workspace => workspace.Pointer;

        public long WorkspaceBytes => workspace.Bytes;

        /// <summary>New contents for the same buffers (same shape, dtype and layout).</summary>
        public void Refill(LayerData data)
        {
            runtime.CopyToDevice(DeviceInputs.Body(DeviceInputs.Pack(data.Keys, data.DType, layout)), keys.Pointer);
            runtime.CopyToDevice(DeviceInputs.Body(DeviceInputs.Pack(data.Values, data.DType, layout)), values.Pointer);
            runtime.CopyToDevice(DeviceInputs.Body(DeviceInputs.Pack(data.Queries, data.DType, layout)), queries.Pointer);
        }

        public void Dispose()
        {
            keys.Dispose();
            values.Dispose();
            queries.Dispose();
            workspace.Dispose();
        }

        private (IDeviceAllocation, DeviceTensor) Upload(float[][][] tensor, DType dtype)
        {
            HeadTensor host = DeviceInputs.Pack(tensor, dtype, layout);
            byte[] body = DeviceInputs.Body(host);
            IDeviceAllocation allocation = runtime.Allocate(body.Length);
            runtime.CopyToDevice(body, allocation.Pointer);
            return (allocation, new DeviceTensor(allocation.Pointer, dtype, host.Heads, host.Tokens, host.Dim, host.HeadStride, host.TokenStride));
        }
    }

    /// <summary>A layer's five outputs in device memory, poisoned through the runtime's fill.</summary>
    private sealed class OutputBuffers : IDisposable
    {
        public const int Keys = 0, HeadLens = 3, CuLens = 4;

        public static readonly string[] Names = ["K'", "V'", "positions", "head_lens", "cu_lens"];

        private readonly IKernelRuntime runtime;
        private readonly IDeviceAllocation[] buffers;

        public OutputBuffers(IKernelRuntime runtime, DevicePlan plan, int rowBytes)
        {
            this.runtime = runtime;
            long rows = plan.MaxOutputTokens;
            buffers = [.. new[] { rows * rowBytes, rows * rowBytes, rows * sizeof(int), plan.KvHeads * sizeof(int), (plan.KvHeads + 1L) * sizeof(int) }.Select(runtime.Allocate)];
            Poison();
            Layer = new DeviceLayerOutput(buffers[0].Pointer, buffers[1].Pointer, buffers[2].Pointer, buffers[3].Pointer, buffers[4].Pointer, plan.MaxOutputTokens);
        }

        public DeviceLayerOutput Layer { get; }

        public void Poison()
        {
            foreach (IDeviceAllocation buffer in buffers)
            {
                runtime.Fill(buffer.Pointer, DeviceRegion.Poison, buffer.Bytes);
            }
        }

        /// <summary>Every byte of the five outputs (waits for the queue).</summary>
        public byte[][] Snapshot() => [.. buffers.Select(buffer =>
        {
            var bytes = new byte[buffer.Bytes];
            runtime.CopyToHost(buffer.Pointer, bytes);
            return bytes;
        })];

        public void Dispose()
        {
            foreach (IDeviceAllocation buffer in buffers)
            {
                buffer.Dispose();
            }
        }
    }
}
