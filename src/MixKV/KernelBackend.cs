using System.Diagnostics;
using System.Runtime.InteropServices;
using MixKV.Device;
using MixKV.Interop;
using MixKV.Kernels;
using MixKV.Kernels.Runtime;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Validation;

namespace MixKV;

/// <summary>
/// The kernels as a backend: on a GPU through the CUDA driver (<see cref="OpenCuda"/>), or on the
/// CPU through the fiber runtime that executes the same .cu files (<see cref="OpenEmulated"/>).
/// Engines call <see cref="Plan"/> once per shape and <see cref="Enqueue"/> over their own device
/// buffers; <see cref="Compress"/> is the convenience path from host tensors.
/// </summary>
public sealed partial class KernelBackend : ILayerCompressor, IDisposable
{
    private readonly IKernelRuntime runtime;
    private bool disposed;

    private KernelBackend(IKernelRuntime runtime) => this.runtime = runtime;

    /// <summary>"cuda" or "emulated".</summary>
    public string Name => runtime.Name;

    internal IKernelRuntime Runtime => runtime;

    /// <summary>
    /// Opens GPU <paramref name="device"/>; throws <see cref="CudaException"/> (or DllNotFoundException)
    /// when there is none, and NotSupportedException when MIXKV_PDL=1 asks for programmatic dependent
    /// launch that the device, driver or kernel sources cannot give (below sm_90, a driver older than
    /// CUDA 12.3, or a MIXKV_KERNEL_SOURCES kernel that does not wait for the grid before it first).
    /// </summary>
    public static KernelBackend OpenCuda(int device = 0) => new(CudaKernelRuntime.Open(device));

    /// <summary>Opens the CPU runtime (libmixkv_emu.so); throws <see cref="InvalidOperationException"/> naming where it looked.</summary>
    public static KernelBackend OpenEmulated() => new(EmulatedKernelRuntime.Open());

    /// <summary>Validates options and shapes and decides launch shapes, output bound and workspace size.</summary>
    public DevicePlan Plan(int queryHeads, int kvHeads, int tokens, int headDim, CompressionOptions options, LayerPosition layer) =>
        DevicePlan.Create(queryHeads, kvHeads, tokens, headDim, options, layer);

