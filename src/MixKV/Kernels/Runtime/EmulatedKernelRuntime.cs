using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using MixKV.Interop;

namespace MixKV.Kernels.Runtime;

/// <summary>
/// The CPU runtime behind the same launcher interface as the CUDA driver: kernels from
/// libmixkv_emu.so (the .cu files compiled by g++), "device" memory in aligned host memory, launches
/// synchronous. Between barriers the threads of a block run in index order or in a seeded random
/// order (<see cref="SetSchedule"/>), so a missing __syncthreads shows up as differing results.
/// </summary>
internal sealed unsafe class EmulatedKernelRuntime : IKernelRuntime
{
    private readonly ConcurrentDictionary<string, nint> functions = new(StringComparer.Ordinal);
    private readonly object launchLock = new();
    private readonly CaptureGate gate = new();
    private List<Action>? recording;

    private EmulatedKernelRuntime()
    {
    }

    public string Name => "emulated";

    /// <summary>A fixed count, not the machine's cores: the same run lengths, so the same results, on every machine.</summary>
    public int Multiprocessors => 4;

    /// <summary>Off unless set: the CUDA runtime's default (<see cref="CudaKernelRuntime.WgmmaVariable"/>).</summary>
    public bool WarpgroupProducts { get; set; }

    /// <summary>Throws <see cref="InvalidOperationException"/> naming every place looked at when the library is missing.</summary>
    public static EmulatedKernelRuntime Open()
    {
        if (!EmulatorNative.TryLoad(out string reason))
        {
            throw new InvalidOperationException(reason);
        }

        return new EmulatedKernelRuntime();
    }

    /// <summary>mode 0: index order; mode 1: seeded random order per block and barrier.</summary>
    public void SetSchedule(ulong seed, bool randomOrder) =>
        Check(EmulatorNative.SetSchedule(seed, randomOrder ? 1 : 0), "mixkv_emu_set_schedule");

    public void Launch<TParams>(string instance, in LaunchConfig config, in TParams parameters)
        where TParams : unmanaged
    {
        nint function = Function<TParams>(instance);  // an unknown kernel fails at capture, as on a GPU
        using CaptureGate.Scope scope = gate.Shared();
        RunOrRecord((runtime: this, function, instance, config, parameters), static s => s.runtime.LaunchNow(s.function, s.instance, s.config, s.parameters));
    }

    public IDeviceAllocation Allocate(long bytes) => new HostAllocation(bytes);

    public void CopyToDevice(ReadOnlySpan<byte> source, DevicePointer destination)
    {
        using CaptureGate.Scope scope = gate.Shared();
        RefuseInCapture(nameof(CopyToDevice));
        source.CopyTo(Span(destination, source.Length));
    }

    public void CopyToHost(DevicePointer source, Span<byte> destination)
    {
        using CaptureGate.Scope scope = gate.Shared();
        RefuseInCapture(nameof(CopyToHost));
        Span(source, destination.Length).CopyTo(destination);
    }

    public void CopyDeviceToDevice(DevicePointer source, DevicePointer destination, long bytes)
    {
        using CaptureGate.Scope scope = gate.Shared();
        RunOrRecord((source, destination, bytes), static s => Buffer.MemoryCopy((void*)s.source.Address, (void*)s.destination.Address, s.bytes, s.bytes));
    }

    public void Fill(DevicePointer destination, byte value, long bytes)
    {
        using CaptureGate.Scope scope = gate.Shared();
        RunOrRecord((destination, value, bytes), static s => NativeMemory.Fill((void*)s.destination.Address, (nuint)s.bytes, s.value));
    }

    public void Synchronize()
    {
        // Launches complete before they return; a wait still cannot be recorded, as on a GPU.
        using CaptureGate.Scope scope = gate.Shared();
        RefuseInCapture(nameof(Synchronize));
    }

