using System.Diagnostics;
using MixKV.Interop;
using MixKV.Kernels;
using MixKV.Kernels.Runtime;
using MixKV.Tests.Kernels.Support;
using MixKV.Tests.Support;
using NUnit.Framework;
using static MixKV.Tests.Kernels.Support.WgmmaSelfTest;

namespace MixKV.Tests.Kernels;

/// <summary>
/// Hopper's warpgroup product (kernels/common/wgmma.cuh) through the self-test kernel
/// src/Emulator/selftest/wgmma.cu: D = A·Bᵀ (+ C) with A's fragments in registers and B staged in the
/// core layout behind a descriptor, against a double-precision product of the same 16-bit values.
/// Here: the CPU runtime (every CI run: the emulation and the fragment and layout arithmetic around
/// it), and NVRTC 12+ with ptxas for sm_90a (CI's second compile pass, which holds CUDA 12.4: the
/// instruction as written assembles to HGMMA without spills, and so do the run kernels' wgmma forms).
/// WgmmaGpuTests runs the product on an H100 or H200.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class WgmmaTests : EmulatedKernelFixture
{
    [Test]
    [Repeat(6)]
    public void EmulatedProductMatchesTheReference()
    {
        TestRandom rng = KernelCheck.Seeded();
        ProductCase c = ProductCase.Random(rng);
        c.Verify(Run(c, rng.Say("D")), rng);
    }

    /// <summary>The layout probe WgmmaGpuTests runs on a GPU passes on the CPU runtime: the probe is right.</summary>
    [Test]
    public void EmulatedLayoutProbeReadsEachValueWhereTheLayoutPutsIt()
    {
        ProductCase c = ProductCase.Probe();
        c.VerifyProbe(Run(c, "the probe's D"));
    }

    private float[] Run(ProductCase c, string what)
    {
        using var a = DeviceRegion.Of<ushort>(backend.Runtime, c.A);
        using var b = DeviceRegion.Of<ushort>(backend.Runtime, c.B);
        using var bias = DeviceRegion.Of<float>(backend.Runtime, c.C);
        using var d = new DeviceRegion(backend.Runtime, (long)c.Rows * Columns * sizeof(float));

        backend.Runtime.Launch(c.Instance, Config(c), c.Params(a.Pointer, b.Pointer, bias.Pointer, d.Pointer));

        d.AssertGuardsIntact(what);
        return d.Read<float>(c.Rows * Columns);
    }

    /// <summary>Tests that need CUDA 12's NVRTC: the main test pass excludes them, CompileSm90a runs them.</summary>
    public const string Sm90aCategory = "Sm90a";

    [Test]
    [Category(Sm90aCategory)]
    public void Sm90aSelfTestAssemblesToHgmmaWithoutSpills()
    {
        RequireSm90aCompiler();
        string ptxas = KernelReport.FindPtxas() ?? throw new AssertionException("ptxas not found: run .ci/install-cuda-tools.sh --cuda12");
        KernelFile file = SelfTestFile();
        CompiledProgram ptx = Compile(file, "compute_90a");
        foreach (KernelResources row in KernelReport.Resources([(file, ptx)], "sm_90a", ptxas))
        {
            TestContext.Progress.WriteLine($"{row.Instance,-28} sm_90a {row.Registers,4} registers, {row.SpillStoreBytes} / {row.SpillLoadBytes} bytes spilled");
            Assert.That(row.SpillStoreBytes + row.SpillLoadBytes, Is.Zero, $"{row.Instance} spills");
        }

        // The real instruction, not a trapping stand-in: HGMMA in the SASS of every instance.
        CompiledProgram cubin = Compile(file, "sm_90a");
        string all = Disassemble(cubin);
        foreach (string instance in file.Instances)
        {
            Assert.That(FunctionSass(all, cubin, instance), Does.Contain("HGMMA.64x64x16.F32"), $"{instance}: no HGMMA in its SASS");
        }
    }

    /// <summary>
    /// The run kernels' wgmma forms, as the CUDA backend compiles them for an H100 with MIXKV_WGMMA=1:
    /// HGMMA in their SASS, one wait for the eight products of a tile (no serialization), and the
    /// mma.sync forms beside them without it. Spills: KernelCompilationTests' 90a pass.
    /// </summary>
    [Test]
    [Category(Sm90aCategory)]
    public void Sm90aRunKernelFormsAssembleToHgmma()
    {
        RequireSm90aCompiler();
        KernelFile file = KernelSources.FileOf("window_run_stats_wgmma<mixkv_bf16>");
        CompiledProgram cubin = KernelCompiler.Compile(file, "sm_90a", useCache: false);
        string all = Disassemble(cubin);
        foreach (string instance in file.Instances.Where(i => i.StartsWith("window_run_", StringComparison.Ordinal)))
        {
            string sass = FunctionSass(all, cubin, instance);
            int products = CountOf(sass, "HGMMA.64x64x16.F32"), waits = CountOf(sass, "WARPGROUP.DEPBAR");
            TestContext.Progress.WriteLine($"{instance,-38} sm_90a: {products} HGMMA, {waits} wait(s)");
            if (instance.Contains("_wgmma", StringComparison.Ordinal))
            {
                Assert.That(products, Is.EqualTo(8), $"{instance}: a tile's eight k steps of D = 128");
                Assert.That(waits, Is.EqualTo(1), $"{instance}: the products wait once per tile (more: ptxas serialized them)");
            }
            else
            {
                Assert.That(products, Is.Zero, $"{instance}: the mma.sync form holds no wgmma");
            }
        }
    }

    /// <summary>
    /// The <see cref="Sm90aCategory"/> tests run in a process whose NVRTC is 12 or newer (NVRTC loads
    /// once per process; 11.8 knows no sm_90a): build.cake's CompileSm90a pass, which the main pass
    /// leaves them to. Anywhere else they fail, saying how to run them.
    /// </summary>
    private static void RequireSm90aCompiler()
    {
        Version nvrtc = NvrtcCompiler.Version;
        Assert.That(nvrtc.Major, Is.GreaterThanOrEqualTo(12),
            $"needs NVRTC 12+ for sm_90a; this is NVRTC {nvrtc} ({NvrtcCompiler.LibraryPath}). Run `dotnet cake --target=CompileSm90a` (MIXKV_CUDA_TOOLS=.tools/cuda12), or exclude TestCategory={Sm90aCategory}");
    }

    private static int CountOf(string text, string what)
    {
        int count = 0;
        for (int at = text.IndexOf(what, StringComparison.Ordinal); at >= 0; at = text.IndexOf(what, at + what.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>The SASS of one instance, out of its program's (<see cref="Disassemble"/>).</summary>
    private static string FunctionSass(string sass, CompiledProgram program, string instance)
    {
        string lowered = program.LoweredNames[instance];
        int at = sass.IndexOf($"Function : {lowered}\n", StringComparison.Ordinal);
        at = at >= 0 ? at : sass.IndexOf($"Function : {lowered}", StringComparison.Ordinal);
        Assert.That(at, Is.GreaterThanOrEqualTo(0), $"{instance} ({lowered}) not in the SASS");
        int next = sass.IndexOf("Function : ", at + 1, StringComparison.Ordinal);
        return next < 0 ? sass[at..] : sass[at..next];
    }

    private static string Disassemble(CompiledProgram program)
    {
        byte[] cubin = program.Cubin ?? throw new AssertionException($"NVRTC returned no CUBIN for {program.Name}");
        string tools = CudaToolsDirectory.Locate() ?? throw new AssertionException("no tools folder: run .ci/install-cuda-tools.sh --cuda12");
        string cuobjdump = Path.Combine(tools, "usr", "bin", "cuobjdump");
        string path = Path.Combine(Path.GetTempPath(), $"mixkv-wgmma-{Environment.ProcessId}.cubin");
        File.WriteAllBytes(path, cubin);
        try
        {
            var start = new ProcessStartInfo(cuobjdump) { RedirectStandardOutput = true, RedirectStandardError = true };
            start.Environment["PATH"] = $"{Path.GetDirectoryName(cuobjdump)}:{Environment.GetEnvironmentVariable("PATH")}";  // its nvdisasm
            start.ArgumentList.Add("-sass");
            start.ArgumentList.Add(path);
            using Process process = Process.Start(start) ?? throw new AssertionException($"could not start {cuobjdump}");
            string output = process.StandardOutput.ReadToEnd();
            string errors = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.That(process.ExitCode, Is.Zero, $"{cuobjdump} -sass failed: {errors}");
            return output;
        }
        finally
        {
            File.Delete(path);
        }
    }
}
