using System.Collections.Concurrent;
using MixKV.Interop;

namespace MixKV.Kernels.Runtime;

/// <summary>
/// The real device: primary context of one GPU, one stream, modules compiled by NVRTC on first use
/// (one program per .cu file, every instance of it at once) and cached on disk by
/// <see cref="KernelCompiler"/>.
/// </summary>
internal sealed class CudaKernelRuntime : IKernelRuntime
{
    private readonly CudaContext context;
    private readonly CudaStream ownStream;
    private readonly CaptureGate gate = new();
    private CudaStream? borrowedStream;
    private bool useDefaultStream;
    private bool capturing;
    private bool resolvingOnly;
    private readonly string architecture;
    private readonly ConcurrentDictionary<string, CudaModule> modules = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, CudaFunction> functions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, IReadOnlyDictionary<string, string>> loweredNames = new(StringComparer.Ordinal);

    private readonly int sharedBytesOptIn;

    private CudaKernelRuntime(CudaContext context, string architecture, int multiprocessors, int sharedBytesOptIn, bool programmaticLaunch)
    {
        this.context = context;
        this.architecture = architecture;
        this.sharedBytesOptIn = sharedBytesOptIn;
        Multiprocessors = multiprocessors;
        ProgrammaticLaunch = programmaticLaunch;
        ownStream = context.CreateStream(nonBlocking: true);
    }

    /// <summary>The stream launches and copies go to: the caller's when set, else the runtime's own.</summary>
    private CudaStream? Stream => useDefaultStream ? null : borrowedStream ?? ownStream;

    /// <summary>
    /// Queues all later work on the caller's stream (an engine's CUstream), so the pipeline orders with
    /// the engine's own kernels and can be captured in a CUDA graph; 0 is the legacy default stream.
    /// </summary>
    public void UseStream(nint callerStream)
    {
        using CaptureGate.Scope scope = gate.Exclusive();
        borrowedStream?.Dispose();
        borrowedStream = callerStream == 0 ? null : CudaStream.Borrow(context, callerStream);
        useDefaultStream = callerStream == 0;
    }

    public string Name => "cuda";

    public int Multiprocessors { get; }

    /// <summary>
    /// MIXKV_WGMMA=1 compiles for compute_90a on an sm_90 device (H100, H200) when NVRTC is 12 or newer,
    /// so the window kernels multiply with wgmma. Opt-in until the path has been checked on such a
    /// device: the CPU runtime runs it in CI, but only the hardware reads the shared-memory layouts.
    /// </summary>
    public const string WgmmaVariable = "MIXKV_WGMMA";

    public bool WarpgroupProducts => architecture == "compute_90a";

    /// <summary>Whether launches use programmatic dependent launch (<see cref="ProgrammaticLaunchPolicy"/>).</summary>
    public bool ProgrammaticLaunch { get; }

    /// <summary>Opens device <paramref name="ordinal"/>; throws <see cref="CudaException"/> naming the failing call when there is none.</summary>
    public static CudaKernelRuntime Open(int ordinal = 0)
    {
        CudaDriver.Initialize();
        CudaDevice device = CudaDevice.Get(ordinal);
        Version computeCapability = device.ComputeCapability;
        // NVRTC 11.8 targets up to compute_90; the driver JIT-compiles that PTX for newer parts.
        int capability = Math.Min(computeCapability.Major * 10 + computeCapability.Minor, 90);
        // compute_90a's code runs on sm_90 parts alone, and NVRTC knows it from 12.0 on.
        bool hopperProducts = computeCapability == new Version(9, 0) && Environment.GetEnvironmentVariable(WgmmaVariable) == "1" && NvrtcCompiler.Version.Major >= 12;
        if (ProgrammaticLaunchPolicy.RequestedRefusal(computeCapability) is { } refusal)
        {
            throw new NotSupportedException($"device {ordinal}: {refusal}");
        }

        CudaContext context = CudaContext.RetainPrimary(device);
        context.MakeCurrent();
        return new CudaKernelRuntime(context, hopperProducts ? "compute_90a" : $"compute_{capability}", device.MultiprocessorCount,
            device.GetAttribute(CudaDeviceAttribute.MaxSharedMemoryPerBlockOptin), ProgrammaticLaunchPolicy.Requested);
    }

    public void Launch<TParams>(string instance, in LaunchConfig config, in TParams parameters)
        where TParams : unmanaged
    {
        using CaptureGate.Scope scope = Operation();
        CudaFunction function = Function(instance);
        if (!resolvingOnly)
        {
            function.Launch(config, parameters, Stream, ProgrammaticLaunch);
        }
    }

    /// <summary>
    /// What the driver's JIT gave <paramref name="instance"/> on this device, loading it first if no
    /// launch has: registers per thread, and local memory per thread (spills and stack frames). CI's
    /// ptxas tables come from CUDA 11.8's and 12.4's ptxas; the device runs what its driver's compiler
    /// makes of the PTX.
    /// </summary>
    public (int Registers, int LocalBytes) LoadedResources(string instance)
    {
        context.MakeCurrent();
        CudaFunction function = Function(instance);
        return (function.RegisterCount, function.GetAttribute(CudaFunctionAttribute.LocalSizeBytes));
    }

    public IDeviceAllocation Allocate(long bytes) => new Allocation(context.Allocate(Math.Max(bytes, 1)), bytes);

