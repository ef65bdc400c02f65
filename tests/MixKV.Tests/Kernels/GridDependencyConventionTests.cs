using MixKV.Kernels.Runtime;
using NUnit.Framework;

namespace MixKV.Tests.Kernels;

/// <summary>
/// A kernel launched with programmatic dependent launch (MIXKV_PDL=1 on an sm_90 device) may start
/// while the kernel before it still runs; only its griddepcontrol.wait orders it after that kernel's
/// writes. The CPU runtime cannot show a kernel that skips or delays the wait (it runs one kernel at
/// a time), so the convention is checked on the sources: MIXKV_GRID_DEPENDENCY() is the first
/// statement of every kernel the runtime can launch.
/// </summary>
public sealed class GridDependencyConventionTests
{
    [Test]
    public void EveryKernelWaitsForThePriorGridBeforeAnythingElse()
    {
        int kernels = GridDependencyConvention.Definitions(KernelSources.Files).Count();

        // Offenders also names each registered instance whose definition the pattern missed, so none escaped it.
        Assert.That(kernels, Is.GreaterThanOrEqualTo(30), "kernel definitions found in the sources");
        Assert.That(GridDependencyConvention.Offenders(KernelSources.Files), Is.Empty,
            $"kernels whose first statement is not {GridDependencyConvention.FirstStatement}, or whose definition the check cannot read");
    }

    [Test]
    public void TheEmbeddedSourcesMayBeLaunchedProgrammatically() =>
        Assert.That(ProgrammaticLaunchPolicy.SourcesRefusal(KernelSources.Files), Is.Null);

    [Test]
    public void ASourcesCopyWithAKernelThatDoesNotWaitFirstIsRefusedNamingIt()
    {
        // A MIXKV_KERNEL_SOURCES copy whose gather kernel reads before it waits, as one written before the convention would.
        KernelFile gather = KernelSources.Files.Single(file => file.Name == "gather.cu");
        int wait = gather.Source.IndexOf(GridDependencyConvention.FirstStatement, StringComparison.Ordinal);
        Assert.That(wait, Is.GreaterThan(0), "gather.cu's first kernel waits first");
        string early = gather.Source.Remove(wait, GridDependencyConvention.FirstStatement.Length).Insert(wait, "const int early = 0;");
        List<KernelFile> copy = [.. KernelSources.Files.Select(file => file == gather ? file with { Source = early } : file)];

        string? refusal = ProgrammaticLaunchPolicy.SourcesRefusal(copy);

        Assert.That(refusal, Does.StartWith($"{ProgrammaticLaunchPolicy.Variable}=1 needs every kernel to begin with"));
        Assert.That(refusal, Does.Contain("gather.cu: ").And.Contain("begins with 'const int early = 0;'"));
        Assert.That(GridDependencyConvention.Offenders(copy), Has.Count.EqualTo(1), "only the edited kernel is named");
    }

    [Test]
    public void ASourcesCopyWhoseKernelThePatternCannotReadIsRefusedNamingIt()
    {
        // The same kernel with its brace on the signature's line: the check cannot see its first statement, so it does not vouch for it.
        KernelFile gather = KernelSources.Files.Single(file => file.Name == "gather.cu");
        string signature = "__global__ void gather_rows_pair(const GatherPairParams p)\n{";
        Assert.That(gather.Source, Does.Contain(signature));
        string unread = gather.Source.Replace(signature, "__global__ void gather_rows_pair(const GatherPairParams p) {", StringComparison.Ordinal);
        List<KernelFile> copy = [.. KernelSources.Files.Select(file => file == gather ? file with { Source = unread } : file)];

        IReadOnlyList<string> offenders = GridDependencyConvention.Offenders(copy);

        Assert.That(offenders, Has.Count.EqualTo(gather.Instances.Count(instance => instance.StartsWith("gather_rows_pair<", StringComparison.Ordinal))));
        Assert.That(offenders, Has.All.StartWith("gather.cu: gather_rows_pair<").And.All.Contains("is not defined as '__global__ ... name(...)'"));
    }
}
