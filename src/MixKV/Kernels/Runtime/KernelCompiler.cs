using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MixKV.Interop;

namespace MixKV.Kernels.Runtime;

/// <summary>
/// NVRTC compilation of one kernel file: every registered instance through name expressions, the
/// generated layout asserts of its params structs appended, and the PTX cached on disk under a key
/// made of the source, headers, options and NVRTC version (so a changed kernel or compiler never
/// reuses stale PTX). Cache folder: MIXKV_PTX_CACHE, else ~/.cache/mixkv/ptx.
/// </summary>
internal static class KernelCompiler
{
    public static IReadOnlyList<string> Options(string architecture) =>
        [$"--gpu-architecture={architecture}", "-std=c++17"];

    /// <summary>The program text NVRTC sees: the file plus its layout asserts.</summary>
    public static string ProgramText(KernelFile file)
    {
        var text = new StringBuilder(file.Source);
        text.Append("\n// Generated from the C# params structs (layout must match).\n").Append(ParamsLayout.Prelude);
        foreach (Type type in ParamsTypes(file.Name))
        {
            text.Append(ParamsLayout.StaticAsserts(type));
        }

        return text.ToString();
    }

    public static CompiledProgram Compile(KernelFile file, string architecture, IReadOnlyList<string>? extraOptions = null, bool useCache = true)
    {
        string source = ProgramText(file);
        IReadOnlyList<string> options = [.. Options(architecture), .. extraOptions ?? []];
        string key = CacheKey(source, options);
        string? cacheFile = useCache ? Path.Combine(CacheDirectory(), $"{Path.GetFileNameWithoutExtension(file.Name)}-{key}.json") : null;
        if (cacheFile is not null && TryRead(cacheFile, out CompiledProgram? cached))
        {
            return cached;
        }

        CompiledProgram program = NvrtcCompiler.Compile(source, file.Name, options, file.Instances, KernelSources.Headers);
        if (cacheFile is not null)
        {
            TryWrite(cacheFile, program);
        }

        return program;
    }

    public static IEnumerable<Type> ParamsTypes(string fileName) =>
        typeof(KernelCompiler).Assembly.GetTypes()
            .Where(t => t.GetCustomAttributes<KernelParamsAttribute>().Any(a => a.File == fileName))
            .OrderBy(t => t.Name, StringComparer.Ordinal);

    private static string CacheKey(string source, IReadOnlyList<string> options)
    {
        var text = new StringBuilder(source);
        foreach ((string name, string header) in KernelSources.Headers.OrderBy(h => h.Key, StringComparer.Ordinal))
        {
            text.Append('\0').Append(name).Append('\0').Append(header);
        }

        text.Append('\0').Append(string.Join(' ', options)).Append('\0').Append(NvrtcCompiler.Version);
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..24].ToLowerInvariant();
    }

    private static string CacheDirectory()
    {
        string? configured = Environment.GetEnvironmentVariable("MIXKV_PTX_CACHE");
        if (!string.IsNullOrEmpty(configured))
        {
            return configured;
        }

        return Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "mixkv", "ptx");
    }

    private sealed record CacheEntry(string Name, string Ptx, string Log, Dictionary<string, string> LoweredNames);

    private static bool TryRead(string path, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CompiledProgram? program)
    {
        program = null;
        try
        {
            if (!File.Exists(path))
            {
                return false;
            }

            CacheEntry? entry = JsonSerializer.Deserialize<CacheEntry>(File.ReadAllText(path));
            if (entry is null)
            {
                return false;
            }

            program = new CompiledProgram(entry.Name, entry.Ptx, null, entry.Log, entry.LoweredNames);
            return true;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return false; // a damaged cache entry is recompiled, never trusted
        }
    }

    private static void TryWrite(string path, CompiledProgram program)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            string temp = path + $".{Environment.ProcessId}.tmp";
            File.WriteAllText(temp, JsonSerializer.Serialize(new CacheEntry(program.Name, program.Ptx, program.Log, new Dictionary<string, string>(program.LoweredNames))));
            File.Move(temp, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The cache only saves time; a read-only home must not fail a compression.
        }
    }
}
