using System.Reflection;
using System.Runtime.InteropServices;

namespace MixKV.Kernels.Runtime;

/// <summary>
/// Entry points of libmixkv_emu.so (src/Emulator/include/mixkv_emu_api.h), the CPU runtime that runs
/// the same .cu kernels with one fiber per CUDA thread. Resolved from MIXKV_EMU_LIBRARY, else
/// .tools/emu/libmixkv_emu.so found by walking up from the application folder (where
/// src/Emulator/build.sh puts it).
/// </summary>
internal static unsafe partial class EmulatorNative
{
    public const string Library = "mixkv_emu";

    static EmulatorNative() => NativeLibrary.SetDllImportResolver(typeof(EmulatorNative).Assembly, Resolve);

    /// <summary>Where the library was looked for, for error messages.</summary>
    public static IReadOnlyList<string> Candidates()
    {
        var candidates = new List<string>();
        string? configured = Environment.GetEnvironmentVariable("MIXKV_EMU_LIBRARY");
        if (!string.IsNullOrEmpty(configured))
        {
            candidates.Add(configured);
            return candidates;
        }

        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            candidates.Add(Path.Combine(dir.FullName, ".tools", "emu", "libmixkv_emu.so"));
        }

        return candidates;
    }

    public static bool TryLoad(out string reason)
    {
        foreach (string candidate in Candidates())
        {
            if (File.Exists(candidate))
            {
                reason = candidate;
                return true;
            }
        }

        reason = "libmixkv_emu.so not found (build it with src/Emulator/build.sh); looked at: " + string.Join(", ", Candidates().Take(4)) + (Candidates().Count > 4 ? ", ..." : string.Empty);
        return false;
    }

    [LibraryImport(Library, EntryPoint = "mixkv_emu_get_function", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int GetFunction(string nameExpression, out nint function);

    [LibraryImport(Library, EntryPoint = "mixkv_emu_launch")]
    public static partial int LaunchKernel(nint function, uint gx, uint gy, uint gz, uint bx, uint by, uint bz, uint sharedBytes, void** args);

    [LibraryImport(Library, EntryPoint = "mixkv_emu_set_schedule")]
    public static partial int SetSchedule(ulong seed, int mode);

    [LibraryImport(Library, EntryPoint = "mixkv_emu_set_worker_threads")]
    public static partial int SetWorkerThreads(int count);

    [LibraryImport(Library, EntryPoint = "mixkv_emu_last_error")]
    public static partial nint LastError();

    [LibraryImport(Library, EntryPoint = "mixkv_emu_function_count")]
    public static partial int FunctionCount();

    [LibraryImport(Library, EntryPoint = "mixkv_emu_function_name")]
    public static partial nint FunctionName(int index);

    [LibraryImport(Library, EntryPoint = "mixkv_emu_function_params_size")]
    public static partial int FunctionParamsSize(nint function, out ulong size);

    public static string LastErrorText() => Marshal.PtrToStringUTF8(LastError()) ?? string.Empty;

    private static nint Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name != Library)
        {
            return 0;
        }

        foreach (string candidate in Candidates())
        {
            if (File.Exists(candidate) && NativeLibrary.TryLoad(candidate, out nint handle))
            {
                return handle;
            }
        }

        return 0;
    }
}
