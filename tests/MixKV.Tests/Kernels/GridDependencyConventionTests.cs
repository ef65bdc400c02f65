using System.Text.RegularExpressions;
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
public sealed partial class GridDependencyConventionTests
{
    [Test]
    public void EveryKernelWaitsForThePriorGridBeforeAnythingElse()
    {
        var kernels = 0;
        var offenders = new List<string>();
        foreach (KernelFile file in KernelSources.Files)
        {
            foreach (Match kernel in KernelDefinition().Matches(file.Source))
            {
                kernels++;
                if (kernel.Groups["first"].Value.Trim() != "MIXKV_GRID_DEPENDENCY();")
                {
                    offenders.Add($"{file.Name}: {kernel.Groups["name"].Value} begins with '{kernel.Groups["first"].Value.Trim()}'");
                }
            }
        }

        // Every registered instance names a kernel the pattern found, so no definition escaped it.
        Assert.That(kernels, Is.GreaterThanOrEqualTo(30), "kernel definitions found in the sources");
        Assert.That(offenders, Is.Empty, "kernels whose first statement is not MIXKV_GRID_DEPENDENCY();");
    }

    [Test]
    public void EveryRegisteredInstanceIsAKernelThePatternSees()
    {
        var missing = new List<string>();
        foreach (KernelFile file in KernelSources.Files)
        {
            HashSet<string> defined = [.. KernelDefinition().Matches(file.Source).Select(m => m.Groups["name"].Value)];
            foreach (string instance in file.Instances)
            {
                string name = instance.Split('<')[0];
                if (!defined.Contains(name))
                {
                    missing.Add($"{file.Name}: {instance}");
                }
            }
        }

        Assert.That(missing, Is.Empty, "instances whose kernel definition the convention test does not read");
    }

    /// <summary>`__global__ ... name(params)`, its opening brace, and the first statement after it.</summary>
    [GeneratedRegex(@"^__global__[^\n]*?\b(?<name>\w+)\s*\([^)]*\)\s*\n\{\s*\n(?<first>[^\n]*)", RegexOptions.Multiline)]
    private static partial Regex KernelDefinition();
}
