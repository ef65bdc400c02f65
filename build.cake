// MixKV.Native build script: `dotnet tool restore && dotnet cake --target=<Target>`.
// Targets: Test (what CI runs: tools, build, every test, the TSan pass), Demo, Bench, PerfCheck,
// and the steps they are made of.

var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");
var benchFilter = Argument("filter", "*");
var solution = "./MixKV.Native.sln";
var cli = "./src/MixKV.Cli/MixKV.Cli.csproj";
var artifacts = Directory("./artifacts");

void Run(string tool, string arguments, IDictionary<string, string> environment = null)
{
    var settings = new ProcessSettings { Arguments = arguments, EnvironmentVariables = environment };
    int exit = StartProcess(tool, settings);
    if (exit != 0)
    {
        throw new Exception($"{tool} {arguments} failed with exit code {exit}");
    }
}

// NVRTC, ptxas and a driver library without a GPU (Debian non-free, unpacked into .tools/cuda), CUDA
// 12.4's NVRTC and ptxas for sm_90a and a second ptxas table (.tools/cuda12), and the Debian packages
// the CPU runtime for the kernels is built with.
Task("InstallTools")
    .Does(() =>
{
    Run("bash", "./.ci/install-cuda-tools.sh");
    Run("bash", "./.ci/install-cuda-tools.sh --cuda12");
    Run("bash", "./.ci/install-build-deps.sh");
});

// The .cu kernels compiled with g++ into the CPU runtime, plain and ThreadSanitizer flavours, and
// the runtime's own self-tests run on both (~15 s more than building them alone).
Task("BuildEmulator")
    .IsDependentOn("InstallTools")
    .Does(() =>
{
    Run("bash", "./src/Emulator/build.sh selftest");
});

Task("Build")
    .Does(() =>
{
    DotNetBuild(solution, new DotNetBuildSettings { Configuration = configuration });
});

Task("UnitTests")
    .IsDependentOn("BuildEmulator")
    .IsDependentOn("Build")
    .Does(() =>
{
    DotNetTest(solution, new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        Filter = "TestCategory!=Sm90a",  // they need CUDA 12's NVRTC: CompileSm90a runs them
        Loggers = new[] { "console;verbosity=normal" },
    });
});

// Every kernel instance once more through CUDA 12.4's NVRTC and ptxas, for compute_90a / sm_90a: the
// wgmma forms of the run kernels and the self-test product exist only there (CUDA 11.8 predates
// sm_90a), and must assemble to HGMMA with no spills. A process of its own: NVRTC is loaded once.
Task("CompileSm90a")
    .IsDependentOn("InstallTools")
    .IsDependentOn("Build")
    .Does(() =>
{
    var root = MakeAbsolute(Directory(".")).FullPath;
    var results = artifacts + Directory("sm90a");
    EnsureDirectoryExists(results);
    CleanDirectory(results);
    DotNetTest("./tests/MixKV.Tests/MixKV.Tests.csproj", new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        Filter = "FullyQualifiedName~KernelCompilationTests.EveryInstanceCompilesAndFitsWithoutSpills|TestCategory=Sm90a",
        Loggers = new[] { "console;verbosity=normal", "trx;LogFileName=sm90a.trx" },
        ResultsDirectory = results,
        EnvironmentVariables = new Dictionary<string, string>
        {
            ["MIXKV_CUDA_TOOLS"] = $"{root}/.tools/cuda12",
            // sm_80 and sm_90 too: a GPU runs what its driver's newer compiler makes of the PTX, not
            // 11.8's ptxas' code, and where 12.4's ptxas spilled (window_run_mass, sm_90) so did an
            // H100's driver (580), where 11.8's did not.
            ["MIXKV_COMPILE_ARCHITECTURES"] = "80,90,90a",
        },
    });

    // A filter that matches less than it should passes silently: each of these must have run and passed.
    var passed = System.Xml.Linq.XDocument.Load(results.Path.FullPath + "/sm90a.trx").Descendants()
        .Where(e => e.Name.LocalName == "UnitTestResult" && (string)e.Attribute("outcome") == "Passed")
        .Select(e => (string)e.Attribute("testName"))
        .ToList();
    foreach (var test in new[] { "EveryInstanceCompilesAndFitsWithoutSpills", "Sm90aSelfTestAssemblesToHgmmaWithoutSpills", "Sm90aRunKernelFormsAssembleToHgmma" })
    {
        if (!passed.Contains(test))
        {
            throw new Exception($"CompileSm90a: {test} did not run and pass (passed: {string.Join(", ", passed)})");
        }
    }
});

