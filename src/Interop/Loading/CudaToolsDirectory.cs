namespace MixKV.Interop;

/// <summary>
/// Finds the folder that <c>.ci/install-cuda-tools.sh</c> unpacks NVRTC, ptxas and libcuda into.
/// </summary>
/// <remarks>
/// The folder mirrors the Debian packages' layout (<c>usr/lib/x86_64-linux-gnu</c>, <c>usr/bin</c>),
/// because the script unpacks them with <c>dpkg -x</c> instead of installing them.
/// </remarks>
public static class CudaToolsDirectory
{
    /// <summary>Environment variable naming the tools folder explicitly.</summary>
    public const string EnvironmentVariable = "MIXKV_CUDA_TOOLS";

    /// <summary>The folder name looked for next to the application and in each folder above it.</summary>
    public const string ConventionalRelativePath = ".tools/cuda";

    /// <summary>
    /// The tools folder: <paramref name="configured"/> if given, else <c>MIXKV_CUDA_TOOLS</c>, else the
    /// first <c>.tools/cuda</c> found walking up from <paramref name="startDirectory"/> (by default the
    /// application folder, so a build under <c>bin/</c> finds the repository's copy). Null when none exists.
    /// </summary>
    public static string? Locate(string? configured = null, string? startDirectory = null)
    {
        if (!string.IsNullOrEmpty(configured)) return Path.GetFullPath(configured);
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrEmpty(fromEnvironment)) return Path.GetFullPath(fromEnvironment);

        for (var dir = new DirectoryInfo(startDirectory ?? AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, ConventionalRelativePath);
            if (Directory.Exists(candidate)) return candidate;
        }
        return null;
    }

    /// <summary>
    /// Folders under a tools root that may hold the shared libraries: the Debian layout first, then a
    /// CUDA-toolkit-style <c>lib64</c>, then the root itself (a folder of loose libraries).
    /// </summary>
    public static IEnumerable<string> LibraryFolders(string root)
    {
        yield return Path.Combine(root, "usr", "lib", "x86_64-linux-gnu");
        yield return Path.Combine(root, "lib64");
        yield return root;
    }
}
