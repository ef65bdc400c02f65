namespace MixKV.Interop;

/// <summary>One-call NVRTC compilation, and what NVRTC reports about itself.</summary>
public static unsafe class NvrtcCompiler
{
    /// <summary>
    /// Compiles <paramref name="source"/> and collects PTX, CUBIN (for <c>sm_XX</c> targets), the log
    /// and the lowered name of every name expression.
    /// </summary>
    /// <exception cref="NvrtcCompilationException">Compilation failed; carries the full log.</exception>
    public static CompiledProgram Compile(
        string source,
        string name,
        IReadOnlyList<string> options,
        IReadOnlyList<string>? nameExpressions = null,
        IReadOnlyDictionary<string, string>? headers = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var program = new NvrtcProgram(source, name, headers);
        var expressions = nameExpressions ?? [];
        foreach (var expression in expressions) program.AddNameExpression(expression);
        program.Compile(options);

        var lowered = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var expression in expressions) lowered[expression] = program.GetLoweredName(expression);
        return new CompiledProgram(name, program.GetPtx(), program.GetCubin(), program.GetLog(), lowered);
    }

    /// <summary>The NVRTC version, e.g. 11.8 (loads NVRTC).</summary>
    public static Version Version
    {
        get
        {
            NativeLibraryResolver.LoadNvrtc();
            int major, minor;
            NvrtcException.ThrowIfFailed(Nvrtc.nvrtcVersion(&major, &minor), nameof(Nvrtc.nvrtcVersion));
            return new Version(major, minor);
        }
    }

    /// <summary>The libnvrtc file in use, or null before it loaded.</summary>
    public static string? LibraryPath => NativeLibraryResolver.LoadedNvrtcPath;
}