// The emulated kernel tests on small shapes once more, with the kernels instrumented by TSan and
// every CUDA thread announced as a fiber: any report fails the build.
Task("TsanCheck")
    .IsDependentOn("BuildEmulator")
    .IsDependentOn("Build")
    .Does(() =>
{
    var logs = artifacts + Directory("tsan");
    EnsureDirectoryExists(logs);
    CleanDirectory(logs);
    string libtsan;
    using (var process = StartAndReturnProcess("g++", new ProcessSettings { Arguments = "-print-file-name=libtsan.so", RedirectStandardOutput = true }))
    {
        process.WaitForExit();
        libtsan = process.GetStandardOutput().First().Trim();
    }

    var root = MakeAbsolute(Directory(".")).FullPath;
    // A test silent this long under TSan has hung (the slowest takes well under a minute there).
    var tsanHang = TimeSpan.FromSeconds(Argument("tsan-hang-seconds", 300));
    var results = logs + Directory("results");

    // Runs the tests of one category with the TSan-instrumented kernels; returns the report lines.
    List<string> RunUnderTsan(string category, string logName)
    {
        var options = $"suppressions={root}/.ci/tsan.supp detect_deadlocks=0 exitcode=0 log_path={MakeAbsolute(logs).FullPath}/{logName}";
        void Run() => DotNetTest("./tests/MixKV.Tests/MixKV.Tests.csproj", new DotNetTestSettings
        {
            Configuration = configuration,
            NoBuild = true,
            Filter = $"TestCategory={category}",
            ResultsDirectory = results,
            ArgumentCustomization = args => args
                .Append("--blame-hang-timeout").Append($"{(int)tsanHang.TotalSeconds}s")
                .Append("--blame-hang-dump-type").Append("none")
                .Append("--logger").Append("\"trx;LogFileName=tsan.trx\"")
                .Append("--")
                .Append($"RunConfiguration.EnvironmentVariables.LD_PRELOAD={libtsan}")
                .Append($"RunConfiguration.EnvironmentVariables.MIXKV_EMU_LIBRARY={root}/.tools/emu/libmixkv_emu_tsan.so")
                .Append($"RunConfiguration.EnvironmentVariables.TSAN_OPTIONS=\"{options}\"")
                // CoreCLR stops a thread for the GC by signalling it and rewriting, in the handler, the
                // context it interrupted. TSan defers an asynchronous signal to the thread's next
                // intercepted call, by which time that context is stale: the GC then walks and patches
                // frames that are gone. Seen as test hosts spinning for good, SEGVs at wild pcs,
                // "stack smashing detected" and, once, a reference cap of a count no head had.
                // .ci/tsan-gc-repro reproduces it in seconds with a small managed program (2026-11-27,
                // 15 runs of 10 s each way: 8 died with injection, of SEGVs at wild pcs, stack
                // overflows and TSan's own checks; none without). Without injection the runtime
                // stops threads at their GC polls instead.
                .Append("RunConfiguration.EnvironmentVariables.DOTNET_INTERNAL_ThreadSuspendInjection=0"),
        });

        EnsureDirectoryExists(results);
        CleanDirectory(results);
        var started = DateTime.UtcNow;
        try
        {
            Run();
        }
        catch (Exception)
        {
            // A dead or hung host aborts the run with no test failed; name the test it died in (the
            // blame collector's sequence file lists the tests in order, the last never completed).
            var trxPath = results.Path.FullPath + "/tsan.trx";
            if (System.IO.File.Exists(trxPath))
            {
                var trx = System.Xml.Linq.XDocument.Load(trxPath);
                var ns = trx.Root.Name.Namespace;
                bool aborted = trx.Descendants(ns + "Text").Any(t => t.Value.Contains("test run was aborted"));
                int failed = (int)trx.Descendants(ns + "Counters").Single().Attribute("failed");
                if (aborted && failed == 0)
                {
                    var unfinished = GetFiles(results.Path.FullPath + "/**/Sequence_*.xml")
                        .SelectMany(f => System.Xml.Linq.XDocument.Load(f.FullPath).Root.Elements("Test"))
                        .Where(t => (string)t.Attribute("Completed") == "False")
                        .Select(t => (string)t.Attribute("Name"))
                        .Distinct()
                        .DefaultIfEmpty("a test it did not name");
                    string how = DateTime.UtcNow - started >= tsanHang ? $"hung (test host killed after {tsanHang.TotalSeconds} s on it)" : "crashed the test host";
                    throw new Exception($"The {category} tests under ThreadSanitizer {how} in {string.Join(", ", unfinished)}");
                }
            }

            throw;
        }

        var raw = GetFiles(logs.Path.FullPath + $"/{logName}*")
            .SelectMany(f => System.IO.File.ReadAllLines(f.FullPath))
            .ToList();
        return Symbolize(raw, $"{root}/.tools/emu/libmixkv_emu_tsan.so");
    }

    // TSan inside dotnet leaves frames of the dlopen'ed kernels as "(libmixkv_emu_tsan.so+0x1bc12)";
    // addr2line (binutils, always beside g++) turns them into kernel source lines.
    List<string> Symbolize(List<string> lines, string library)
    {
        var frame = new System.Text.RegularExpressions.Regex(@"\(libmixkv_emu_tsan\.so\+0x([0-9a-f]+)\)");
        var addresses = lines.SelectMany(l => frame.Matches(l).Select(m => "0x" + m.Groups[1].Value)).Distinct().ToList();
        if (addresses.Count == 0)
        {
            return lines;
        }

        IEnumerable<string> output;
        using (var process = StartAndReturnProcess("addr2line", new ProcessSettings { Arguments = $"-e {library} {string.Join(" ", addresses)}", RedirectStandardOutput = true }))
        {
            process.WaitForExit();
            output = process.GetStandardOutput().ToList();
        }

        var where = addresses.Zip(output, (address, source) => (address, source)).ToDictionary(p => p.address, p => p.source);
        return lines.Select(l => frame.Replace(l, m => $"({where["0x" + m.Groups[1].Value]})")).ToList();
    }

    // Positive control: the self-test kernel with its __syncthreads planted missing must be reported,
    // naming its source, or the check below proves nothing.
    var planted = RunUnderTsan("TsanPlanted", "planted");
    int plantedReports = planted.Count(line => line.StartsWith("WARNING: ThreadSanitizer: data race"));
    bool namesSource = planted.Any(line => line.Contains("race.cu"));
    Information($"ThreadSanitizer on the planted missing __syncthreads: {plantedReports} report(s), source named: {namesSource}");
    if (plantedReports == 0 || !namesSource)
    {
        throw new Exception("ThreadSanitizer did not report the planted race: the TSan pass is not working");
    }

    var lines = RunUnderTsan("TsanSmall", "kernels");
    // A report is ours when any frame lies in the kernels or the fiber runtime; the rest (the .NET
    // runtime's own threads, not covered by .ci/tsan.supp) are printed as noise, not counted.
    var blocks = string.Join("\n", lines).Split("==================", StringSplitOptions.RemoveEmptyEntries)
        .Where(b => b.Contains("WARNING: ThreadSanitizer"))
        .ToList();
    var ours = blocks.Where(b => b.Contains("/kernels/") || b.Contains("/src/Emulator/") || b.Contains("libmixkv_emu")).ToList();
    Information($"ThreadSanitizer over the emulated kernel tests (small shapes): {ours.Count} report(s) in kernels or runtime, {blocks.Count - ours.Count} in the .NET runtime only");
    if (ours.Count > 0)
    {
        Information(string.Join("\n==================", ours));
        throw new Exception($"ThreadSanitizer reported {ours.Count} race(s) in the emulated kernels");
    }
});

