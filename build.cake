// MixKV.Native build script: `dotnet tool restore && dotnet cake --target=<Target>`.
// Targets: Build, Test (the command CI runs), Demo, Bench, PerfCheck.

var target = Argument("target", "Test");
var configuration = Argument("configuration", "Release");
var benchFilter = Argument("filter", "*");
var solution = "./MixKV.Native.sln";
var cli = "./src/MixKV.Cli/MixKV.Cli.csproj";

// NVRTC, ptxas and a driver library without a GPU (Debian non-free, unpacked into .tools/cuda).
Task("InstallTools")
    .Does(() =>
{
    var exit = StartProcess("bash", new ProcessSettings { Arguments = "./.ci/install-cuda-tools.sh" });
    if (exit != 0)
    {
        throw new Exception($".ci/install-cuda-tools.sh failed with exit code {exit}");
    }
});

Task("Build")
    .Does(() =>
{
    DotNetBuild(solution, new DotNetBuildSettings { Configuration = configuration });
});

Task("Test")
    .IsDependentOn("InstallTools")
    .IsDependentOn("Build")
    .Does(() =>
{
    DotNetTest(solution, new DotNetTestSettings
    {
        Configuration = configuration,
        NoBuild = true,
        Loggers = new[] { "console;verbosity=normal" },
    });
});

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
// through the command line, within 60 s on the 2-core CI machine (issue: foundation, acceptance).
Task("PerfCheck")
    .IsDependentOn("Build")
    .Does(() =>
{
    var dir = Directory("./artifacts/perfcheck");
    EnsureDirectoryExists(dir);
    var input = dir + File("layer-32k.safetensors");
    var output = dir + File("layer-32k.compressed.safetensors");
    var mixkv = $"./src/MixKV.Cli/bin/{configuration}/net10.0/MixKV.Cli.dll";
    DotNetExecute(mixkv, $"generate --output {input} --layers 1 --kv-heads 8 --q-heads 32 --tokens 32768 --head-dim 128 --query-rows 32 --dtype f32 --seed 7");
    var clock = System.Diagnostics.Stopwatch.StartNew();
    DotNetExecute(mixkv, $"compress --input {input} --output {output} --method adakv --score mixkv --budget 256");
    clock.Stop();
    Information($"mixkv compress, N=32768 Hq=32 Hkv=8 D=128 fp32 (AdaKV + mixkv): {clock.Elapsed.TotalSeconds:F1} s (limit 60 s)");
    DeleteDirectory(dir, new DeleteDirectorySettings { Recursive = true });
    if (clock.Elapsed.TotalSeconds > 60)
    {
        throw new Exception($"reference compression took {clock.Elapsed.TotalSeconds:F1} s, over the 60 s limit");
    }
});

RunTarget(target);
