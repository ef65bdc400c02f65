using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using MixKV.Cli.Commands;

namespace MixKV.Cli;

/// <summary>
/// The `mixkv` program, callable in-process: parse, run one command, map any failure to the exit-code
/// contract of <see cref="ExitCodes"/>. Nothing here writes to the real console unless the caller
/// passes it in.
/// </summary>
public static class CliApp
{
    public const string CommandName = "mixkv";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var io = new CliIO(stdout, stderr);
        try
        {
            Command root = BuildRoot(io);
            ParseResult parsed = root.Parse(args);
            if (parsed.Errors.Count > 0)
            {
                // System.CommandLine would print every error plus the help text; the contract is one line.
                // A stray token explains a "required command" error better than that error does.
                string problem = parsed.UnmatchedTokens.Count > 0
                    ? $"unrecognized command or argument '{parsed.UnmatchedTokens[0]}'"
                    : Describe(parsed.Errors[0]);
                stderr.WriteLine(ExitCodes.Line($"error: {problem} (see {Hint(parsed, root)})"));
                return ExitCodes.BadInput;
            }

            return parsed.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr, EnableDefaultExceptionHandler = false });
        }
        catch (Exception ex)
        {
            (int code, string line) = ExitCodes.Classify(ex);
            stderr.WriteLine(line);
            return code;
        }
    }

    /// <summary>
    /// A plain command named "mixkv" rather than a <see cref="RootCommand"/>, whose name would be the
    /// assembly's (MixKV.Cli, see the project file) in every usage line.
    /// </summary>
    private static Command BuildRoot(CliIO io) => new(CommandName, "KV-cache compression (SnapKV, PyramidKV, AdaKV with MixKV scores) for safetensors caches")
    {
        new HelpOption(),
        new VersionOption(),
        CompressCommand.Build(io),
        GenerateCommand.Build(io),
        DemoCommand.Build(io),
        InfoCommand.Build(io),
        BenchCommand.Build(io),
    };

    /// <summary>The error's message, led by the option it concerns when the message does not name it.</summary>
    private static string Describe(ParseError error)
    {
        SymbolResult? symbol = error.SymbolResult;
        while (symbol is not null and not OptionResult)
        {
            symbol = symbol.Parent;
        }

        return symbol is OptionResult { Option.Name: var name } && !error.Message.Contains(name, StringComparison.Ordinal)
            ? $"{name}: {error.Message}"
            : error.Message;
    }

    private static string Hint(ParseResult parsed, Command root) =>
        ReferenceEquals(parsed.CommandResult.Command, root) ? $"{CommandName} --help" : $"{CommandName} {parsed.CommandResult.Command.Name} --help";
}
