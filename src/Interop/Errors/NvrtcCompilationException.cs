namespace MixKV.Interop;

/// <summary>
/// NVRTC rejected a program. The message and <see cref="Log"/> hold the compiler's whole log, since
/// a bare "compilation failed" (managedCuda's habit) leaves the user to reproduce the build by hand.
/// </summary>
public sealed class NvrtcCompilationException : NvrtcException
{
    internal NvrtcCompilationException(NvrtcStatus status, string programName, IReadOnlyList<string> options, string log)
        : base("nvrtcCompileProgram", status, NvrtcStatusText.Describe(status), Describe(programName, options, log))
    {
        ProgramName = programName;
        Options = options;
        Log = log;
    }

    /// <summary>The program's name as given to NVRTC (it prefixes every diagnostic).</summary>
    public string ProgramName { get; }

    /// <summary>The options the program was compiled with.</summary>
    public IReadOnlyList<string> Options { get; }

    /// <summary>The full compiler log.</summary>
    public string Log { get; }

    private static string Describe(string programName, IReadOnlyList<string> options, string log) =>
        $" compiling {programName} with [{string.Join(' ', options)}]:{Environment.NewLine}{log.TrimEnd()}";
}
