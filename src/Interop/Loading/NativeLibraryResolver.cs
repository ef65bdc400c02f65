using System.Reflection;
using System.Runtime.InteropServices;

namespace MixKV.Interop;

/// <summary>
/// The one place this assembly's native libraries are found. Every <c>[LibraryImport]</c> in it names
/// the logical libraries "nvrtc" or "cuda"; this resolver maps them to files.
/// </summary>
/// <remarks>
/// Settings take effect only before the first load of that library: the runtime binds each entry
/// point once, so a later change could not be honoured for calls already bound.
/// </remarks>
public static class NativeLibraryResolver
{
    /// <summary>Environment variable naming the NVRTC library file to load instead of probing.</summary>
    public const string NvrtcPathVariable = "MIXKV_NVRTC_PATH";

    /// <summary>Environment variable naming the CUDA driver library file to load instead of probing.</summary>
    public const string CudaDriverPathVariable = "MIXKV_CUDA_DRIVER_PATH";

    internal const string NvrtcLibrary = "nvrtc";
    internal const string CudaLibrary = "cuda";

    private static readonly Lock Gate = new();
    private static bool registered;
    private static LoadedLibrary? nvrtc;
    private static LoadedLibrary? cuda;

    /// <summary>An NVRTC library file to load; wins over <c>MIXKV_NVRTC_PATH</c>.</summary>
    public static string? NvrtcPath { get; set; }

    /// <summary>A CUDA driver library file to load; wins over <c>MIXKV_CUDA_DRIVER_PATH</c>.</summary>
    public static string? CudaDriverPath { get; set; }

    /// <summary>The tools folder (see <see cref="CudaToolsDirectory"/>); wins over <c>MIXKV_CUDA_TOOLS</c>.</summary>
    public static string? ToolsDirectory { get; set; }

    /// <summary>The NVRTC file in use, or null before it loaded.</summary>
    public static string? LoadedNvrtcPath => Volatile.Read(ref nvrtc)?.Path;

    /// <summary>The CUDA driver file in use, or null before it loaded.</summary>
    public static string? LoadedCudaDriverPath => Volatile.Read(ref cuda)?.Path;

    /// <summary>Loads NVRTC (once) and returns its handle.</summary>
    /// <exception cref="NativeLibraryNotFoundException">Nothing loaded; the message lists every attempt.</exception>
    internal static nint LoadNvrtc()
    {
        lock (Gate)
        {
            nvrtc ??= LibraryProbe.Load(
                "NVRTC",
                LibraryCandidates.ForNvrtc(Explicit(NvrtcPath, NvrtcPathVariable), CudaToolsDirectory.Locate(ToolsDirectory)),
                probeSymbol: "nvrtcVersion",
                hint: $"Set {NvrtcPathVariable} to libnvrtc.so, or {CudaToolsDirectory.EnvironmentVariable} to a folder made by .ci/install-cuda-tools.sh.");
            return nvrtc.Handle;
        }
    }

    /// <summary>Loads the CUDA driver (once) and returns its handle.</summary>
    /// <exception cref="NativeLibraryNotFoundException">Nothing loaded; the message lists every attempt.</exception>
    internal static nint LoadCudaDriver()
    {
        lock (Gate)
        {
            cuda ??= LibraryProbe.Load(
                $"the CUDA driver ({LibraryCandidates.CudaDriverName})",
                LibraryCandidates.ForCudaDriver(Explicit(CudaDriverPath, CudaDriverPathVariable), CudaToolsDirectory.Locate(ToolsDirectory)),
                probeSymbol: "cuInit",
                hint: $"Install an NVIDIA driver, or set {CudaDriverPathVariable} to libcuda.so.1.");
            return cuda.Handle;
        }
    }

    /// <summary>
    /// Installs the resolver for this assembly. Called from the static constructors of the P/Invoke
    /// classes, which the runtime runs before their first entry point binds.
    /// </summary>
    internal static void EnsureRegistered()
    {
        lock (Gate)
        {
            if (registered) return;
            NativeLibrary.SetDllImportResolver(typeof(NativeLibraryResolver).Assembly, Resolve);
            registered = true;
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName switch
        {
            // Throwing (rather than returning 0) keeps the report: the runtime's own fallback search
            // would replace it with a message about "nvrtc" and "libnvrtc.so" that helps nobody.
            NvrtcLibrary => LoadNvrtc(),
            CudaLibrary => LoadCudaDriver(),
            _ => 0,
        };

    private static string? Explicit(string? setting, string variable) =>
        !string.IsNullOrEmpty(setting) ? setting : Environment.GetEnvironmentVariable(variable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null;
}
