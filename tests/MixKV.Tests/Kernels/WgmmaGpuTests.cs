using MixKV.Interop;
using MixKV.Kernels.Runtime;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;
using static MixKV.Tests.Kernels.Support.WgmmaSelfTest;

namespace MixKV.Tests.Kernels;

/// <summary>
/// The wgmma self-test product (<see cref="WgmmaSelfTest"/>) on an H100 or H200, compiled by NVRTC 12+
/// for compute_90a: the only check that the hardware reads the descriptors and the core layout as the
/// CPU runtime's emulation does (WgmmaTests). Ignored, saying why, elsewhere; bench/gpu-check.sh runs
/// it. No CPU runtime here: a GPU machine may hold only the built tests.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class WgmmaGpuTests
{
    private CudaDevice? device;

    [OneTimeSetUp]
    public void FindHopper()
    {
        if (!KernelBackendProbes.TryCuda(out string reason))
        {
            Assert.Ignore($"needs a CUDA device: {reason}");
        }

        CudaDriver.Initialize();
        device = CudaDevice.Get(0);
        if (device.ComputeCapability != new Version(9, 0) || NvrtcCompiler.Version.Major < 12)
        {
            Assert.Ignore($"needs an sm_90 device (H100/H200) and NVRTC 12+: {device} is {device.ComputeCapability}, NVRTC {NvrtcCompiler.Version}");
        }
    }

    [Test]
    [Repeat(4)]
    public void ProductOnAHopperGpuMatchesTheReference()
    {
        TestRandom rng = KernelCheck.Seeded();
        ProductCase c = ProductCase.Random(rng);
        c.Verify(Run(c), rng);
    }

    /// <summary>Where the product reads A and B from: on a mismatch, which value each of the first wrong elements paired.</summary>
    [Test]
    public void LayoutProbeOnAHopperGpuReadsEachValueWhereTheLayoutPutsIt()
    {
        ProductCase c = ProductCase.Probe();
        c.VerifyProbe(Run(c));
    }

    private float[] Run(ProductCase c)
    {
        using CudaContext context = CudaContext.RetainPrimary(device!);
        context.MakeCurrent();
        CompiledProgram program = Compile(SelfTestFile(), "compute_90a");
        using CudaModule module = context.LoadModule(program);
        using DeviceBuffer a = context.Allocate<ushort>(c.A.Length), b = context.Allocate<ushort>(c.B.Length);
        using DeviceBuffer bias = context.Allocate<float>(c.C.Length), d = context.Allocate<float>(c.Rows * Columns);
        a.CopyFrom<ushort>(c.A);
        b.CopyFrom<ushort>(c.B);
        bias.CopyFrom<float>(c.C);
        DeviceMemory.Fill(d.Pointer, DeviceRegion.Poison, d.Length);

        module.GetFunction(program.LoweredNames[c.Instance]).Launch(Config(c), c.Params(a.Pointer, b.Pointer, bias.Pointer, d.Pointer));
        context.Synchronize();
        var result = new float[c.Rows * Columns];
        DeviceMemory.CopyDeviceToHost(d.Pointer, result.AsSpan());
        return result;
    }
}
