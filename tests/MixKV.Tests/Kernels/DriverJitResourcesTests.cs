using MixKV.Kernels;
using MixKV.Kernels.Runtime;
using NUnit.Framework;

namespace MixKV.Tests.Kernels;

/// <summary>
/// Every kernel instance as the device's driver compiles it: no local memory (no spills, no stack
/// frame), as CI's ptxas tables assert for CUDA 11.8's and 12.4's ptxas (KernelCompilationTests).
/// The device never runs those ptxas' code: its driver JIT-compiles the PTX with its own compiler
/// (an H100's driver 580 gave window_run_mass 32 bytes of spills where 11.8's ptxas gave none and
/// 12.4's 8, until the bound on D in window_run.cu), so only the hardware's answer counts. Prints
/// the registers and local bytes of each. Ignored, saying why, without a device; bench/gpu-check.sh
/// runs it.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class DriverJitResourcesTests
{
    [OneTimeSetUp]
    public void RequireDevice()
    {
        if (!KernelBackendProbes.TryCuda(out string reason))
        {
            Assert.Ignore($"needs a CUDA device: {reason}");
        }
    }

    [Test]
    public void EveryInstanceLoadsWithoutLocalMemory()
    {
        using CudaKernelRuntime runtime = CudaKernelRuntime.Open();
        TestContext.Progress.WriteLine($"driver JIT, {(runtime.WarpgroupProducts ? "compute_90a" : "PTX of the device's compute capability (at most compute_90)")}:");
        TestContext.Progress.WriteLine($"{"kernel instance",-36} {"regs",5} {"local B",8}");
        var withLocalMemory = new List<string>();
        foreach (KernelFile file in KernelSources.Files)
        {
            foreach (string instance in file.Instances)
            {
                (int registers, int localBytes) = runtime.LoadedResources(instance);
                TestContext.Progress.WriteLine($"{instance,-36} {registers,5} {localBytes,8}");
                Assert.That(registers, Is.Positive, $"{instance}: the driver reports no registers");
                if (localBytes != 0)
                {
                    withLocalMemory.Add($"{instance} ({localBytes} B per thread)");
                }
            }
        }

        Assert.That(withLocalMemory, Is.Empty, "instances the driver gave local memory (spills or a stack frame)");
    }
}
