namespace MixKV.Interop;

/// <summary>
/// An executable graph (CUgraphExec) made by <see cref="CudaStream.Capture"/>: one launch replays every
/// kernel launch, memset and copy the capture recorded, with the arguments they had then. Destroyed
/// when disposed or finalized.
/// </summary>
public sealed unsafe class CudaGraph : CudaHandle
{
    internal CudaGraph(CudaContext context, nint value)
        : base(context, value)
    {
    }

    /// <summary>Queues the whole graph on <paramref name="stream"/> (null: the legacy default stream).</summary>
    public void Launch(CudaStream? stream = null)
    {
        using var lease = new HandleLease(this);
        using var streamLease = new HandleLease(stream);
        CudaException.ThrowIfFailed(Driver.cuGraphLaunch(lease.Value, streamLease.Value), nameof(Driver.cuGraphLaunch));
    }

    private protected override CudaStatus ReleaseNative(nint value) => Driver.cuGraphExecDestroy(value);
}