    /// <summary>
    /// Queues the whole layer on the backend's stream over caller-owned device buffers, without waiting.
    /// Every argument is checked first: a rejected call queues nothing. The caller's K and V are only read.
    /// With <see cref="CompressionOptions.CheckFinite"/> (the default) K, V and the window are checked
    /// for NaN/Inf on the device: a rejected layer writes no output and <see cref="ReadRejection"/>
    /// says why, without the pipeline ever waiting for the host.
    /// </summary>
    public void Enqueue(DevicePlan plan, DeviceTensor keys, DeviceTensor values, DeviceTensor queries, DeviceLayerOutput output, DevicePointer workspace, long workspaceBytes)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(plan);
        DeviceInputValidator.Validate(plan, keys, values, queries, output, workspace, workspaceBytes);
        KernelPipeline.Enqueue(runtime, plan, keys, values, queries, output, workspace, scores: false);
    }

    /// <summary>
    /// Records <see cref="Enqueue"/> over these buffers, without running it, as a graph that each
    /// <see cref="DeviceLayerGraph.Launch"/> queues whole (on a GPU: stream capture on the current
    /// stream, which must not be the legacy default one). Arguments are checked as Enqueue checks them
    /// and a rejected call records nothing. The offline redundancy row, when the options give one, is
    /// copied into the workspace now: launches expect the workspace to hold it, so keep it for this plan.
    /// </summary>
    public DeviceLayerGraph CaptureEnqueue(DevicePlan plan, DeviceTensor keys, DeviceTensor values, DeviceTensor queries, DeviceLayerOutput output, DevicePointer workspace, long workspaceBytes)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(plan);
        DeviceInputValidator.Validate(plan, keys, values, queries, output, workspace, workspaceBytes);
        KernelPipeline.UploadConstants(runtime, plan, workspace, scores: false);
        IKernelGraph graph = runtime.Capture(() => KernelPipeline.Enqueue(runtime, plan, keys, values, queries, output, workspace, scores: false, uploadConstants: false));
        return new DeviceLayerGraph(this, graph);
    }

    /// <summary>
    /// Waits for the queued work and reads the layer's rejection word from its workspace (spec section 8):
    /// <see cref="DeviceRejection.None"/> when the outputs were written.
    /// </summary>
    public DeviceRejection ReadRejection(DevicePlan plan, DevicePointer workspace)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(plan);
        if (!plan.Options.CheckFinite)
        {
            return DeviceRejection.None;
        }

        KernelWorkspace ws = KernelWorkspace.At(workspace, plan.QueryHeads, plan.KvHeads, plan.Tokens, plan.HeadDim, plan.Window);
        return (DeviceRejection)ReadInts(ws.Status, 1)[0];
    }

    /// <summary>Waits for the queued work and reads the status word of <see cref="EnqueueAppend"/>.</summary>
    public AppendStatus ReadAppendStatus(DevicePointer status)
    {
        ThrowIfDisposed();
        DeviceInputValidator.Pointer(status, nameof(status), sizeof(int));
        return (AppendStatus)ReadInts(status, 1)[0];
    }

    /// <summary>
    /// Queues all later work on the caller's stream (an engine's CUstream; 0 = the legacy default
    /// stream), so the layer orders with the engine's kernels and can be captured in a CUDA graph.
    /// The emulated runtime runs each launch to completion and has no streams: there it is a no-op.
    /// </summary>
    public void UseStream(nint stream)
    {
        ThrowIfDisposed();
        if (runtime is CudaKernelRuntime cuda)
        {
            cuda.UseStream(stream);
        }
    }

    /// <summary>Bytes of the staging buffer <see cref="EnqueueInPlace"/> needs: one compressed K (or V) at the plan's bound.</summary>
    public static long InPlaceStagingBytes(DevicePlan plan, DType dtype)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return (long)plan.MaxOutputTokens * plan.HeadDim * dtype.Size();
    }

    /// <summary>
    /// Compresses the caller's K and V in place (spec section 7): the kept rows overwrite the front of
    /// each head's own region (<see cref="OutputLayout.Dense"/>, uniform caps only) or the start of the
    /// buffer as packed [T, D] rows (<see cref="OutputLayout.Flattened"/>); positions and lengths go
    /// to <paramref name="selection"/>. Rows pass through <paramref name="staging"/> (no larger than the
    /// compressed cache), and every argument is checked before the first launch, so a rejected call
    /// leaves the cache as it was.
    /// </summary>
    public void EnqueueInPlace(DevicePlan plan, DeviceTensor keys, DeviceTensor values, DeviceTensor queries, DeviceSelection selection, OutputLayout layout, DevicePointer workspace, long workspaceBytes, DevicePointer staging, long stagingBytes)
    {
        ThrowIfDisposed();
        ArgumentNullException.ThrowIfNull(plan);
        DeviceInputValidator.ValidateInPlace(plan, keys, values, queries, selection, layout, workspace, workspaceBytes, staging, stagingBytes);
        KernelPipeline.EnqueueInPlace(runtime, plan, keys, values, queries, selection, layout, workspace, staging);
    }

    /// <summary>
    /// Decode-time append (spec section 7): one new K/V row per head at the end of that head's segment,
    /// written out of place into the destination buffers (segments shift, which would race in place);
    /// afterwards the cache's head_lens and cu_lens describe the destination. The lengths and the live
    /// row count stay on the device, so they are checked there: when the destination would overflow,
    /// or the cache's lengths are inconsistent, nothing is written and <paramref name="status"/> (an
    /// int32 the caller zeroed) says which (<see cref="AppendStatus"/>, <see cref="ReadAppendStatus"/>).
    /// </summary>
    public void EnqueueAppend(DeviceFlatCache cache, DevicePointer destinationKeys, DevicePointer destinationValues, DevicePointer destinationPositions, int destinationCapacity,
        DevicePointer newKeys, DevicePointer newValues, int position, DevicePointer status)
    {
        ThrowIfDisposed();
        DeviceInputValidator.ValidateAppend(cache, destinationKeys, destinationValues, destinationPositions, destinationCapacity, newKeys, newValues, position, status);
        int rowBytes = cache.HeadDim * cache.DType.Size();
        int maxRowsPerHead = Math.Max(cache.CapacityTokens, 1);
        foreach ((DevicePointer source, DevicePointer destination, DevicePointer rows) in new[] { (cache.Keys, destinationKeys, newKeys), (cache.Values, destinationValues, newValues) })
        {
            Kernels.Append.EnqueueRows(runtime, cache.KvHeads, rowBytes, maxRowsPerHead, source, cache.CapacityTokens, destination, rows, cache.HeadLens, cache.CuLens, cache.Positions, destinationPositions, position, destinationCapacity, status);
        }

        Kernels.Append.EnqueueLengths(runtime, cache.KvHeads, cache.HeadLens, cache.CuLens, cache.CapacityTokens, destinationCapacity, status);
    }

    /// <inheritdoc />
    public CompressedLayer Compress(LayerInputs inputs, CompressionOptions options, LayerPosition layer, bool withScores = false) =>
        Run(inputs, options, layer, withScores, intermediates: false).Layer;

    /// <summary>
    /// Per-kernel device time of the whole layer: the inputs are copied to the device once, then the
    /// pipeline runs <paramref name="repeat"/> times with a wait before and after every launch
    /// (<see cref="TimedKernelRuntime"/>), so each kernel is timed alone. Instances in first-launch order;
    /// their sum exceeds the pipelined time by the launch latencies the waits expose.
    /// </summary>
    public IReadOnlyList<KernelTime> ProfileKernels(LayerInputs inputs, CompressionOptions options, LayerPosition layer, int repeat)
    {
        ThrowIfDisposed();
        ArgumentOutOfRangeException.ThrowIfLessThan(repeat, 1);
        InputValidator.Validate(inputs, options, layer);
        using DeviceCall call = DeviceCall.Upload(this, inputs, options, layer);
        var timed = new TimedKernelRuntime(runtime);
        var perCall = new List<Dictionary<string, (int Launches, double Microseconds)>>(repeat);
        var order = new List<string>();
        for (int i = 0; i < repeat; i++)
        {
            timed.Clear();
            KernelPipeline.Enqueue(timed, call.Plan, call.Keys, call.Values, call.Queries, call.Output, call.Workspace.Pointer, scores: false);
            runtime.Synchronize();
            var sums = new Dictionary<string, (int Launches, double Microseconds)>();
            foreach ((string instance, TimeSpan elapsed) in timed.Launches)
            {
                (int launches, double microseconds) = sums.GetValueOrDefault(instance);
                sums[instance] = (launches + 1, microseconds + elapsed.TotalMicroseconds);
                if (!order.Contains(instance))
                {
                    order.Add(instance);
                }
            }

            perCall.Add(sums);
        }

        return order.Select(instance =>
        {
            double median = Median.Of(perCall.Select(sums => sums.GetValueOrDefault(instance).Microseconds));
            return new KernelTime(instance, perCall[0].GetValueOrDefault(instance).Launches, median);
        }).ToList();
    }

    /// <summary>The convenience path plus the device's intermediate arrays (for comparison with the reference).</summary>
    internal (CompressedLayer Layer, KernelIntermediates? Intermediates) Run(LayerInputs inputs, CompressionOptions options, LayerPosition layer, bool withScores, bool intermediates)
    {
        ThrowIfDisposed();
        InputValidator.Validate(inputs, options, layer);
        using DeviceCall call = DeviceCall.Upload(this, inputs, options, layer);
        DevicePlan plan = call.Plan;
        int rowBytes = inputs.Keys.RowBytes;
        (DeviceTensor keys, DeviceTensor values, DeviceTensor queries, DeviceLayerOutput output) = (call.Keys, call.Values, call.Queries, call.Output);
        IDeviceAllocation workspace = call.Workspace;

        var stageTimes = new TimeSpan[Enum.GetValues<KernelPipeline.Stage>().Length];
        var clock = Stopwatch.StartNew();
        KernelPipeline.Enqueue(runtime, plan, keys, values, queries, output, workspace.Pointer, withScores || intermediates, stage =>
        {
            runtime.Synchronize();
            stageTimes[(int)stage] += clock.Elapsed;
            clock.Restart();
        });
        runtime.Synchronize();
        DeviceRejection rejection = ReadRejection(plan, workspace.Pointer);
        if (rejection != DeviceRejection.None)
        {
            // The host check above makes this unreachable for host inputs; kept so the two paths agree.
            string name = rejection.HasFlag(DeviceRejection.NonFiniteKeys) ? "keys" : rejection.HasFlag(DeviceRejection.NonFiniteValues) ? "values" : "queries";
            throw new ArgumentException($"{name} contain a non-finite value (NaN or Inf), found on the device", name);
        }

        int[] lens = ReadInts(output.HeadLens, plan.KvHeads);
        int total = ReadInts(output.CuLens, plan.KvHeads + 1)[^1];
        int[] kept = ReadInts(output.Positions, total);
        var keysOut = new byte[(long)total * rowBytes];
        var valuesOut = new byte[keysOut.Length];
        runtime.CopyToHost(output.Keys, keysOut);
        runtime.CopyToHost(output.Values, valuesOut);

        KernelWorkspace ws = KernelWorkspace.At(workspace.Pointer, plan.QueryHeads, plan.KvHeads, plan.Tokens, plan.HeadDim, plan.Window);
        int prefixCells = plan.KvHeads * plan.Prefix;
        float[]? scores = withScores ? (plan.Prefix > 0 ? ReadFloats(ws.Scores, prefixCells) : []) : null;
        KernelIntermediates? details = intermediates && plan.Prefix > 0
            ? new KernelIntermediates(
                ReadFloats(ws.Attention, prefixCells),
                ReadFloats(ws.KeyNorm, prefixCells),
                ReadFloats(ws.ValueNorm, prefixCells),
                ReadFloats(ws.Similarity, prefixCells),
                ReadFloats(ws.OnlineRedundancy, plan.KvHeads),
                ReadFloats(ws.Scores, prefixCells),
                lens.Select(len => len - plan.Window).ToArray())
            : null;

        var timings = new StageTimings(stageTimes[0], stageTimes[1], stageTimes[2], stageTimes[3], stageTimes[4], stageTimes[5]);
        var keptTokens = new KeptTokens(plan.Compressed, lens, kept, Math.Max(inputs.Tokens - options.Window, 0), scores);
        return (new CompressedLayer(keptTokens, keysOut, valuesOut, inputs.Keys.DType, inputs.HeadDim, timings), details);
    }

    /// <summary>Releases the runtime (on a GPU: the context reference, stream and modules); later calls, and launches of its graphs, throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        if (!disposed)
        {
            disposed = true;
            runtime.Dispose();
        }
    }

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(disposed, this);

    /// <summary>Copies the bytes a host view spans to the device, keeping its strides.</summary>
    private IDeviceAllocation Upload(HeadTensor tensor, out DeviceTensor device)
    {
        long start = tensor.Offset * tensor.ElementSize;
        long length = tensor.ElementExtent() * tensor.ElementSize - start;
        IDeviceAllocation allocation = runtime.Allocate(length);
        runtime.CopyToDevice(tensor.Data.Span.Slice((int)start, (int)length), allocation.Pointer);
        device = new DeviceTensor(allocation.Pointer, tensor.DType, tensor.Heads, tensor.Tokens, tensor.Dim, tensor.HeadStride, tensor.TokenStride);
        return allocation;
    }

    private int[] ReadInts(DevicePointer pointer, int count)
    {
        var values = new int[count];
        runtime.CopyToHost(pointer, MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }

    private float[] ReadFloats(DevicePointer pointer, int count)
    {
        var values = new float[count];
        runtime.CopyToHost(pointer, MemoryMarshal.AsBytes(values.AsSpan()));
        return values;
    }
}
