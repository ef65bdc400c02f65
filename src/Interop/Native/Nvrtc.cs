using System.Runtime.InteropServices;

namespace MixKV.Interop;

/// <summary>
/// NVRTC's C API with its C names. <see cref="NvrtcProgram"/> and <see cref="NvrtcCompiler"/> are
/// the typed surface; nothing else should call these.
/// </summary>
internal static unsafe partial class Nvrtc
{
    private const string Library = NativeLibraryResolver.NvrtcLibrary;

    // See Driver: the resolver must be registered before the first entry point binds.
    static Nvrtc() => NativeLibraryResolver.EnsureRegistered();

    [LibraryImport(Library)]
    internal static partial NvrtcStatus nvrtcVersion(int* major, int* minor);

    [LibraryImport(Library)]
    internal static partial byte* nvrtcGetErrorString(NvrtcStatus status);

    [LibraryImport(Library)]
    internal static partial NvrtcStatus nvrtcCreateProgram(
        nint* program, byte* source, byte* name, int numHeaders, byte** headers, byte** includeNames);

    [LibraryImport(Library)]
    internal static partial NvrtcStatus nvrtcDestroyProgram(nint* program);

    [LibraryImport(Library)]
    internal static partial NvrtcStatus nvrtcAddNameExpression(nint program, byte* nameExpression);

    [LibraryImport(Library)]
    internal static partial NvrtcStatus nvrtcCompileProgram(nint program, int numOptions, byte** options);

    [LibraryImport(Library)]
    internal static partial NvrtcStatus nvrtcGetProgramLogSize(nint program, nuint* size);

    [LibraryImport(Library)]
    internal static partial NvrtcStatus nvrtcGetProgramLog(nint program, byte* log);

    [LibraryImport(Library)]
    internal static partial NvrtcStatus nvrtcGetPTXSize(nint program, nuint* size);

    [LibraryImport(Library)]
    internal static partial NvrtcStatus nvrtcGetPTX(nint program, byte* ptx);

    [LibraryImport(Library)]
    internal static partial NvrtcStatus nvrtcGetCUBINSize(nint program, nuint* size);

    [LibraryImport(Library)]
    internal static partial NvrtcStatus nvrtcGetCUBIN(nint program, byte* cubin);

    [LibraryImport(Library)]
    internal static partial NvrtcStatus nvrtcGetLoweredName(nint program, byte* nameExpression, byte** loweredName);
}
