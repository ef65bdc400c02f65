namespace MixKV.Interop;

/// <summary>An event (cuEventCreate), for ordering and timing; destroyed when disposed or finalized.</summary>
public sealed unsafe class CudaEvent : CudaHandle
{
    /// <summary><c>CU_EVENT_DISABLE_TIMING</c>: cheaper events that can only order work.</summary>
    internal const uint DisableTimingFlag = 2;

    internal CudaEvent(CudaContext context, nint value)
        : base(context, value)
    {
    }

    /// <summary>Records the event on <paramref name="stream"/> (null: the legacy default stream).</summary>
    public void Record(CudaStream? stream = null)
    {
        using var lease = new HandleLease(this);
        using var streamLease = new HandleLease(stream);
        CudaException.ThrowIfFailed(Driver.cuEventRecord(lease.Value, streamLease.Value), nameof(Driver.cuEventRecord));
    }

    /// <summary>Waits until the work before the last record has finished.</summary>
    public void Synchronize()
    {
        using var lease = new HandleLease(this);
        CudaException.ThrowIfFailed(Driver.cuEventSynchronize(lease.Value), nameof(Driver.cuEventSynchronize));
    }

    /// <summary>Milliseconds between two recorded, completed timing events (about 0.5 µs resolution).</summary>
    public static float ElapsedMilliseconds(CudaEvent start, CudaEvent end)
    {
        ArgumentNullException.ThrowIfNull(start);
        ArgumentNullException.ThrowIfNull(end);
        using var startLease = new HandleLease(start);
        using var endLease = new HandleLease(end);
        float milliseconds;
        CudaException.ThrowIfFailed(Driver.cuEventElapsedTime(&milliseconds, startLease.Value, endLease.Value), nameof(Driver.cuEventElapsedTime));
        return milliseconds;
    }

    private protected override CudaStatus ReleaseNative(nint value) => Driver.cuEventDestroy_v2(value);
}