    /// <summary>
    /// Records the launches, memsets and device copies of <paramref name="enqueue"/> as closures over
    /// their arguments; the graph replays them in order. Host copies and waits throw, as they do in a
    /// CUDA stream capture, so code that captures here captures on a GPU too. Other threads' operations
    /// wait for the capture to end (<see cref="CaptureGate"/>).
    /// </summary>
    public IKernelGraph Capture(Action enqueue)
    {
        ArgumentNullException.ThrowIfNull(enqueue);
        using CaptureGate.Scope scope = gate.Exclusive();
        if (recording is not null)
        {
            throw new InvalidOperationException("a capture is already in progress on this runtime");
        }

        recording = [];
        try
        {
            enqueue();
            return new RecordedGraph(gate, [.. recording]);
        }
        finally
        {
            recording = null;
        }
    }

    public void Dispose() => gate.Dispose();

    private static Span<byte> Span(DevicePointer pointer, int length) => new((void*)pointer.Address, length);

    /// <summary>
    /// Runs <paramref name="operation"/> on <paramref name="state"/> now, or records it while a capture
    /// is open. The operations are static lambdas over a struct state, so running at once allocates
    /// nothing (a closure per launch, memset and copy did); only a recording builds one.
    /// </summary>
    private void RunOrRecord<TState>(TState state, Action<TState> operation)
    {
        if (recording is { } steps)
        {
            steps.Add(() => operation(state));
            return;
        }

        operation(state);
    }

    private void RefuseInCapture(string operation)
    {
        if (recording is not null)
        {
            throw new InvalidOperationException($"{operation} inside a graph capture: host copies and waits cannot be recorded");
        }
    }

    private void LaunchNow<TParams>(nint function, string instance, LaunchConfig config, TParams parameters)
        where TParams : unmanaged
    {
        void* argument = &parameters;
        lock (launchLock)
        {
            int status = EmulatorNative.LaunchKernel(function, config.Grid.X, config.Grid.Y, config.Grid.Z, config.Block.X, config.Block.Y, config.Block.Z, config.SharedMemoryBytes, &argument);
            if (status != 0)
            {
                throw new InvalidOperationException($"mixkv_emu_launch: {instance}, {config}: status {status}: {EmulatorNative.LastErrorText()}");
            }
        }
    }

    private nint Function<TParams>(string instance)
        where TParams : unmanaged => functions.GetOrAdd(instance, name =>
    {
        Check(EmulatorNative.GetFunction(name, out nint function), $"mixkv_emu_get_function(\"{name}\")");
        Check(EmulatorNative.FunctionParamsSize(function, out ulong size), "mixkv_emu_function_params_size");
        if (size != (ulong)sizeof(TParams))
        {
            throw new InvalidOperationException($"{name}: the C params struct is {size} bytes but {typeof(TParams).Name} is {sizeof(TParams)}: rebuild libmixkv_emu.so or fix the struct");
        }

        return function;
    });

    private static void Check(int status, string call)
    {
        if (status != 0)
        {
            throw new InvalidOperationException($"{call}: status {status}: {EmulatorNative.LastErrorText()}");
        }
    }

    private sealed class RecordedGraph(CaptureGate gate, Action[] steps) : IKernelGraph
    {
        private bool disposed;

        public void Launch()
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            using CaptureGate.Scope scope = gate.Shared();
            foreach (Action step in steps)
            {
                step();
            }
        }

        public void Dispose() => disposed = true;
    }

    private sealed class HostAllocation : IDeviceAllocation
    {
        private void* memory;

        public HostAllocation(long bytes)
        {
            Bytes = bytes;
            memory = NativeMemory.AlignedAlloc((nuint)Math.Max(bytes, 1), 256);
        }

        public DevicePointer Pointer => new((ulong)memory);

        public long Bytes { get; }

        public void Dispose()
        {
            if (memory != null)
            {
                NativeMemory.AlignedFree(memory);
                memory = null;
            }
        }
    }
}
