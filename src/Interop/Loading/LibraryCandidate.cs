namespace MixKV.Interop;

/// <summary>One place the resolver tries to load a native library from.</summary>
/// <param name="Target">A full path, or a bare file name left to the dynamic loader's search.</param>
/// <param name="IsPath">True when <paramref name="Target"/> is a path and not a name.</param>
/// <param name="Preload">
/// Libraries loaded first from the same folder (NVRTC's builtins: libnvrtc opens them by name, and a
/// private folder is not on the loader's search path).
/// </param>
/// <param name="Unavailable">Why the candidate is known to fail without trying; it still appears in the report.</param>
internal sealed record LibraryCandidate(string Target, bool IsPath, IReadOnlyList<string> Preload, string? Unavailable = null)
{
    public static LibraryCandidate Name(string fileName) => new(fileName, IsPath: false, []);

    public static LibraryCandidate Path(string path, IReadOnlyList<string>? preload = null) =>
        new(path, IsPath: true, preload ?? []);

    public static LibraryCandidate Skipped(string what, string why) => new(what, IsPath: false, [], why);
}

/// <summary>What happened to one candidate; the report of a failed load lists all of them.</summary>
public readonly record struct LoadAttempt(string Target, string Outcome)
{
    public override string ToString() => $"{Target}: {Outcome}";
}
