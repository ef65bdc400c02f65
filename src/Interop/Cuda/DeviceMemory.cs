namespace MixKV.Interop;

/// <summary>
/// Copies and fills on device addresses the caller owns. A context must be current on the calling
/// thread. The overloads with a stream are stream-ordered (the driver's Async calls).
/// </summary>
/// <remarks>
/// Stream-ordered copies from ordinary (pageable) managed memory are safe: the driver stages the
/// source before returning, and pageable device-to-host copies complete before returning. Only
/// page-locked host memory is copied truly asynchronously, and its owner must keep it alive.
/// </remarks>
public static unsafe class DeviceMemory
{
    /// <summary>Copies all of <paramref name="source"/> to <paramref name="destination"/>.</summary>
    public static void CopyHostToDevice<T>(ReadOnlySpan<T> source, DevicePointer destination, CudaStream? stream = null) where T : unmanaged
    {
        RequireAddress(destination, nameof(destination));
        if (source.IsEmpty) return;
        var bytes = (nuint)source.Length * (nuint)sizeof(T);
        using var lease = new HandleLease(stream);
        fixed (T* pointer = source)
        {
            if (stream is null)
                CudaException.ThrowIfFailed(Driver.cuMemcpyHtoD_v2(destination.Address, pointer, bytes), nameof(Driver.cuMemcpyHtoD_v2));
            else
                CudaException.ThrowIfFailed(Driver.cuMemcpyHtoDAsync_v2(destination.Address, pointer, bytes, lease.Value), nameof(Driver.cuMemcpyHtoDAsync_v2));
        }
    }

    /// <summary>Fills all of <paramref name="destination"/> from <paramref name="source"/>.</summary>
    public static void CopyDeviceToHost<T>(DevicePointer source, Span<T> destination, CudaStream? stream = null) where T : unmanaged
    {
        RequireAddress(source, nameof(source));
        if (destination.IsEmpty) return;
        var bytes = (nuint)destination.Length * (nuint)sizeof(T);
        using var lease = new HandleLease(stream);
        fixed (T* pointer = destination)
        {
            if (stream is null)
                CudaException.ThrowIfFailed(Driver.cuMemcpyDtoH_v2(pointer, source.Address, bytes), nameof(Driver.cuMemcpyDtoH_v2));
            else
                CudaException.ThrowIfFailed(Driver.cuMemcpyDtoHAsync_v2(pointer, source.Address, bytes, lease.Value), nameof(Driver.cuMemcpyDtoHAsync_v2));
        }
    }

    /// <summary>Copies <paramref name="bytes"/> bytes between device addresses.</summary>
    public static void CopyDeviceToDevice(DevicePointer source, DevicePointer destination, long bytes, CudaStream? stream = null)
    {
        RequireAddress(source, nameof(source));
        RequireAddress(destination, nameof(destination));
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes == 0) return;
        using var lease = new HandleLease(stream);
        if (stream is null)
            CudaException.ThrowIfFailed(Driver.cuMemcpyDtoD_v2(destination.Address, source.Address, (nuint)bytes), nameof(Driver.cuMemcpyDtoD_v2));
        else
            CudaException.ThrowIfFailed(Driver.cuMemcpyDtoDAsync_v2(destination.Address, source.Address, (nuint)bytes, lease.Value), nameof(Driver.cuMemcpyDtoDAsync_v2));
    }

    /// <summary>Sets <paramref name="bytes"/> bytes to <paramref name="value"/> (cuMemsetD8).</summary>
    public static void Fill(DevicePointer destination, byte value, long bytes, CudaStream? stream = null)
    {
        RequireAddress(destination, nameof(destination));
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        if (bytes == 0) return;
        using var lease = new HandleLease(stream);
        if (stream is null)
            CudaException.ThrowIfFailed(Driver.cuMemsetD8_v2(destination.Address, value, (nuint)bytes), nameof(Driver.cuMemsetD8_v2));
        else
            CudaException.ThrowIfFailed(Driver.cuMemsetD8Async(destination.Address, value, (nuint)bytes, lease.Value), nameof(Driver.cuMemsetD8Async));
    }

    private static void RequireAddress(DevicePointer pointer, string parameter)
    {
        if (pointer.IsNull) throw new ArgumentException("The device pointer is null.", parameter);
    }
}
