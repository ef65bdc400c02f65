namespace MixKV.Interop;

/// <summary>
/// Makes a context current for the length of a creation call and restores the caller's afterwards,
/// so what a <see cref="CudaContext"/> creates always lives in that context, whatever thread asks.
/// </summary>
internal unsafe ref struct ContextScope
{
    private HandleLease lease;
    private bool pushed;

    public ContextScope(CudaContext context)
    {
        lease = new HandleLease(context);
        var status = Driver.cuCtxPushCurrent_v2(lease.Value);
        if (status != CudaStatus.CUDA_SUCCESS)
        {
            lease.Dispose();
            throw new CudaException(nameof(Driver.cuCtxPushCurrent_v2), status);
        }
        pushed = true;
    }

    public void Dispose()
    {
        if (pushed)
        {
            pushed = false;
            nint popped;
            Driver.cuCtxPopCurrent_v2(&popped);
        }
        lease.Dispose();
    }
}
