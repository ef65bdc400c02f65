using System.Text.Json;
using System.Text.RegularExpressions;
using MixKV.SafeTensors;

namespace MixKV.Cli;

/// <summary>
/// The exit-code contract: 0 ok, 2 bad input or usage, 1 internal error. Every failure is reported
/// as exactly one line on stderr, without a stack trace.
/// </summary>
internal static partial class ExitCodes
{
    public const int Ok = 0;
    public const int InternalError = 1;
    public const int BadInput = 2;

    /// <summary>The exit code and the single stderr line for an exception that escaped a command.</summary>
    public static (int Code, string Line) Classify(Exception ex)
    {
        return ex switch
        {
            CliUsageException => (BadInput, Line($"error: {ex.Message}")),
            ArgumentException arg => (BadInput, Line($"error: {Describe(arg)}")),
            SafeTensorsFormatException => (BadInput, Line($"error: malformed safetensors file: {ex.Message}")),
            JsonException => (BadInput, Line($"error: {ex.Message}")),
            FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException => (BadInput, Line($"error: {ex.Message}")),
            _ => (InternalError, Line($"internal error: {ex.GetType().Name}: {ex.Message}")),
        };
    }

    /// <summary>
    /// An <see cref="ArgumentException"/>'s text without the framework's " (Parameter 'x')" suffix, led by
    /// the command-line spelling of the parameter when it is one of <see cref="CompressionOptionFlags"/>.
    /// </summary>
    public static string Describe(ArgumentException ex)
    {
        string message = ex.Message;
        if (ex.ParamName is { } name)
        {
            string suffix = $" (Parameter '{name}')";
            if (message.EndsWith(suffix, StringComparison.Ordinal))
            {
                message = message[..^suffix.Length];
            }

            if (Compress.CompressionOptionFlags.TryGetFlag(name, out string flag))
            {
                return $"{flag}: {message}";
            }
        }

        return message;
    }

    /// <summary>One line: a message from a file or the framework may carry line breaks and tabs.</summary>
    public static string Line(string text) => "mixkv: " + Whitespace().Replace(text, " ").Trim();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
