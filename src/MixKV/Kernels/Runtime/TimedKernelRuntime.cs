using System.Diagnostics;
using MixKV.Interop;

namespace MixKV.Kernels.Runtime;

/// <summary>
/// A runtime that times every launch of the one it wraps: it waits for the queue before and after each
/// launch, so kernels never overlap and each time is that kernel's alone, launch latency included
/// (a few µs on a GPU). Meant for per-kernel profiles, not for the pipeline's own time, which runs
/// without these waits. Does not own the wrapped runtime.
/// </summary>
internal sealed class TimedKernelRuntime(IKernelRuntime inner) : IKernelRuntime
{
    private readonly List<(string Instance, TimeSpan Elapsed)> launches = [];

    public string Name => inner.Name;

    public int Multiprocessors => inner.Multiprocessors;

    public bool WarpgroupProducts => inner.WarpgroupProducts;

    /// <summary>Every launch so far, in order.</summary>
    public IReadOnlyList<(string Instance, TimeSpan Elapsed)> Launches => launches;

    public void Launch<TParams>(string instance, in LaunchConfig config, in TParams parameters)
        where TParams : unmanaged
    {
        inner.Synchronize();
        long start = Stopwatch.GetTimestamp();
        inner.Launch(instance, config, parameters);
        inner.Synchronize();
        launches.Add((instance, Stopwatch.GetElapsedTime(start)));
    }

    public void Clear() => launches.Clear();

    public IDeviceAllocation Allocate(long bytes) => inner.Allocate(bytes);

    public void CopyToDevice(ReadOnlySpan<byte> source, DevicePointer destination) => inner.CopyToDevice(source, destination);

    public void CopyToHost(DevicePointer source, Span<byte> destination) => inner.CopyToHost(source, destination);

    public void CopyDeviceToDevice(DevicePointer source, DevicePointer destination, long bytes) => inner.CopyDeviceToDevice(source, destination, bytes);

    public void Fill(DevicePointer destination, byte value, long bytes) => inner.Fill(destination, value, bytes);

    public void Synchronize() => inner.Synchronize();

    /// <summary>Not supported: the waits around every launch are what this runtime is for, and a graph cannot record them.</summary>
    public IKernelGraph Capture(Action enqueue) =>
        throw new NotSupportedException("a timed runtime waits around every launch, which a graph cannot record: capture on the runtime it wraps");

    public void Dispose()
    {
        // The wrapped runtime belongs to its caller.
    }
}