Task("Test")
    .IsDependentOn("UnitTests")
    .IsDependentOn("CompileSm90a")
    .IsDependentOn("TsanCheck");

Task("Demo")
    .Does(() =>
{
    DotNetRun(cli, new ProcessArgumentBuilder().Append("demo"), new DotNetRunSettings { Configuration = configuration });
});

Task("Bench")
    .Does(() =>
{
    DotNetRun("./bench/MixKV.Bench.csproj",
        new ProcessArgumentBuilder().Append("--filter").AppendQuoted(benchFilter),
        new DotNetRunSettings { Configuration = configuration });
});

// The reference must stay usable on real sizes: one layer, N = 32768, Hq = 32, Hkv = 8, D = 128, fp32,
// through the command line, within 60 s on the 2-core CI machine (foundation issue, acceptance).
Task("PerfCheck")
    .IsDependentOn("Build")
    .Does(() =>
{
    var dir = artifacts + Directory("perfcheck");
    EnsureDirectoryExists(dir);
    var input = dir + File("layer-32k.safetensors");
    var output = dir + File("layer-32k.compressed.safetensors");
    var mixkv = $"./src/MixKV.Cli/bin/{configuration}/net10.0/MixKV.Cli.dll";
    DotNetExecute(mixkv, $"generate --output {input} --layers 1 --kv-heads 8 --q-heads 32 --tokens 32768 --head-dim 128 --query-rows 32 --dtype f32 --seed 7");
    var clock = System.Diagnostics.Stopwatch.StartNew();
    DotNetExecute(mixkv, $"compress --input {input} --output {output} --method adakv --score mixkv --budget 256 --backend cpu");
    clock.Stop();
    Information($"mixkv compress --backend cpu, N=32768 Hq=32 Hkv=8 D=128 fp32 (AdaKV + mixkv): {clock.Elapsed.TotalSeconds:F1} s (limit 60 s)");
    DeleteDirectory(dir, new DeleteDirectorySettings { Recursive = true });
    if (clock.Elapsed.TotalSeconds > 60)
    {
        throw new Exception($"reference compression took {clock.Elapsed.TotalSeconds:F1} s, over the 60 s limit");
    }
});

RunTarget(target);
