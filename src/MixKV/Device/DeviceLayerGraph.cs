using MixKV.Kernels.Runtime;

namespace MixKV.Device;

/// <summary>
/// One layer's whole pipeline recorded once by <see cref="KernelBackend.CaptureEnqueue"/> and queued
/// again by each <see cref="Launch"/>: on a GPU a CUDA graph, so a layer costs one cuGraphLaunch
/// instead of a host call per kernel and memset (at short prompts those calls, not the bytes, are the
/// time); on the CPU runtime the recorded launches, run in order. The plan, the buffers and the options
/// are fixed at capture; the buffers' contents are read anew by every launch, which writes the outputs
/// and the rejection word as <see cref="KernelBackend.Enqueue"/> would.
/// </summary>
public sealed class DeviceLayerGraph : IDisposable
{
    private readonly KernelBackend backend;
    private readonly IKernelGraph graph;

    internal DeviceLayerGraph(KernelBackend backend, IKernelGraph graph) => (this.backend, this.graph) = (backend, graph);

    /// <summary>
    /// Queues the layer on the backend's current stream (<see cref="KernelBackend.UseStream"/>), without
    /// waiting. Throws <see cref="ObjectDisposedException"/> once this graph or its backend is disposed.
    /// </summary>
    public void Launch()
    {
        backend.ThrowIfDisposed();
        graph.Launch();
    }

    /// <summary>Frees the graph; work already queued still completes.</summary>
    public void Dispose() => graph.Dispose();
}
