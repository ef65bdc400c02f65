namespace MixKV.Interop;

/// <summary>The probe orders for NVRTC and the CUDA driver, built from explicit settings and the tools folder.</summary>
internal static class LibraryCandidates
{
    /// <summary>
    /// Newest first: a machine with a recent toolkit gets its own NVRTC (which knows its GPUs), while
    /// 11.2 is the soname of the CUDA 11.x NVRTC that CI unpacks.
    /// </summary>
    internal static readonly string[] NvrtcNames = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2"];

    internal const string CudaDriverName = "libcuda.so.1";

    internal const string NvrtcBuiltinsPattern = "libnvrtc-builtins.so.*";

    /// <summary>
    /// Explicit path alone (a configured library is a promise; silently loading another would hide the
    /// mistake), else the tools folder, else the versioned names.
    /// </summary>
    public static IReadOnlyList<LibraryCandidate> ForNvrtc(string? explicitPath, string? toolsRoot)
    {
        if (!string.IsNullOrEmpty(explicitPath))
            return [LibraryCandidate.Path(explicitPath, BuiltinsBeside(explicitPath))];

        var candidates = new List<LibraryCandidate>();
        candidates.AddRange(InToolsFolder(toolsRoot, NvrtcNames, withBuiltins: true));
        candidates.AddRange(NvrtcNames.Select(LibraryCandidate.Name));
        return candidates;
    }

    /// <summary>
    /// Explicit path alone, else the installed driver by name, and only then the tools folder: the
    /// unpacked driver there is for GPU-less CI and must never shadow a machine's real driver.
    /// </summary>
    public static IReadOnlyList<LibraryCandidate> ForCudaDriver(string? explicitPath, string? toolsRoot)
    {
        if (!string.IsNullOrEmpty(explicitPath))
            return [LibraryCandidate.Path(explicitPath)];

        var candidates = new List<LibraryCandidate> { LibraryCandidate.Name(CudaDriverName) };
        candidates.AddRange(InToolsFolder(toolsRoot, [CudaDriverName], withBuiltins: false));
        return candidates;
    }

    private static IEnumerable<LibraryCandidate> InToolsFolder(string? toolsRoot, string[] names, bool withBuiltins)
    {
        if (toolsRoot is null)
        {
            yield return LibraryCandidate.Skipped("tools folder",
                $"none found ({CudaToolsDirectory.EnvironmentVariable} unset and no {CudaToolsDirectory.ConventionalRelativePath} above {AppContext.BaseDirectory})");
            yield break;
        }

        var found = false;
        foreach (var folder in CudaToolsDirectory.LibraryFolders(toolsRoot))
        foreach (var name in names)
        {
            var path = Path.Combine(folder, name);
            if (!File.Exists(path)) continue;
            found = true;
            yield return LibraryCandidate.Path(path, withBuiltins ? BuiltinsBeside(path) : null);
        }

        if (!found)
            yield return LibraryCandidate.Skipped($"tools folder {toolsRoot}",
                $"no {string.Join(" or ", names)} in usr/lib/x86_64-linux-gnu, lib64 or the folder itself");
    }

    /// <summary>Every NVRTC builtins library in the folder of <paramref name="libraryPath"/>, newest name first.</summary>
    internal static IReadOnlyList<string> BuiltinsBeside(string libraryPath)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(libraryPath));
        if (folder is null || !Directory.Exists(folder)) return [];
        return Directory.GetFiles(folder, NvrtcBuiltinsPattern)
            .OrderByDescending(path => path, StringComparer.Ordinal)
            .ToArray();
    }
}
