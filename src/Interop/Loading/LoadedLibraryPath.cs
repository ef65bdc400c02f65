using System.Globalization;
using System.Runtime.InteropServices;

namespace MixKV.Interop;

/// <summary>Finds which file a library loaded by bare name came from, for <c>mixkv info</c>.</summary>
internal static class LoadedLibraryPath
{
    /// <summary>
    /// The file mapped at the address of <paramref name="symbol"/>, read from <c>/proc/self/maps</c>;
    /// null where that is unavailable. Reading the map avoids binding <c>dladdr</c>, whose home
    /// (libc or libdl) depends on the glibc version.
    /// </summary>
    public static string? Find(nint handle, string symbol)
    {
        if (!OperatingSystem.IsLinux() || !NativeLibrary.TryGetExport(handle, symbol, out var address))
            return null;
        try
        {
            foreach (var line in File.ReadLines("/proc/self/maps"))
            {
                if (ParseMapping(line, (ulong)address) is { } path) return path;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }

    /// <summary>The path of a <c>/proc/self/maps</c> line if its range contains <paramref name="address"/>.</summary>
    internal static string? ParseMapping(string line, ulong address)
    {
        // Format: "start-end perms offset dev inode path", the path starting at the sixth field.
        var dash = line.IndexOf('-');
        var space = line.IndexOf(' ');
        if (dash <= 0 || space <= dash) return null;
        if (!ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var start) ||
            !ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var end))
            return null;
        if (address < start || address >= end) return null;
        var slash = line.IndexOf('/', space);
        return slash < 0 ? null : line[slash..].TrimEnd();
    }
}
