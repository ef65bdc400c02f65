using System.Runtime.InteropServices;

namespace MixKV.Interop;

/// <summary>
/// Base of every owning driver handle (module, device memory, stream, event, primary context).
/// Releases exactly once, on Dispose or in the finalizer, on any thread.
/// </summary>
/// <remarks>
/// A handle created in a context keeps that context alive (a SafeHandle reference count) and
/// pushes it around its release: the finalizer thread has no current context, and finalization
/// order would otherwise let the context go first. This is what managedCuda's finalizers lack.
/// </remarks>
public abstract unsafe class CudaHandle : SafeHandle
{
    private readonly CudaContext? owner;

    /// <param name="owner">The context the object lives in; null for the context itself.</param>
    /// <param name="value">The native handle, already created: a SafeHandle must never own a failed creation.</param>
    private protected CudaHandle(CudaContext? owner, nint value)
        : base(invalidHandleValue: 0, ownsHandle: true)
    {
        if (owner is not null)
        {
            var added = false;
            owner.DangerousAddRef(ref added);
            this.owner = owner;
        }
        SetHandle(value);
    }

    /// <summary>The context this object was created in (null for a context).</summary>
    public CudaContext? Context => owner;

    public override bool IsInvalid => handle == 0;

    /// <summary>Frees the native object; the owning context, if any, is current while it runs.</summary>
    private protected abstract CudaStatus ReleaseNative(nint value);

    protected sealed override bool ReleaseHandle()
    {
        if (owner is null) return ReleaseNative(handle) == CudaStatus.CUDA_SUCCESS;
        try
        {
            if (Driver.cuCtxPushCurrent_v2(owner.DangerousGetHandle()) != CudaStatus.CUDA_SUCCESS) return false;
            var status = ReleaseNative(handle);
            nint popped;
            Driver.cuCtxPopCurrent_v2(&popped);
            return status == CudaStatus.CUDA_SUCCESS;
        }
        finally
        {
            owner.DangerousRelease();
        }
    }
}
