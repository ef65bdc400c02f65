namespace MixKV.Interop.Tests.Loading;

public sealed class LibraryProbeTests
{
    private const string Hint = "hint: set the thing";

    [Test]
    public void ExplicitMissingPathIsTheOnlyAttemptAndIsReported()
    {
        var candidates = LibraryCandidates.ForNvrtc("/nonexistent/dir/libnvrtc.so.12", toolsRoot: "/also/missing");

        var e = Assert.Throws<NativeLibraryNotFoundException>(() => LibraryProbe.Load("NVRTC", candidates, "nvrtcVersion", Hint));

        Assert.That(e.Attempts, Has.Count.EqualTo(1), "an explicit path must not fall back to other libraries");
        Assert.That(e.Attempts[0].Target, Is.EqualTo("/nonexistent/dir/libnvrtc.so.12"));
        Assert.That(e.Attempts[0].Outcome, Is.EqualTo("file not found"));
        Assert.That(e.Message, Does.Contain("/nonexistent/dir/libnvrtc.so.12: file not found"));
        Assert.That(e.Message, Does.Contain(Hint));
    }

    [Test]
    public void ExplicitPathThatIsNotALibraryReportsTheLoaderError()
    {
        var path = Path.Combine(TestContext.CurrentContext.WorkDirectory, "not-a-library.so");
        File.WriteAllText(path, "plain text, not ELF");
        try
        {
            var e = Assert.Throws<NativeLibraryNotFoundException>(
                () => LibraryProbe.Load("NVRTC", LibraryCandidates.ForNvrtc(path, null), "nvrtcVersion", Hint));

            Assert.That(e.Attempts.Single().Target, Is.EqualTo(path));
            Assert.That(e.Attempts.Single().Outcome, Is.Not.EqualTo("file not found").And.Not.Empty);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void WhenNothingLoadsEveryAttemptIsListedInOrder()
    {
        LibraryCandidate[] candidates =
        [
            LibraryCandidate.Skipped("tools folder", "none found"),
            LibraryCandidate.Path("/nonexistent/libmixkv-absent.so.1"),
            LibraryCandidate.Name("libmixkv-absent.so.2"),
            LibraryCandidate.Name("libmixkv-absent.so.3"),
        ];

        var e = Assert.Throws<NativeLibraryNotFoundException>(() => LibraryProbe.Load("the test library", candidates, "x", Hint));

        Assert.That(e, Is.InstanceOf<DllNotFoundException>());
        Assert.That(e.Attempts.Select(a => a.Target), Is.EqualTo(candidates.Select(c => c.Target)));
        Assert.That(e.Attempts[0].Outcome, Is.EqualTo("none found"));
        Assert.That(e.Attempts[2].Outcome, Is.EqualTo("cannot open shared object file: No such file or directory"),
            "the loader's own reason is kept, without .NET's generic advice");
        Assert.That(e.Message, Does.StartWith("Could not load the test library."));
        foreach (var candidate in candidates)
            Assert.That(e.Message, Does.Contain(candidate.Target));
        Assert.That(e.Summary, Does.Contain("; "), "the one-line form joins the attempts");
    }

    [Test]
    public void NvrtcProbeOrderIsToolsFolderThenVersionedNames()
    {
        var root = CudaTools.RequireRoot();

        var candidates = LibraryCandidates.ForNvrtc(explicitPath: null, root);

        Assert.That(candidates[0].Target, Is.EqualTo(Path.Combine(CudaTools.LibraryFolder(root), "libnvrtc.so.11.2")));
        Assert.That(candidates[0].Preload, Is.Not.Empty.And.All.Contains("libnvrtc-builtins.so."),
            "the builtins must be loaded from the same folder before libnvrtc");
        Assert.That(candidates.Where(c => !c.IsPath).Select(c => c.Target),
            Is.EqualTo(new[] { "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2" }));
    }

    [Test]
    public void DriverProbeOrderPutsTheInstalledDriverBeforeTheToolsFolder()
    {
        var candidates = LibraryCandidates.ForCudaDriver(explicitPath: null, "/tools");

        Assert.That(candidates[0].Target, Is.EqualTo("libcuda.so.1"));
        Assert.That(candidates[0].IsPath, Is.False);
        Assert.That(candidates.Skip(1).Single().Target, Does.Contain("/tools"));
    }

    [Test]
    public void MissingToolsFolderIsReportedAsAnAttempt()
    {
        var candidates = LibraryCandidates.ForNvrtc(explicitPath: null, toolsRoot: null);

        Assert.That(candidates[0].Unavailable, Does.Contain(CudaToolsDirectory.EnvironmentVariable));
    }

    [Test]
    public void ToolsFolderLoadsNvrtcByPathWithItsBuiltins()
    {
        var root = CudaTools.RequireRoot();

        var loaded = LibraryProbe.Load("NVRTC", LibraryCandidates.ForNvrtc(null, root), "nvrtcVersion", Hint);

        Assert.That(loaded.Handle, Is.Not.Zero);
        Assert.That(loaded.Path, Does.StartWith(root));
    }

    [Test]
    public void LoadedByNameReportsTheMappedFile()
    {
        // libc is always mapped; finding it by a symbol's address is the same lookup as for libcuda.
        var loaded = LibraryProbe.Load("libc", [LibraryCandidate.Name("libc.so.6")], "malloc", Hint);

        Assert.That(loaded.Path, Does.StartWith("/").And.Contain("libc"));
    }

    [Test]
    public void LoaderReasonIsTheLastLineWithoutTheRepeatedTarget()
    {
        const string message = "Unable to load shared library 'libx.so.1' or one of its dependencies. Consider LD_DEBUG: \nlibx.so.1: cannot open shared object file: No such file or directory\n";

        Assert.That(LibraryProbe.LoaderReason(message, "libx.so.1"), Is.EqualTo("cannot open shared object file: No such file or directory"));
        Assert.That(LibraryProbe.LoaderReason("odd", "libx.so.1"), Is.EqualTo("odd"));
    }

    [Test]
    public void MapLineParsing()
    {
        const string line = "7f2a1c000000-7f2a1c021000 r-xp 00000000 08:01 1234  /usr/lib/x86_64-linux-gnu/libcuda.so.535.261.03";

        Assert.That(LoadedLibraryPath.ParseMapping(line, 0x7f2a1c000010), Is.EqualTo("/usr/lib/x86_64-linux-gnu/libcuda.so.535.261.03"));
        Assert.That(LoadedLibraryPath.ParseMapping(line, 0x7f2a1c021000), Is.Null, "the end is exclusive");
        Assert.That(LoadedLibraryPath.ParseMapping("7f00-7f10 rw-p 00000000 00:00 0", 0x7f05), Is.Null, "anonymous mappings have no file");
    }
}
