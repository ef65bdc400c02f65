namespace MixKV.Kernels.Runtime;

/// <summary>
/// Keeps a graph capture to the thread that opened it. While a runtime captures, it records what is
/// queued on it (on a GPU: everything queued on the capturing stream, from any thread), so a launch
/// from another thread would land in the graph instead of running, and its host copies would be
/// refused as if they were the capture's. Every queueing operation holds the gate shared, so threads
/// queue side by side; a capture, or a change of stream, holds it exclusive: it waits for the
/// operations in flight, and later ones wait for it. The capturing thread's own operations re-enter.
/// </summary>
internal sealed class CaptureGate : IDisposable
{
    private readonly ReaderWriterLockSlim gate = new(LockRecursionPolicy.SupportsRecursion);

    /// <summary>For one launch, copy, fill, wait or graph launch.</summary>
    public Scope Shared()
    {
        gate.EnterReadLock();
        return new Scope(gate, exclusive: false);
    }

    /// <summary>For a whole capture (or a change of what the operations queue on).</summary>
    public Scope Exclusive()
    {
        gate.EnterWriteLock();
        return new Scope(gate, exclusive: true);
    }

    public void Dispose() => gate.Dispose();

    public readonly ref struct Scope(ReaderWriterLockSlim gate, bool exclusive)
    {
        public void Dispose()
        {
            if (exclusive)
            {
                gate.ExitWriteLock();
            }
            else
            {
                gate.ExitReadLock();
            }
        }
    }
}
