namespace MixKV.Interop;

/// <summary>
/// Device memory MixKV allocated (cuMemAlloc) and therefore frees: on Dispose, or in the finalizer
/// if a path forgot. Copies are bounds-checked against <see cref="Length"/>. A context must be
/// current on the calling thread for copies; the release pushes the buffer's own context.
/// </summary>
public sealed unsafe class DeviceBuffer : CudaHandle
{
    internal DeviceBuffer(CudaContext context, ulong address, long length)
        : base(context, unchecked((nint)address))
    {
        Length = length;
    }

    /// <summary>Size in bytes.</summary>
    public long Length { get; }

    /// <summary>
    /// The buffer's address, for kernel parameter structs. A view, not a reference: it does not keep
    /// the buffer alive, so the buffer must outlive every launch that uses it.
    /// </summary>
    public DevicePointer Pointer
    {
        get
        {
            ObjectDisposedException.ThrowIf(IsClosed, this);
            return new DevicePointer(unchecked((ulong)handle));
        }
    }

    /// <summary>Copies <paramref name="source"/> to the start of the buffer.</summary>
    public void CopyFrom<T>(ReadOnlySpan<T> source, CudaStream? stream = null) where T : unmanaged
    {
        RequireFits((long)source.Length * sizeof(T), nameof(source));
        using var lease = new HandleLease(this);
        DeviceMemory.CopyHostToDevice(source, Address(lease), stream);
    }

    /// <summary>Copies the start of the buffer into <paramref name="destination"/>.</summary>
    public void CopyTo<T>(Span<T> destination, CudaStream? stream = null) where T : unmanaged
    {
        RequireFits((long)destination.Length * sizeof(T), nameof(destination));
        using var lease = new HandleLease(this);
        DeviceMemory.CopyDeviceToHost(Address(lease), destination, stream);
    }

    /// <summary>Copies the whole buffer to the start of <paramref name="destination"/>.</summary>
    public void CopyTo(DeviceBuffer destination, CudaStream? stream = null)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.Length < Length)
            throw new ArgumentException($"The destination holds {destination.Length} bytes; the source has {Length}.", nameof(destination));
        using var source = new HandleLease(this);
        using var target = new HandleLease(destination);
        DeviceMemory.CopyDeviceToDevice(Address(source), Address(target), Length, stream);
    }

    /// <summary>Sets every byte to <paramref name="value"/>.</summary>
    public void Fill(byte value, CudaStream? stream = null)
    {
        using var lease = new HandleLease(this);
        DeviceMemory.Fill(Address(lease), value, Length, stream);
    }

    private void RequireFits(long bytes, string parameter)
    {
        if (bytes > Length)
            throw new ArgumentException($"The span holds {bytes} bytes; the buffer has {Length}.", parameter);
    }

    private static DevicePointer Address(in HandleLease lease) => new(unchecked((ulong)lease.Value));

    private protected override CudaStatus ReleaseNative(nint value) => Driver.cuMemFree_v2(unchecked((ulong)value));
}
