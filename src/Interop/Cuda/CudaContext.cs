namespace MixKV.Interop;

/// <summary>
/// A retained reference to a device's primary context (the one the CUDA runtime and other libraries
/// share, so MixKV's buffers and a caller's are in the same address space). Disposing releases
/// this reference; the context itself lives while anyone holds one.
/// </summary>
/// <remarks>
/// Driver calls run in the calling thread's current context. <see cref="RetainPrimary"/> makes the
/// context current on its thread; other threads call <see cref="MakeCurrent"/>. The factory
/// methods here push the context themselves, so what they create always belongs to it.
/// </remarks>
public sealed unsafe class CudaContext : CudaHandle
{
    private CudaContext(CudaDevice device, nint value)
        : base(owner: null, value) => Device = device;

    /// <summary>The device whose primary context this is.</summary>
    public CudaDevice Device { get; }

    /// <summary>Retains the primary context of <paramref name="device"/> and makes it current on this thread.</summary>
    public static CudaContext RetainPrimary(CudaDevice device)
    {
        ArgumentNullException.ThrowIfNull(device);
        nint value;
        CudaException.ThrowIfFailed(Driver.cuDevicePrimaryCtxRetain(&value, device.Ordinal), nameof(Driver.cuDevicePrimaryCtxRetain));
        var context = new CudaContext(device, value);
        context.MakeCurrent();
        return context;
    }

    /// <summary>Binds this context to the calling thread.</summary>
    public void MakeCurrent()
    {
        using var lease = new HandleLease(this);
        CudaException.ThrowIfFailed(Driver.cuCtxSetCurrent(lease.Value), nameof(Driver.cuCtxSetCurrent));
    }

    /// <summary>Waits for all work in this context; surfaces errors of earlier asynchronous work.</summary>
    public void Synchronize()
    {
        using var scope = new ContextScope(this);
        CudaException.ThrowIfFailed(Driver.cuCtxSynchronize(), nameof(Driver.cuCtxSynchronize));
    }

    /// <summary>Allocates <paramref name="bytes"/> of device memory owned by the returned buffer.</summary>
    public DeviceBuffer Allocate(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(bytes);
        using var scope = new ContextScope(this);
        ulong pointer;
        CudaException.ThrowIfFailed(Driver.cuMemAlloc_v2(&pointer, checked((nuint)bytes)), nameof(Driver.cuMemAlloc_v2));
        return new DeviceBuffer(this, pointer, bytes);
    }

    /// <summary>Allocates room for <paramref name="count"/> values of <typeparamref name="T"/>.</summary>
    public DeviceBuffer Allocate<T>(long count) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return Allocate(checked(count * sizeof(T)));
    }

    /// <summary>Loads a compiled program: its CUBIN when NVRTC produced one, else its PTX (JIT-compiled by the driver).</summary>
    public CudaModule LoadModule(CompiledProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        return program.Cubin is { } cubin ? LoadModule(cubin) : LoadModule(program.Ptx);
    }

    /// <summary>Loads PTX text; the driver JIT-compiles it for this device.</summary>
    public CudaModule LoadModule(string ptx)
    {
        ArgumentException.ThrowIfNullOrEmpty(ptx);
        return LoadModule(CudaModule.NulTerminated(ptx));
    }

    /// <summary>Loads a module image: a CUBIN, a fatbin, or NUL-terminated PTX.</summary>
    public CudaModule LoadModule(ReadOnlySpan<byte> image)
    {
        if (image.IsEmpty) throw new ArgumentException("The module image is empty.", nameof(image));
        using var scope = new ContextScope(this);
        return new CudaModule(this, CudaModule.Load(image));
    }

    /// <summary>Creates a stream; <paramref name="nonBlocking"/> streams do not wait for the legacy default stream.</summary>
    public CudaStream CreateStream(bool nonBlocking = false)
    {
        using var scope = new ContextScope(this);
        nint stream;
        CudaException.ThrowIfFailed(Driver.cuStreamCreate(&stream, nonBlocking ? CudaStream.NonBlockingFlag : 0), nameof(Driver.cuStreamCreate));
        return new CudaStream(this, stream);
    }

    /// <summary>Creates an event; timing events can measure the time between two records.</summary>
    public CudaEvent CreateEvent(bool timing = true)
    {
        using var scope = new ContextScope(this);
        nint evt;
        CudaException.ThrowIfFailed(Driver.cuEventCreate(&evt, timing ? 0 : CudaEvent.DisableTimingFlag), nameof(Driver.cuEventCreate));
        return new CudaEvent(this, evt);
    }

    private protected override CudaStatus ReleaseNative(nint value) => Driver.cuDevicePrimaryCtxRelease_v2(Device.Ordinal);
}
