using System.Runtime.CompilerServices;

namespace MixKV.Interop.Tests.Cuda;

public sealed class HandleDisposalTests
{
    /// <summary>A handle whose "driver" is a counter, so release discipline is testable without a GPU.</summary>
    private sealed class CountingHandle(nint value, StrongBox<int> releases) : CudaHandle(owner: null, value)
    {
        private protected override CudaStatus ReleaseNative(nint released)
        {
            Interlocked.Increment(ref releases.Value);
            return CudaStatus.CUDA_SUCCESS;
        }
    }

    [Test]
    public void DisposeReleasesExactlyOnce()
    {
        var releases = new StrongBox<int>();
        var handle = new CountingHandle(0x1234, releases);

        handle.Dispose();
        handle.Dispose();

        Assert.That(releases.Value, Is.EqualTo(1));
        Assert.That(handle.IsClosed, Is.True);
    }

    [Test]
    public void ConcurrentDisposeReleasesExactlyOnce()
    {
        var releases = new StrongBox<int>();
        var handle = new CountingHandle(0x1234, releases);

        Parallel.For(0, 16, _ => handle.Dispose());

        Assert.That(releases.Value, Is.EqualTo(1));
    }

    [Test]
    public void ALeaseDefersTheReleaseUntilTheCallEnds()
    {
        var releases = new StrongBox<int>();
        var handle = new CountingHandle(0x1234, releases);

        var lease = new HandleLease(handle);
        handle.Dispose();
        Assert.That(releases.Value, Is.Zero, "a native call in flight must not see its handle freed");
        Assert.That(lease.Value, Is.EqualTo((nint)0x1234));
        lease.Dispose();

        Assert.That(releases.Value, Is.EqualTo(1));
    }

    [Test]
    public void UsingADisposedHandleThrowsInsteadOfReachingTheDriver()
    {
        var handle = new CountingHandle(0x1234, new StrongBox<int>());
        handle.Dispose();

        Assert.Throws<ObjectDisposedException>(() =>
        {
            using var lease = new HandleLease(handle);
        });
    }

    [Test]
    public void AnAbandonedHandleIsReleasedByTheFinalizer()
    {
        var releases = new StrongBox<int>();
        Abandon(releases);

        GC.Collect();
        GC.WaitForPendingFinalizers();

        Assert.That(releases.Value, Is.EqualTo(1));
    }

    [Test]
    public void ANullHandleLeasesAsTheDefaultStream()
    {
        using var lease = new HandleLease(null);

        Assert.That(lease.Value, Is.EqualTo((nint)0));
    }

    [Test]
    public void NvrtcProgramDisposesTwiceSafely()
    {
        CudaTools.RequireRoot();
        var program = new NvrtcProgram("__global__ void k() {}", "k.cu");

        program.Dispose();
        program.Dispose();

        Assert.That(program.IsClosed, Is.True);
        Assert.Throws<ObjectDisposedException>(() => program.GetLog());
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Abandon(StrongBox<int> releases) => _ = new CountingHandle(0x5678, releases);
}
