using Spectre.Console;

namespace MixKV.Cli;

/// <summary>
/// Where a command writes. Tables go to stdout; progress goes to stderr and only when stderr is the
/// process's own terminal, so in-process callers and pipes see plain text.
/// </summary>
internal sealed class CliIO
{
    /// <summary>Columns a table may use when the output is not a terminal (the default 80 would wrap the demo table).</summary>
    private const int PlainWidth = 200;

    public CliIO(TextWriter stdout, TextWriter stderr)
    {
        Stdout = stdout;
        Stderr = stderr;
    }

    public TextWriter Stdout { get; }

    public TextWriter Stderr { get; }

    public bool StdoutIsTerminal => ReferenceEquals(Stdout, Console.Out) && !Console.IsOutputRedirected;

    public bool StderrIsTerminal => ReferenceEquals(Stderr, Console.Error) && !Console.IsErrorRedirected;

    public IAnsiConsole StdoutConsole() => Create(Stdout, StdoutIsTerminal);

    public IAnsiConsole StderrConsole() => Create(Stderr, StderrIsTerminal);

    private static IAnsiConsole Create(TextWriter writer, bool terminal)
    {
        IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal)
        {
            console.Profile.Width = PlainWidth;
        }

        return console;
    }
}
