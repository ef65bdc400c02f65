using System.Runtime.InteropServices;

namespace MixKV.Interop;

/// <summary>A native library that loaded, and the file it came from.</summary>
internal sealed record LoadedLibrary(nint Handle, string Path);

/// <summary>Tries candidates in order and keeps a record of every failure for the error report.</summary>
internal static class LibraryProbe
{
    /// <param name="description">What is being loaded, for the report ("NVRTC", "the CUDA driver").</param>
    /// <param name="candidates">The probe order.</param>
    /// <param name="probeSymbol">An export used to find the file a bare name resolved to.</param>
    /// <param name="hint">The last line of the report: how to fix it.</param>
    /// <exception cref="NativeLibraryNotFoundException">No candidate loaded.</exception>
    public static LoadedLibrary Load(string description, IReadOnlyList<LibraryCandidate> candidates, string probeSymbol, string hint)
    {
        var attempts = new List<LoadAttempt>();
        foreach (var candidate in candidates)
        {
            if (candidate.Unavailable is not null)
            {
                attempts.Add(new LoadAttempt(candidate.Target, candidate.Unavailable));
                continue;
            }
            if (TryLoad(candidate, out var handle, out var failure))
            {
                var path = candidate.IsPath
                    ? System.IO.Path.GetFullPath(candidate.Target)
                    : LoadedLibraryPath.Find(handle, probeSymbol) ?? candidate.Target;
                return new LoadedLibrary(handle, path);
            }
            attempts.Add(new LoadAttempt(candidate.Target, failure));
        }
        throw new NativeLibraryNotFoundException(description, attempts, hint);
    }

    private static bool TryLoad(LibraryCandidate candidate, out nint handle, out string failure)
    {
        handle = 0;
        if (candidate.IsPath && !File.Exists(candidate.Target))
        {
            failure = "file not found";
            return false;
        }
        foreach (var companion in candidate.Preload)
        {
            // Loaded for its soname only; the handle stays open for the life of the process, as libnvrtc's would.
            if (!TryLoadFile(companion, out _, out var companionFailure))
            {
                failure = $"could not preload {companion}: {companionFailure}";
                return false;
            }
        }
        return TryLoadFile(candidate.Target, out handle, out failure);
    }

    private static bool TryLoadFile(string target, out nint handle, out string failure)
    {
        try
        {
            // The one-argument overload hands the string to dlopen as is: no "lib"/".so" guessing
            // and no probing of the application folder, so the report says exactly what was tried.
            handle = NativeLibrary.Load(target);
            failure = "";
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            handle = 0;
            failure = LoaderReason(e.Message, target);
            return false;
        }
    }

    /// <summary>
    /// The dynamic loader's own line ("libcuda.so.1: cannot open shared object file: ..."), which
    /// .NET puts last, after generic advice that would repeat in every attempt of the report.
    /// </summary>
    internal static string LoaderReason(string message, string target)
    {
        var lines = message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var reason = lines.Length == 0 ? message : lines[^1];
        // dlerror repeats the target, which the report already shows in front of the reason.
        return reason.StartsWith(target + ": ", StringComparison.Ordinal) ? reason[(target.Length + 2)..] : reason;
    }
}
