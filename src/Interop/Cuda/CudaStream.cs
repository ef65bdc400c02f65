namespace MixKV.Interop;

/// <summary>A stream (cuStreamCreate); destroyed when disposed or finalized. Work already queued still completes.</summary>
public sealed class CudaStream : CudaHandle
{
    /// <summary><c>CU_STREAM_NON_BLOCKING</c>.</summary>
    internal const uint NonBlockingFlag = 1;

    private readonly bool owned = true;

    internal CudaStream(CudaContext context, nint value)
        : base(context, value)
    {
    }

    private CudaStream(CudaContext context, nint value, bool owned)
        : base(context, value) => this.owned = owned;

    /// <summary>
    /// Wraps a stream the caller created (an engine's CUstream) without taking ownership: disposing the
    /// wrapper never destroys it. The handle must be non-zero; use no stream for the legacy default one.
    /// </summary>
    public static CudaStream Borrow(CudaContext context, nint handle)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (handle == 0) throw new ArgumentException("a borrowed stream handle must be non-zero (pass no stream for the default stream)", nameof(handle));
        return new CudaStream(context, handle, owned: false);
    }

    /// <summary>Waits for everything queued on this stream; surfaces its asynchronous errors.</summary>
    public void Synchronize()
    {
        using var lease = new HandleLease(this);
        CudaException.ThrowIfFailed(Driver.cuStreamSynchronize(lease.Value), nameof(Driver.cuStreamSynchronize));
    }

    private protected override CudaStatus ReleaseNative(nint value) =>
        owned ? Driver.cuStreamDestroy_v2(value) : CudaStatus.CUDA_SUCCESS;
}
