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
public sealed class KernelBackend : ILayerCompressor, IDisposable
{
    private readonly IKernelRuntime runtime;

    private KernelBackend(IKernelRuntime runtime) => this.runtime = runtime;

    /// <summary>"cuda" or "emulated".</summary>
    public string Name => runtime.Name;

    internal IKernelRuntime Runtime => runtime;

    /// <summary>Opens GPU <paramref name="device"/>; throws <see cref="CudaException"/> (or DllNotFoundException) when there is none.</summary>
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
        ArgumentNullException.ThrowIfNull(plan);
        DeviceInputValidator.Validate(plan, keys, values, queries, output, workspace, workspaceBytes);
        KernelPipeline.Enqueue(runtime, plan, keys, values, queries, output, workspace, scores: false);
    }

    /// <summary>
    /// Waits for the queued work and reads the layer's rejection word from its workspace (spec section 8):
    /// <see cref="DeviceRejection.None"/> when the outputs were written.
    /// </summary>
    public DeviceRejection ReadRejection(DevicePlan plan, DevicePointer workspace)
    {
        ArgumentNullException.ThrowIfNull(plan);
        if (!plan.Options.CheckFinite)
        {
            return DeviceRejection.None;
        }

        KernelWorkspace ws = KernelWorkspace.At(workspace, plan.QueryHeads, plan.KvHeads, plan.Tokens, plan.HeadDim, plan.Window);
        return (DeviceRejection)ReadInts(ws.Status, 1)[0];
    }

    /// <summary>
    /// Queues all later work on the caller's stream (an engine's CUstream; 0 = the legacy default
    /// stream), so the layer orders with the engine's kernels and can be captured in a CUDA graph.
    /// The emulated runtime runs each launch to completion and has no streams: there it is a no-op.
    /// </summary>
    public void UseStream(nint stream)
    {
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
        ArgumentNullException.ThrowIfNull(plan);
        DeviceInputValidator.ValidateInPlace(plan, keys, values, queries, selection, layout, workspace, workspaceBytes, staging, stagingBytes);
        KernelPipeline.EnqueueInPlace(runtime, plan, keys, values, queries, selection, layout, workspace, staging);
    }

    /// <summary>
    /// Decode-time append (spec section 7): one new K/V row per head at the end of that head's segment,
    /// written out of place into the destination buffers (segments shift, which would race in place);
    /// afterwards the cache's head_lens and cu_lens describe the destination. The live row count stays
    /// on the device, so capacity is checked there: on overflow nothing is written and
    /// <paramref name="status"/> (an int32 the caller zeroed) becomes 1.
    /// </summary>
    public void EnqueueAppend(DeviceFlatCache cache, DevicePointer destinationKeys, DevicePointer destinationValues, DevicePointer destinationPositions, int destinationCapacity,
        DevicePointer newKeys, DevicePointer newValues, int position, DevicePointer status)
    {
        DeviceInputValidator.ValidateAppend(cache, destinationKeys, destinationValues, destinationPositions, destinationCapacity, newKeys, newValues, position, status);
        int rowBytes = cache.HeadDim * cache.DType.Size();
        int maxRowsPerHead = Math.Max(cache.CapacityTokens, 1);
        foreach ((DevicePointer source, DevicePointer destination, DevicePointer rows) in new[] { (cache.Keys, destinationKeys, newKeys), (cache.Values, destinationValues, newValues) })
        {
            Kernels.Append.EnqueueRows(runtime, cache.KvHeads, rowBytes, maxRowsPerHead, source, destination, rows, cache.HeadLens, cache.CuLens, cache.Positions, destinationPositions, position, destinationCapacity, status);
        }

        Kernels.Append.EnqueueLengths(runtime, cache.KvHeads, cache.HeadLens, cache.CuLens, destinationCapacity, status);
    }

    /// <inheritdoc />
    public CompressedLayer Compress(LayerInputs inputs, CompressionOptions options, LayerPosition layer, bool withScores = false) =>
        Run(inputs, options, layer, withScores, intermediates: false).Layer;

    /// <summary>The convenience path plus the device's intermediate arrays (for comparison with the reference).</summary>
    internal (CompressedLayer Layer, KernelIntermediates? Intermediates) Run(LayerInputs inputs, CompressionOptions options, LayerPosition layer, bool withScores, bool intermediates)
    {
        InputValidator.Validate(inputs, options, layer);
        DevicePlan plan = Plan(inputs.QueryHeads, inputs.KvHeads, inputs.Tokens, inputs.HeadDim, options, layer);
        using var k = Upload(inputs.Keys, out DeviceTensor keys);
        using var v = Upload(inputs.Values, out DeviceTensor values);
        using var q = Upload(inputs.Queries, out DeviceTensor queries);
        int rowBytes = inputs.Keys.RowBytes;
        using IDeviceAllocation outKeys = runtime.Allocate((long)plan.MaxOutputTokens * rowBytes);
        using IDeviceAllocation outValues = runtime.Allocate((long)plan.MaxOutputTokens * rowBytes);
        using IDeviceAllocation positions = runtime.Allocate((long)plan.MaxOutputTokens * sizeof(int));
        using IDeviceAllocation headLens = runtime.Allocate((long)plan.KvHeads * sizeof(int));
        using IDeviceAllocation cuLens = runtime.Allocate((long)(plan.KvHeads + 1) * sizeof(int));
        using IDeviceAllocation workspace = runtime.Allocate(plan.WorkspaceBytes);
        var output = new DeviceLayerOutput(outKeys.Pointer, outValues.Pointer, positions.Pointer, headLens.Pointer, cuLens.Pointer, plan.MaxOutputTokens);
        DeviceInputValidator.Validate(plan, keys, values, queries, output, workspace.Pointer, workspace.Bytes);

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

        int[] lens = ReadInts(headLens.Pointer, plan.KvHeads);
        int total = ReadInts(cuLens.Pointer, plan.KvHeads + 1)[^1];
        int[] kept = ReadInts(positions.Pointer, total);
        var keysOut = new byte[(long)total * rowBytes];
        var valuesOut = new byte[keysOut.Length];
        runtime.CopyToHost(outKeys.Pointer, keysOut);
        runtime.CopyToHost(outValues.Pointer, valuesOut);

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

    public void Dispose() => runtime.Dispose();

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
