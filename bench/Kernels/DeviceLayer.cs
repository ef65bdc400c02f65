using MixKV.Device;
using MixKV.Kernels.Runtime;
using MixKV.Options;
using MixKV.Tensors;

namespace MixKV.Bench.Kernels;

/// <summary>
/// One random layer resident on a kernel backend's device, with outputs and workspace allocated once,
/// so a benchmark times only the queued pipeline (what an engine pays per layer), not transfers.
/// </summary>
internal sealed class DeviceLayer : IDisposable
{
    private readonly List<IDeviceAllocation> allocations = [];

    public DeviceLayer(KernelBackend backend, DType dtype, int queryHeads, int kvHeads, int tokens, int dim, int window, CompressionOptions options)
    {
        Backend = backend;
        IKernelRuntime runtime = backend.Runtime;
        Plan = backend.Plan(queryHeads, kvHeads, tokens, dim, options, LayerPosition.Single);
        var random = new Random(20261126);
        Keys = Upload(runtime, random, dtype, kvHeads, tokens, dim);
        Values = Upload(runtime, random, dtype, kvHeads, tokens, dim);
        Queries = Upload(runtime, random, dtype, queryHeads, window, dim);
        int rowBytes = dim * dtype.Size();
        Output = new DeviceLayerOutput(
            Take(runtime, (long)Plan.MaxOutputTokens * rowBytes),
            Take(runtime, (long)Plan.MaxOutputTokens * rowBytes),
            Take(runtime, (long)Plan.MaxOutputTokens * sizeof(int)),
            Take(runtime, (long)kvHeads * sizeof(int)),
            Take(runtime, (long)(kvHeads + 1) * sizeof(int)),
            Plan.MaxOutputTokens);
        Workspace = Take(runtime, Plan.WorkspaceBytes);
        InputBytes = 2L * kvHeads * tokens * rowBytes;
    }

    public KernelBackend Backend { get; }

    public DevicePlan Plan { get; }

    public DeviceTensor Keys { get; }

    public DeviceTensor Values { get; }

    public DeviceTensor Queries { get; }

    public DeviceLayerOutput Output { get; }

    public Interop.DevicePointer Workspace { get; }

    /// <summary>Bytes of K and V: the traffic floor of one pass over each.</summary>
    public long InputBytes { get; }

    /// <summary>Queues the layer and waits for it.</summary>
    public void Run()
    {
        Backend.Enqueue(Plan, Keys, Values, Queries, Output, Workspace, Plan.WorkspaceBytes);
        Backend.Runtime.Synchronize();
    }

    public void Dispose()
    {
        foreach (IDeviceAllocation allocation in allocations)
        {
            allocation.Dispose();
        }
    }

    private Interop.DevicePointer Take(IKernelRuntime runtime, long bytes)
    {
        IDeviceAllocation allocation = runtime.Allocate(bytes);
        allocations.Add(allocation);
        return allocation.Pointer;
    }

    private DeviceTensor Upload(IKernelRuntime runtime, Random random, DType dtype, int heads, int tokens, int dim)
    {
        var bytes = new byte[(long)heads * tokens * dim * dtype.Size()];
        for (int i = 0; i < heads * tokens * dim; i++)
        {
            ElementCodec.Write(bytes.AsSpan(i * dtype.Size(), dtype.Size()), dtype, (float)(random.NextDouble() * 2 - 1));
        }

        Interop.DevicePointer pointer = Take(runtime, bytes.Length);
        runtime.CopyToDevice(bytes, pointer);
        return DeviceTensor.Create(pointer, dtype, TensorLayout.Hnd, heads, tokens, dim);
    }
}
