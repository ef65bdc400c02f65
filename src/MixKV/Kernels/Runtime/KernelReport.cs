using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using MixKV.Interop;

namespace MixKV.Kernels.Runtime;

/// <summary>ptxas's resource report of one kernel instance on one architecture.</summary>
internal sealed record KernelResources(string File, string Instance, string Architecture, int Registers, int SharedBytes, int StackBytes, int SpillStoreBytes, int SpillLoadBytes);

/// <summary>
/// Compiles every registered kernel instance through the same NVRTC path the CUDA backend uses, and
/// runs ptxas -v on the PTX for a real architecture, so CI proves each instance compiles and shows
/// its registers, shared memory and spills without a GPU.
/// </summary>
internal static partial class KernelReport
{
    /// <summary>PTX of every kernel file for a virtual architecture ("compute_80"); throws on the first compile error, with its log.</summary>
    public static IReadOnlyList<(KernelFile File, CompiledProgram Program)> CompileAll(string virtualArchitecture) =>
        KernelSources.Files.Select(file => (file, KernelCompiler.Compile(file, virtualArchitecture, useCache: false))).ToList();

    /// <summary>Runs ptxas -v for <paramref name="realArchitecture"/> ("sm_90") on each program's PTX.</summary>
    public static IReadOnlyList<KernelResources> Resources(IReadOnlyList<(KernelFile File, CompiledProgram Program)> programs, string realArchitecture, string ptxas)
    {
        var rows = new List<KernelResources>();
        string folder = Directory.CreateTempSubdirectory("mixkv-ptxas-").FullName;
        try
        {
            foreach ((KernelFile file, CompiledProgram program) in programs)
            {
                string ptxPath = Path.Combine(folder, Path.ChangeExtension(file.Name, ".ptx"));
                File.WriteAllText(ptxPath, program.Ptx);
                string log = RunPtxas(ptxas, realArchitecture, ptxPath, Path.Combine(folder, "out.cubin"));
                Dictionary<string, string> instanceOf = program.LoweredNames.ToDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);
                rows.AddRange(Parse(log, file.Name, realArchitecture, instanceOf));
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        return rows;
    }

    /// <summary>ptxas from the tools folder (.ci/install-cuda-tools.sh) or PATH.</summary>
    public static string? FindPtxas()
    {
        string? tools = CudaToolsDirectory.Locate();
        if (tools is not null)
        {
            string candidate = Path.Combine(tools, "usr", "bin", "ptxas");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(dir, "ptxas");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static string RunPtxas(string ptxas, string architecture, string ptxPath, string output)
    {
        var start = new ProcessStartInfo(ptxas) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in new[] { $"-arch={architecture}", "-v", ptxPath, "-o", output })
        {
            start.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {ptxas}");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ptxas -arch={architecture} {Path.GetFileName(ptxPath)} failed ({process.ExitCode}): {stderr}");
        }

        return stdout.Result + stderr;
    }

    [GeneratedRegex(@"Compiling entry function '(?<name>[^']+)' for '(?<arch>[^']+)'")]
    private static partial Regex EntryLine();

    [GeneratedRegex(@"(?<stack>\d+) bytes stack frame, (?<store>\d+) bytes spill stores, (?<load>\d+) bytes spill loads")]
    private static partial Regex SpillLine();

    [GeneratedRegex(@"Used (?<regs>\d+) registers(?:, (?<smem>\d+) bytes smem)?")]
    private static partial Regex UsedLine();

    private static IEnumerable<KernelResources> Parse(string log, string file, string architecture, IReadOnlyDictionary<string, string> instanceOf)
    {
        string? entry = null;
        int stack = 0, store = 0, load = 0;
        foreach (string line in log.Split('\n'))
        {
            Match m;
            if ((m = EntryLine().Match(line)).Success)
            {
                entry = m.Groups["name"].Value;
            }
            else if ((m = SpillLine().Match(line)).Success && entry is not null)
            {
                stack = Int(m, "stack");
                store = Int(m, "store");
                load = Int(m, "load");
            }
            else if ((m = UsedLine().Match(line)).Success && entry is not null)
            {
                int shared = m.Groups["smem"].Success ? Int(m, "smem") : 0;
                yield return new KernelResources(file, instanceOf.TryGetValue(entry, out string? name) ? name : entry, architecture, Int(m, "regs"), shared, stack, store, load);
                entry = null;
            }
        }
    }

    private static int Int(Match m, string group) => int.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture);
}
