namespace MixKV.Interop;

/// <summary>A stream (cuStreamCreate); destroyed when disposed or finalized. Work already queued still completes.</summary>
public sealed class CudaStream : CudaHandle
{
    /// <summary><c>CU_STREAM_NON_BLOCKING</c>.</summary>
    internal const uint NonBlockingFlag = 1;

    internal CudaStream(CudaContext context, nint value)
        : base(context, value)
    {
    }

    /// <summary>Waits for everything queued on this stream; surfaces its asynchronous errors.</summary>
    public void Synchronize()
    {
        using var lease = new HandleLease(this);
        CudaException.ThrowIfFailed(Driver.cuStreamSynchronize(lease.Value), nameof(Driver.cuStreamSynchronize));
    }

    private protected override CudaStatus ReleaseNative(nint value) => Driver.cuStreamDestroy_v2(value);
}
