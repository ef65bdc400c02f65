using MixKV.Kernels;
using MixKV.Kernels.Runtime;
using NUnit.Framework;

namespace MixKV.Tests.Kernels;

/// <summary>
/// Every registered kernel instance compiles through the backend's own NVRTC path for compute_80 and
/// compute_90 (with the generated params-layout asserts), and ptxas for sm_80 and sm_90 reports no
/// spills. Prints the resource table CI shows. Needs .ci/install-cuda-tools.sh, never a GPU.
/// <c>MIXKV_COMPILE_ARCHITECTURES</c> (comma-separated, e.g. <c>90a</c>) replaces the two: CI names
/// 80, 90 and 90a in a second run whose tools folder holds CUDA 12's NVRTC and ptxas (<c>--cuda12</c>),
/// as 11.8 knows no sm_90a and a second compiler's table is closer to what a device's driver makes.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class KernelCompilationTests
{
    private static readonly string[] Architectures =
        Environment.GetEnvironmentVariable("MIXKV_COMPILE_ARCHITECTURES") is { Length: > 0 } list
            ? list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            : ["80", "90"];

    [Test]
    public void EveryKernelFileRegistersInstances()
    {
        string[] expected = ["append.cu", "budget.cu", "gather.cu", "head_stats.cu", "mix.cu", "select.cu", "window_scores.cu"];
        Assert.That(KernelSources.Files.Select(f => f.Name).Where(expected.Contains), Is.EquivalentTo(expected));
        foreach (KernelFile file in KernelSources.Files)
        {
            Assert.That(file.Instances, Is.Not.Empty, $"{file.Name} registers no MIXKV_KERNEL_INSTANCE");
        }
    }

    [Test]
    public void EveryInstanceCompilesAndFitsWithoutSpills()
    {
        string ptxas = KernelReport.FindPtxas()
            ?? throw new AssertionException("ptxas not found: run .ci/install-cuda-tools.sh (CI always does)");
        TestContext.Progress.WriteLine($"NVRTC {MixKV.Interop.NvrtcCompiler.Version} ({MixKV.Interop.NvrtcCompiler.LibraryPath}), {ptxas}: {string.Join(", ", Architectures.Select(a => $"sm_{a}"))}");
        var rows = new List<KernelResources>();
        foreach (string arch in Architectures)
        {
            var programs = KernelReport.CompileAll($"compute_{arch}");
            foreach ((KernelFile file, var program) in programs)
            {
                foreach (string instance in file.Instances)
                {
                    Assert.That(program.LoweredNames.ContainsKey(instance), $"{file.Name}: no lowered name for {instance}");
                    Assert.That(program.Ptx, Does.Contain($".entry {program.LoweredNames[instance]}"), $"{file.Name}: {instance} missing from compute_{arch} PTX");
                    TestContext.Progress.WriteLine($"nvrtc compute_{arch}: {file.Name,-18} {instance}");
                }
            }

            rows.AddRange(KernelReport.Resources(programs, $"sm_{arch}", ptxas));
        }

        // Occupancy uses each kernel's launch block size; window_row_stats adds D*4 bytes of dynamic
        // shared memory, counted here for D = 128.
        TestContext.Progress.WriteLine($"{"kernel instance",-36} {"arch",-6} {"regs",5} {"smem B",7} {"stack B",8} {"spill st",9} {"spill ld",9} {"block",6} {"occupancy",9}");
        foreach (KernelResources r in rows.OrderBy(r => r.File, StringComparer.Ordinal).ThenBy(r => r.Instance, StringComparer.Ordinal).ThenBy(r => r.Architecture, StringComparer.Ordinal))
        {
            int block = BlockSizes.Of(r.Instance);
            int shared = r.SharedBytes + (r.Instance.StartsWith("window_row_stats", StringComparison.Ordinal) ? 128 * sizeof(float) : 0);
            double occupancy = Occupancy.Of(r.Architecture, r.Registers, shared, block);
            // The wgmma forms exist only in sm_90a builds; elsewhere they are a trap the launchers never pick.
            string note = r.Instance.Contains("_wgmma", StringComparison.Ordinal) && r.Architecture != "sm_90a" ? "  (no wgmma in this build: traps)" : "";
            TestContext.Progress.WriteLine($"{r.Instance,-36} {r.Architecture,-6} {r.Registers,5} {r.SharedBytes,7} {r.StackBytes,8} {r.SpillStoreBytes,9} {r.SpillLoadBytes,9} {block,6} {occupancy,9:P0}{note}");
            Assert.That(block, Is.GreaterThan(0), $"{r.Instance}: no block size in BlockSizes");
            Assert.That(occupancy, Is.GreaterThan(0), $"{r.Instance} on {r.Architecture}: cannot launch with {block} threads");
        }

        int instances = KernelSources.Files.Sum(f => f.Instances.Count);
        Assert.That(rows, Has.Count.EqualTo(instances * Architectures.Length), "one ptxas row per instance and architecture");
        Assert.That(rows.Where(r => r.SpillStoreBytes > 0 || r.SpillLoadBytes > 0).Select(r => $"{r.Instance} {r.Architecture}"), Is.Empty, "kernels that spill");
    }
}
