using System.Runtime.InteropServices;
using MixKV.Interop.Tests.Compilation;

namespace MixKV.Interop.Tests.Cuda;

/// <summary>The whole path on a real GPU: NVRTC → module → launch with a params struct → copies back.</summary>
public sealed class GpuRoundTripTests
{
    /// <summary>Mirrors <c>ScaleParams&lt;float&gt;</c>: two pointers, a count and the factor (24 bytes).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct ScaleParams
    {
        public DevicePointer Input;
        public DevicePointer Output;
        public uint Count;
        public float Factor;
    }

    private CudaContext context = null!;

    [SetUp]
    public void RequireDevice()
    {
        if (!CudaDriver.TryInitialize(out var reason) || CudaDevice.Count == 0)
            Assert.Ignore($"needs a CUDA device: {reason}");
        context = CudaContext.RetainPrimary(CudaDevice.Get(0));
    }

    [TearDown]
    public void ReleaseContext() => context?.Dispose();

    [Test]
    public void ScaleKernelRunsAndCopiesBack()
    {
        var device = context.Device;
        TestContext.Out.WriteLine($"{device.Name}, sm_{device.ComputeCapability.Major}{device.ComputeCapability.Minor}, {device.TotalMemoryBytes >> 20} MiB");
        var program = NvrtcCompiler.Compile(NvrtcCompilerTests.ScaleSource, "scale.cu", ["--gpu-architecture=compute_80"], ["scale<float>"]);
        using var module = context.LoadModule(program);
        var kernel = module.GetFunction(program.LoweredNames["scale<float>"]);

        const int count = 1000;
        var input = Enumerable.Range(0, count).Select(i => (float)i).ToArray();
        var output = new float[count];
        using var source = context.Allocate<float>(count);
        using var target = context.Allocate<float>(count);
        using var stream = context.CreateStream();
        using var start = context.CreateEvent();
        using var end = context.CreateEvent();
        source.CopyFrom<float>(input, stream);
        target.Fill(0xFF, stream);

        start.Record(stream);
        kernel.Launch(
            new LaunchConfig(new Dim3((count + 255) / 256), new Dim3(256)),
            new ScaleParams { Input = source.Pointer, Output = target.Pointer, Count = count, Factor = 3f },
            stream);
        end.Record(stream);
        target.CopyTo<float>(output, stream);
        stream.Synchronize();

        Assert.That(output, Is.EqualTo(input.Select(x => 3f * x).ToArray()));
        Assert.That(CudaEvent.ElapsedMilliseconds(start, end), Is.GreaterThanOrEqualTo(0f));
        Assert.That(kernel.RegisterCount, Is.Positive);
    }

    [Test]
    public void ViewsIntoABufferAreFilledAndCopiedInPlace()
    {
        var buffer = context.Allocate(64);
        buffer.Fill(0);
        var view = buffer.Pointer.AddBytes(16);

        DeviceMemory.Fill(view, 7, 16);
        var bytes = new byte[64];
        buffer.CopyTo<byte>(bytes);

        Assert.That(bytes[..16], Is.All.EqualTo(0));
        Assert.That(bytes[16..32], Is.All.EqualTo(7));
        Assert.That(bytes[32..], Is.All.EqualTo(0));
        buffer.Dispose();
        Assert.Throws<ObjectDisposedException>(() => _ = buffer.Pointer);
    }

    [Test]
    public void BrokenPtxCarriesTheJitLog()
    {
        const string ptx = ".version 7.0\n.target sm_80\n.address_size 64\n.visible .entry k() { call.uni missing, (); ret; }\n";

        var e = Assert.Throws<CudaException>(() => context.LoadModule(ptx));

        Assert.That(e.CallName, Is.EqualTo("cuModuleLoadDataEx"));
        Assert.That(e.Detail, Is.Not.Null.And.Not.Empty);
    }

    [Test]
    public void CopiesAreBoundsChecked()
    {
        using var buffer = context.Allocate<float>(4);

        var e = Assert.Throws<ArgumentException>(() => buffer.CopyFrom<float>(new float[5]));
        Assert.That(e.ParamName, Is.EqualTo("source"));
    }
}
