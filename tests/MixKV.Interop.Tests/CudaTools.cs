namespace MixKV.Interop.Tests;

/// <summary>
/// The folder made by .ci/install-cuda-tools.sh. Tests that need it fail (not skip) without it:
/// CI always installs it, so a missing folder is a broken setup, not an unsupported machine.
/// </summary>
internal static class CudaTools
{
    private static readonly string? Root =
        CudaToolsDirectory.Locate(startDirectory: TestContext.CurrentContext.TestDirectory);

    /// <summary>The tools folder if it exists, without failing (for the one-time resolver setup).</summary>
    public static string? RootIfPresent => Root is not null && Directory.Exists(Root) ? Root : null;

    /// <summary>The tools folder; fails the test with the command that creates it.</summary>
    public static string RequireRoot()
    {
        var root = RootIfPresent;
        if (root is null || !File.Exists(Path.Combine(LibraryFolder(root), "libnvrtc.so.11.2")))
            Assert.Fail(
                $"CUDA tools not found (looked at {Root ?? $"{CudaToolsDirectory.ConventionalRelativePath} above {TestContext.CurrentContext.TestDirectory}"}). " +
                $"Run .ci/install-cuda-tools.sh, or set {CudaToolsDirectory.EnvironmentVariable} to the folder it made.");
        return root!;
    }

    public static string LibraryFolder(string root) => Path.Combine(root, "usr", "lib", "x86_64-linux-gnu");
}
