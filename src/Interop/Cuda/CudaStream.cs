namespace MixKV.Interop;

/// <summary>A stream (cuStreamCreate); destroyed when disposed or finalized. Work already queued still completes.</summary>
public sealed unsafe class CudaStream : CudaHandle
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

    /// <summary>
    /// Records what <paramref name="record"/> queues on this stream into an executable graph instead of
    /// running it (stream capture, thread-local mode: cuStreamBeginCapture_v2 ... cuStreamEndCapture,
    /// then cuGraphInstantiateWithFlags). The stream must be one the caller created, not the legacy
    /// default stream. If <paramref name="record"/> throws, the capture is ended and discarded, so the
    /// stream is usable again, and the exception propagates.
    /// </summary>
    public CudaGraph Capture(Action record)
    {
        ArgumentNullException.ThrowIfNull(record);
        CudaContext context = Context ?? throw new InvalidOperationException("a stream always belongs to a context");
        using var scope = new ContextScope(context);
        using var lease = new HandleLease(this);
        CudaException.ThrowIfFailed(Driver.cuStreamBeginCapture_v2(lease.Value, Driver.CaptureModeThreadLocal), nameof(Driver.cuStreamBeginCapture_v2));
        nint graph = 0;
        try
        {
            record();
        }
        catch
        {
            if (Driver.cuStreamEndCapture(lease.Value, &graph) == CudaStatus.CUDA_SUCCESS && graph != 0)
            {
                Driver.cuGraphDestroy(graph);
            }

            throw;
        }

        CudaException.ThrowIfFailed(Driver.cuStreamEndCapture(lease.Value, &graph), nameof(Driver.cuStreamEndCapture));
        try
        {
            nint executable;
            CudaException.ThrowIfFailed(Driver.cuGraphInstantiateWithFlags(&executable, graph, 0), nameof(Driver.cuGraphInstantiateWithFlags));
            return new CudaGraph(context, executable);
        }
        finally
        {
            // The executable graph holds everything it needs; the recorded one is no longer used.
            Driver.cuGraphDestroy(graph);
        }
    }

    private protected override CudaStatus ReleaseNative(nint value) =>
        owned ? Driver.cuStreamDestroy_v2(value) : CudaStatus.CUDA_SUCCESS;
}
