using System.Reflection;
using System.Text.RegularExpressions;

namespace MixKV.Kernels.Runtime;

/// <summary>One .cu file and the template instances it registers (its NVRTC name expressions).</summary>
internal sealed record KernelFile(string Name, string Source, IReadOnlyList<string> Instances);

/// <summary>
/// The kernel sources embedded in this assembly. The instance list comes from each file's
/// MIXKV_KERNEL_INSTANCE lines, the same lines the CPU runtime registers, so both backends look a
/// kernel up by one string.
/// </summary>
/// <remarks>
/// <c>MIXKV_KERNEL_SOURCES=DIR</c> (a copy of <c>kernels/</c>) replaces the embedded sources for
/// NVRTC: kernel edits tried on a GPU without a rebuild. The params structs stay this build's:
/// ParamsLayout's asserts stop a program whose structs differ from them, but launch geometry is not
/// checked, so it is for experiments (bench/gpu-check.sh's baseline is a whole build of the other
/// commit instead). The CPU runtime runs the kernels it was built from.
/// </remarks>
internal static partial class KernelSources
{
    private const string Prefix = "kernels/";
    private const string SourcesVariable = "MIXKV_KERNEL_SOURCES";
    private static readonly Lazy<(IReadOnlyList<KernelFile> Files, IReadOnlyDictionary<string, string> Headers)> Loaded = new(Load);

    /// <summary>The directory <c>MIXKV_KERNEL_SOURCES</c> names, or null for the embedded sources.</summary>
    public static string? Override => Environment.GetEnvironmentVariable(SourcesVariable) is { Length: > 0 } directory ? directory : null;

    public static IReadOnlyList<KernelFile> Files => Loaded.Value.Files;

    /// <summary>Headers by include name ("common/reduce.cuh").</summary>
    public static IReadOnlyDictionary<string, string> Headers => Loaded.Value.Headers;

    public static KernelFile FileOf(string instance) =>
        Files.FirstOrDefault(f => f.Instances.Contains(instance))
        ?? throw new ArgumentException($"no kernel file registers the instance '{instance}'", nameof(instance));

    [GeneratedRegex("^MIXKV_KERNEL_INSTANCE\\(\"([^\"]+)\"", RegexOptions.Multiline)]
    private static partial Regex InstanceLine();

    private static (IReadOnlyList<KernelFile>, IReadOnlyDictionary<string, string>) Load() => Read(Override);

    /// <summary>The files and headers of <paramref name="directory"/> (a copy of kernels/), or the embedded ones when null.</summary>
    internal static (IReadOnlyList<KernelFile> Files, IReadOnlyDictionary<string, string> Headers) Read(string? directory) =>
        Collect(directory is null ? Embedded() : FromDirectory(directory));

    /// <summary>(name relative to kernels/, text) of every embedded .cu and .cuh.</summary>
    private static IEnumerable<(string Name, string Text)> Embedded()
    {
        Assembly assembly = typeof(KernelSources).Assembly;
        foreach (string resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(Prefix, StringComparison.Ordinal)))
        {
            using Stream stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            yield return (resource[Prefix.Length..].Replace('\\', '/'), reader.ReadToEnd());
        }
    }

    private static IEnumerable<(string Name, string Text)> FromDirectory(string directory)
    {
        if (!Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"{SourcesVariable} names '{directory}', which is not a directory (a copy of kernels/ is expected)");
        }

        var sources = Directory.EnumerateFiles(directory, "*.cu*", SearchOption.AllDirectories)
            .Where(path => path.EndsWith(".cu", StringComparison.Ordinal) || path.EndsWith(".cuh", StringComparison.Ordinal))
            .Select(path => (Path.GetRelativePath(directory, path).Replace('\\', '/'), File.ReadAllText(path)))
            .ToList();
        if (!sources.Any(source => source.Item1.EndsWith(".cu", StringComparison.Ordinal)))
        {
            throw new InvalidDataException($"{SourcesVariable} names '{directory}', which holds no .cu file");
        }

        return sources;
    }

    private static (IReadOnlyList<KernelFile>, IReadOnlyDictionary<string, string>) Collect(IEnumerable<(string Name, string Text)> sources)
    {
        var files = new List<KernelFile>();
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string name, string text) in sources.OrderBy(source => source.Name, StringComparer.Ordinal))
        {
            if (name.EndsWith(".cuh", StringComparison.Ordinal))
            {
                headers[name] = text;
            }
            else
            {
                string[] instances = InstanceLine().Matches(text).Select(m => m.Groups[1].Value).ToArray();
                files.Add(new KernelFile(name, text, instances));
            }
        }

        return (files, headers);
    }
}
