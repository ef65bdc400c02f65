using NUnit.Framework;

namespace MixKV.Tests.Kernels.Support;

/// <summary>
/// A kernel fixture whose tests change the CPU runtime's schedule: after each test (and so before the
/// backend closes) the runtime goes back to in-order scheduling, so no other test inherits a seed.
/// </summary>
public abstract class ScheduledKernelFixture : EmulatedKernelFixture
{
    [TearDown]
    public void InOrderAgain() => KernelCheck.Emulated(backend).SetSchedule(0, randomOrder: false);
}