    public void CopyToDevice(ReadOnlySpan<byte> source, DevicePointer destination)
    {
        using CaptureGate.Scope scope = Operation();
        RefuseInCapture(nameof(CopyToDevice));
        DeviceMemory.CopyHostToDevice(source, destination, Stream);
    }

    public void CopyToHost(DevicePointer source, Span<byte> destination)
    {
        using CaptureGate.Scope scope = Operation();
        RefuseInCapture(nameof(CopyToHost));
        DeviceMemory.CopyDeviceToHost(source, destination, Stream);
        Synchronize();
    }

    public void CopyDeviceToDevice(DevicePointer source, DevicePointer destination, long bytes)
    {
        using CaptureGate.Scope scope = Operation();
        if (!resolvingOnly)
        {
            DeviceMemory.CopyDeviceToDevice(source, destination, bytes, Stream);
        }
    }

    public void Fill(DevicePointer destination, byte value, long bytes)
    {
        using CaptureGate.Scope scope = Operation();
        if (!resolvingOnly)
        {
            DeviceMemory.Fill(destination, value, bytes, Stream);
        }
    }

    public void Synchronize()
    {
        using CaptureGate.Scope scope = Operation();
        RefuseInCapture(nameof(Synchronize));
        if (Stream is { } stream)
        {
            stream.Synchronize();
        }
        else
        {
            context.Synchronize();
        }
    }

    /// <summary>
    /// Stream capture on the current stream (the caller's, or the runtime's own); the legacy default
    /// stream (<see cref="UseStream"/>(0)) cannot be captured. Each <see cref="IKernelGraph.Launch"/>
    /// goes to the stream current at that time. Other threads' operations on this runtime wait for the
    /// capture to end (<see cref="CaptureGate"/>): the stream would record them, and while the kernels
    /// are resolved it queues nothing at all.
    /// </summary>
    public IKernelGraph Capture(Action enqueue)
    {
        ArgumentNullException.ThrowIfNull(enqueue);
        using CaptureGate.Scope scope = gate.Exclusive();
        CudaStream stream = Stream ?? throw new InvalidOperationException("graph capture needs a stream: the legacy default stream (UseStream(0)) cannot be captured");
        if (capturing)
        {
            throw new InvalidOperationException("a capture is already in progress on this runtime");
        }

        context.MakeCurrent();
        capturing = true;
        try
        {
            // Kernels are compiled and loaded on first use (NVRTC, cuModuleLoadData), which must not
            // happen inside a capture: a dry pass of the same enqueue loads every kernel it launches
            // first, queueing nothing.
            resolvingOnly = true;
            try
            {
                enqueue();
            }
            finally
            {
                resolvingOnly = false;
            }

            return new Graph(this, stream.Capture(enqueue));
        }
        finally
        {
            capturing = false;
        }
    }

    public void Dispose()
    {
        borrowedStream?.Dispose();
        ownStream.Dispose();
        foreach (CudaModule module in modules.Values)
        {
            module.Dispose();
        }

        context.Dispose();
        gate.Dispose();
    }

    /// <summary>
    /// Enters one queueing operation: beside other threads' operations but never inside another
    /// thread's capture, with the context current on this thread (driver calls act on the calling
    /// thread's current context, and an engine may call from any thread).
    /// </summary>
    private CaptureGate.Scope Operation()
    {
        context.MakeCurrent();
        return gate.Shared();
    }

    private CudaFunction Function(string instance) => functions.GetOrAdd(instance, name =>
    {
        KernelFile file = KernelSources.FileOf(name);
        CudaModule module = modules.GetOrAdd(file.Name, _ =>
        {
            CompiledProgram program = KernelCompiler.Compile(file, architecture);
            loweredNames[file.Name] = program.LoweredNames;
            return context.LoadModule(program);
        });
        CudaFunction function = module.GetFunction(loweredNames[file.Name][name]);
        // Launches past 48 KiB of dynamic shared memory fail unless the kernel opts in (the run kernels
        // stay under it at D <= 128 today; a larger tile or a staged operand would not). Set once here,
        // at load, so that no attribute call falls inside a graph capture; it reserves nothing.
        function.SetAttribute(CudaFunctionAttribute.MaxDynamicSharedSizeBytes, sharedBytesOptIn - function.GetAttribute(CudaFunctionAttribute.SharedSizeBytes));
        return function;
    });

    // Host copies would read or write host memory when the graph replays, long after the call, and a
    // wait cannot be recorded at all: both are refused rather than left to the driver's rules.
    private void RefuseInCapture(string operation)
    {
        if (capturing)
        {
            throw new InvalidOperationException($"{operation} inside a graph capture: host copies and waits cannot be recorded");
        }
    }

    private sealed class Graph(CudaKernelRuntime runtime, CudaGraph graph) : IKernelGraph
    {
        public void Launch()
        {
            using CaptureGate.Scope scope = runtime.Operation();
            graph.Launch(runtime.Stream);
        }

        public void Dispose() => graph.Dispose();
    }

    private sealed class Allocation(DeviceBuffer buffer, long bytes) : IDeviceAllocation
    {
        public DevicePointer Pointer => buffer.Pointer;

        public long Bytes => bytes;

        public void Dispose() => buffer.Dispose();
    }
}
