using System.Text.RegularExpressions;

namespace MixKV.Kernels.Runtime;

/// <summary>
/// Under programmatic dependent launch (MIXKV_PDL=1) a kernel may start while the kernel before it
/// still runs; only its griddepcontrol.wait orders it after that kernel's writes. So the first
/// statement of every kernel is MIXKV_GRID_DEPENDENCY() (kernels/common/portability.cuh). The tests
/// hold the embedded sources to it; the runtime holds a MIXKV_KERNEL_SOURCES copy to it before it
/// launches that copy programmatically, since a kernel there without the wait would race silently.
/// </summary>
internal static partial class GridDependencyConvention
{
    /// <summary>The statement every kernel begins with.</summary>
    public const string FirstStatement = "MIXKV_GRID_DEPENDENCY();";

    /// <summary>A kernel definition the pattern read: its file, name and first statement.</summary>
    internal readonly record struct KernelDefinition(string File, string Name, string FirstStatement);

    /// <summary>Every `__global__` definition in <paramref name="files"/>, one per kernel.</summary>
    public static IEnumerable<KernelDefinition> Definitions(IEnumerable<KernelFile> files) =>
        files.SelectMany(file => DefinitionPattern().Matches(file.Source)
            .Select(match => new KernelDefinition(file.Name, match.Groups["name"].Value, match.Groups["first"].Value.Trim())));

    /// <summary>
    /// Each kernel of <paramref name="files"/> that does not wait first ("file: kernel begins with
    /// '...'"), and each registered instance whose definition the pattern cannot read, so cannot vouch for.
    /// </summary>
    public static IReadOnlyList<string> Offenders(IEnumerable<KernelFile> files) =>
        files.SelectMany(file =>
        {
            KernelDefinition[] kernels = [.. Definitions([file])];
            HashSet<string> read = [.. kernels.Select(kernel => kernel.Name)];
            return kernels
                .Where(kernel => kernel.FirstStatement != FirstStatement)
                .Select(kernel => $"{file.Name}: {kernel.Name} begins with '{kernel.FirstStatement}'")
                .Concat(file.Instances
                    .Where(instance => !read.Contains(instance.Split('<')[0]))
                    .Select(instance => $"{file.Name}: {instance} is not defined as '__global__ ... name(...)' with '{{' on the next line"));
        }).ToList();

    /// <summary>`__global__ ... name(params)`, its opening brace, and the first statement after it.</summary>
    [GeneratedRegex(@"^__global__[^\n]*?\b(?<name>\w+)\s*\([^)]*\)\s*\n\{\s*\n(?<first>[^\n]*)", RegexOptions.Multiline)]
    private static partial Regex DefinitionPattern();
}
