using System.CommandLine;

namespace MixKV.Cli.Commands;

/// <summary>Small builders so every command declares its options the same way.</summary>
internal static class OptionParsing
{
    public static Option<T> With<T>(string name, string description, T defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
    };

    public static Option<string> Choice(string name, string description, string defaultValue, params string[] choices)
    {
        Option<string> option = With(name, $"{description} ({string.Join("|", choices)})", defaultValue);
        option.AcceptOnlyFromAmong(choices);
        return option;
    }

    public static Option<string> RequiredPath(string name, string description) => new(name)
    {
        Description = description,
        Required = true,
    };

    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    /// <summary>Converts an accepted choice with one of the library's <c>OptionNames.TryParse</c> overloads.</summary>
    public static T Parse<T>(string text, string flag, TryParse<T> tryParse) =>
        tryParse(text, out T value) ? value : throw new CliUsageException($"{flag}: unknown value '{text}'");

    public delegate bool TryParse<T>(string text, out T value);
}
