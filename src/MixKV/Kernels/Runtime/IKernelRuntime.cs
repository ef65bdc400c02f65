using MixKV.Interop;

namespace MixKV.Kernels.Runtime;

/// <summary>
/// What the launchers need from a device: kernels by name expression, launches with one params
/// struct, and memory. Two implementations run the same .cu sources through the same launch code:
/// the CUDA driver (NVRTC-compiled PTX) and the CPU runtime (g++-compiled, one fiber per thread).
/// Launches are asynchronous on the runtime's stream; only <see cref="Synchronize"/> and the host
/// copies wait. A sequence of launches can be recorded once and replayed (<see cref="Capture"/>).
/// </summary>
internal interface IKernelRuntime : IDisposable
{
    /// <summary>"cuda" or "emulated".</summary>
    string Name { get; }

    /// <summary>
    /// Multiprocessors the launches spread over. It only steers how work is cut into blocks (the run
    /// kernels' run length), which moves results by summation order at most.
    /// </summary>
    int Multiprocessors { get; }

    /// <summary>
    /// Whether the launchers may pick the kernels' wgmma forms (kernels/common/wgmma.cuh): on the CUDA
    /// driver, when the kernels were compiled for compute_90a; on the CPU runtime, which always holds
    /// those forms, when its caller asks for them (the tests take both).
    /// </summary>
    bool WarpgroupProducts { get; }

    /// <summary>Queues <paramref name="instance"/> (e.g. "select_topk") with its params struct.</summary>
    void Launch<TParams>(string instance, in LaunchConfig config, in TParams parameters)
        where TParams : unmanaged;

    /// <summary>Device memory owned by the runtime until the returned object is disposed.</summary>
    IDeviceAllocation Allocate(long bytes);

    void CopyToDevice(ReadOnlySpan<byte> source, DevicePointer destination);

    void CopyToHost(DevicePointer source, Span<byte> destination);

    void CopyDeviceToDevice(DevicePointer source, DevicePointer destination, long bytes);

    void Fill(DevicePointer destination, byte value, long bytes);

    /// <summary>Waits for every queued launch and copy; surfaces asynchronous failures.</summary>
    void Synchronize();

    /// <summary>
    /// Records what <paramref name="enqueue"/> queues on this runtime, without running it, as a graph
    /// that <see cref="IKernelGraph.Launch"/> replays with the same arguments. Host copies and waits
    /// cannot be recorded: inside <paramref name="enqueue"/> they throw <see cref="InvalidOperationException"/>.
    /// </summary>
    IKernelGraph Capture(Action enqueue);
}

/// <summary>Recorded launches, memsets and device copies (<see cref="IKernelRuntime.Capture"/>).</summary>
internal interface IKernelGraph : IDisposable
{
    /// <summary>Queues everything recorded, in order, on the runtime's current stream.</summary>
    void Launch();
}

/// <summary>Device memory owned by a runtime.</summary>
internal interface IDeviceAllocation : IDisposable
{
    DevicePointer Pointer { get; }

    long Bytes { get; }
}
