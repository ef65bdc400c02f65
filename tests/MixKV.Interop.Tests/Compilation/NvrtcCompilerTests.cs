using System.Text.RegularExpressions;

namespace MixKV.Interop.Tests.Compilation;

public sealed partial class NvrtcCompilerTests
{
    /// <summary>A params struct per kernel family, templated on dtype, as the real kernels are.</summary>
    internal const string ScaleSource = """
        template <typename T>
        struct ScaleParams { const T* input; T* output; unsigned count; T factor; };

        template <typename T>
        __global__ void scale(ScaleParams<T> p)
        {
            unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
            if (i < p.count) p.output[i] = p.input[i] * p.factor;
        }
        """;

    private static readonly string[] Expressions = ["scale<float>", "scale<int>"];

    [SetUp]
    public void RequireTools() => CudaTools.RequireRoot();

    [TestCase("compute_80")]
    [TestCase("compute_90")]
    public void NameExpressionsBecomePtxEntries(string architecture)
    {
        var program = NvrtcCompiler.Compile(ScaleSource, "scale.cu", [$"--gpu-architecture={architecture}", "-std=c++17"], Expressions);

        Assert.That(program.LoweredNames.Keys, Is.EquivalentTo(Expressions));
        Assert.That(program.LoweredNames["scale<float>"], Is.EqualTo("_Z5scaleIfEv11ScaleParamsIT_E"));
        foreach (var lowered in program.LoweredNames.Values)
            Assert.That(program.Ptx, Does.Contain($".entry {lowered}("));
        Assert.That(program.Ptx, Does.Contain($".target sm_{architecture[^2..]}"));
        Assert.That(program.Cubin, Is.Null, "a virtual architecture yields PTX only");
    }

    [Test]
    public void RealArchitectureWithPtxasVerboseReportsRegistersAndGivesACubin()
    {
        var program = NvrtcCompiler.Compile(ScaleSource, "scale.cu", ["--gpu-architecture=sm_90", "-Xptxas", "-v"], Expressions);

        var registerLines = RegisterLine().Matches(program.Log);
        Assert.That(registerLines, Has.Count.EqualTo(2), $"one ptxas register line per entry; log:{Environment.NewLine}{program.Log}");
        foreach (var lowered in program.LoweredNames.Values)
            Assert.That(program.Log, Does.Contain($"Compiling entry function '{lowered}' for 'sm_90'"));
        Assert.That(program.Log, Does.Contain("bytes spill stores"));
        Assert.That(program.Cubin, Is.Not.Null);
        Assert.That(program.Cubin![..4], Is.EqualTo("\u007fELF"u8.ToArray()), "a CUBIN is an ELF image");
    }

    [Test]
    public void SyntaxErrorRaisesTheCompileExceptionWithTheFullLog()
    {
        const string broken = "__global__ void broken(int* p) { p[0] = ; }";

        var e = Assert.Throws<NvrtcCompilationException>(
            () => NvrtcCompiler.Compile(broken, "broken.cu", ["--gpu-architecture=compute_80"]));

        Assert.That(e.Status, Is.EqualTo(NvrtcStatus.NVRTC_ERROR_COMPILATION));
        Assert.That(e.ProgramName, Is.EqualTo("broken.cu"));
        Assert.That(e.Options, Is.EqualTo(new[] { "--gpu-architecture=compute_80" }));
        Assert.That(e.Log, Does.Contain("broken.cu(1): error: expected an expression"));
        Assert.That(e.Message, Does.Contain("NVRTC_ERROR_COMPILATION").And.Contain(e.Log.TrimEnd()));
    }

    [Test]
    public void AnInvalidOptionIsReportedWithNvrtcsExplanation()
    {
        var e = Assert.Throws<NvrtcCompilationException>(
            () => NvrtcCompiler.Compile(ScaleSource, "scale.cu", ["--gpu-architecture=sm_95"]));

        Assert.That(e.Status, Is.EqualTo(NvrtcStatus.NVRTC_ERROR_INVALID_OPTION));
        Assert.That(e.Log, Does.Contain("invalid value for --gpu-architecture"));
    }

    [Test]
    public void HeadersAreServedFromMemory()
    {
        var headers = new Dictionary<string, string> { ["common/twice.cuh"] = "__device__ inline int twice(int x) { return 2 * x; }" };
        const string source = "#include \"common/twice.cuh\"\nextern \"C\" __global__ void k(int* p) { p[0] = twice(p[0]); }";

        var program = NvrtcCompiler.Compile(source, "k.cu", ["--gpu-architecture=compute_80"], headers: headers);

        Assert.That(program.Ptx, Does.Contain(".entry k("));
    }

    [Test]
    public void ProgramStepByStep()
    {
        using var program = new NvrtcProgram(ScaleSource, "scale.cu");
        program.AddNameExpression("scale<double>");
        program.Compile("--gpu-architecture=compute_90");

        var lowered = program.GetLoweredName("scale<double>");
        Assert.That(lowered, Is.EqualTo("_Z5scaleIdEv11ScaleParamsIT_E"));
        Assert.That(program.GetPtx(), Does.Contain($".entry {lowered}("));
        Assert.That(program.GetLog(), Is.Empty);
        Assert.That(program.GetCubin(), Is.Null);
        Assert.That(program.Options, Is.EqualTo(new[] { "--gpu-architecture=compute_90" }));
    }

    [Test]
    public void AnUnknownNameExpressionIsAnNvrtcError()
    {
        using var program = new NvrtcProgram(ScaleSource, "scale.cu");
        program.AddNameExpression("scale<float>");
        program.Compile("--gpu-architecture=compute_80");

        var e = Assert.Throws<NvrtcException>(() => program.GetLoweredName("scale<char>"));
        Assert.That(e.CallName, Is.EqualTo("nvrtcGetLoweredName"));
        Assert.That(e.Status, Is.EqualTo(NvrtcStatus.NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID));
    }

    [Test]
    public void VersionAndLibraryAreReported()
    {
        var version = NvrtcCompiler.Version;

        Assert.That(version, Is.GreaterThanOrEqualTo(new Version(11, 2)));
        Assert.That(NvrtcCompiler.LibraryPath, Does.Contain("libnvrtc"));
        TestContext.Out.WriteLine($"NVRTC {version} from {NvrtcCompiler.LibraryPath}");
    }

    [GeneratedRegex(@"^ptxas info\s+: Used \d+ registers", RegexOptions.Multiline)]
    private static partial Regex RegisterLine();
}
