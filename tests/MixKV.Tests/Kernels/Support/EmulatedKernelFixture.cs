using NUnit.Framework;

namespace MixKV.Tests.Kernels.Support;

/// <summary>
/// Base of the kernel stage fixtures: one emulated backend (the CPU runtime running the .cu kernels)
/// per fixture, opened before its tests and disposed after.
/// </summary>
public abstract class EmulatedKernelFixture
{
    protected KernelBackend backend = null!;

    [OneTimeSetUp]
    public void OpenBackend() => backend = KernelBackend.OpenEmulated();

    [OneTimeTearDown]
    public void CloseBackend() => backend.Dispose();
}
