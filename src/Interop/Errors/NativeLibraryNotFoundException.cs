namespace MixKV.Interop;

/// <summary>
/// A native library (NVRTC or the CUDA driver) could not be loaded from any candidate. The message
/// lists every attempt and why it failed, so a user can tell a missing file from a broken one.
/// </summary>
public sealed class NativeLibraryNotFoundException : DllNotFoundException
{
    internal NativeLibraryNotFoundException(string library, IReadOnlyList<LoadAttempt> attempts, string hint)
        : base(Format(library, attempts, hint))
    {
        Library = library;
        Attempts = attempts;
    }

    /// <summary>What was being loaded ("NVRTC", "the CUDA driver (libcuda.so.1)").</summary>
    public string Library { get; }

    /// <summary>Every candidate tried, in order, with why it failed.</summary>
    public IReadOnlyList<LoadAttempt> Attempts { get; }

    /// <summary>The attempts on one line, for a CLI's one-line error.</summary>
    public string Summary => string.Join("; ", Attempts);

    private static string Format(string library, IReadOnlyList<LoadAttempt> attempts, string hint) =>
        $"Could not load {library}. Tried, in order:{Environment.NewLine}" +
        string.Concat(attempts.Select(a => $"  {a}{Environment.NewLine}")) +
        hint;
}
