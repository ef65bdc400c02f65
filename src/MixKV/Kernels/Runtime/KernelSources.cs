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
internal static partial class KernelSources
{
    private const string Prefix = "kernels/";
    private static readonly Lazy<(IReadOnlyList<KernelFile> Files, IReadOnlyDictionary<string, string> Headers)> Loaded = new(Load);

    public static IReadOnlyList<KernelFile> Files => Loaded.Value.Files;

    /// <summary>Headers by include name ("common/reduce.cuh").</summary>
    public static IReadOnlyDictionary<string, string> Headers => Loaded.Value.Headers;

    public static KernelFile FileOf(string instance) =>
        Files.FirstOrDefault(f => f.Instances.Contains(instance))
        ?? throw new ArgumentException($"no kernel file registers the instance '{instance}'", nameof(instance));

    [GeneratedRegex("^MIXKV_KERNEL_INSTANCE\\(\"([^\"]+)\"", RegexOptions.Multiline)]
    private static partial Regex InstanceLine();

    private static (IReadOnlyList<KernelFile>, IReadOnlyDictionary<string, string>) Load()
    {
        Assembly assembly = typeof(KernelSources).Assembly;
        var files = new List<KernelFile>();
        var headers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(Prefix, StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            using Stream stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            string text = reader.ReadToEnd();
            string name = resource[Prefix.Length..].Replace('\\', '/');
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
