using MixKV.Cli;

namespace MixKV.Tests.Cli;

/// <summary>One in-process run of the command line: exit code and everything written to stdout and stderr.</summary>
internal sealed record CliRun(int ExitCode, string Stdout, string Stderr)
{
    public static CliRun Of(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return new CliRun(code, stdout.ToString(), stderr.ToString());
    }

    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() => $"exit {ExitCode}; stderr: {Stderr.TrimEnd()}; stdout: {Stdout.TrimEnd()}";
}
