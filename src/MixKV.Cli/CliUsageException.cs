namespace MixKV.Cli;

/// <summary>
/// Bad input or usage found by the tool itself (file contract of spec section 9, unreadable inputs,
/// malformed option files). Maps to exit code 2, like the library's <see cref="ArgumentException"/>s.
/// </summary>
internal sealed class CliUsageException : Exception
{
    public CliUsageException(string message)
        : base(message)
    {
    }

    public CliUsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
