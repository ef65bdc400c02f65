using System.Runtime.InteropServices;

namespace MixKV.Interop;

/// <summary>
/// Holds a SafeHandle's reference count for the length of one native call, so a concurrent
/// Dispose cannot free the object mid-call; a disposed handle throws ObjectDisposedException here
/// instead of reaching the driver as a dangling pointer. A null handle leases as 0 (the default stream).
/// </summary>
internal ref struct HandleLease
{
    private readonly SafeHandle? handle;
    private bool added;

    public HandleLease(SafeHandle? handle)
    {
        this.handle = handle;
        if (handle is null) return;
        handle.DangerousAddRef(ref added);
        Value = handle.DangerousGetHandle();
    }

    public nint Value { get; }

    public void Dispose()
    {
        if (!added) return;
        added = false;
        handle!.DangerousRelease();
    }
}
