using System.Runtime.InteropServices;
using System.Text;

namespace MixKV.Interop;

/// <summary>
/// One NVRTC program (nvrtcCreateProgram ... nvrtcDestroyProgram). Add name expressions, compile,
/// then read PTX, CUBIN, log and lowered names. Not thread-safe, like NVRTC's program object.
/// </summary>
public sealed unsafe class NvrtcProgram : SafeHandle
{
    /// <param name="source">CUDA C++ source.</param>
    /// <param name="name">The program's file name; NVRTC prefixes every diagnostic with it.</param>
    /// <param name="headers">Include name → contents, resolved by <c>#include "name"</c> without touching the disk.</param>
    /// <exception cref="NativeLibraryNotFoundException">NVRTC could not be loaded.</exception>
    public NvrtcProgram(string source, string name, IReadOnlyDictionary<string, string>? headers = null)
        : base(invalidHandleValue: 0, ownsHandle: true)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentException.ThrowIfNullOrEmpty(name);
        // Loading first turns a missing NVRTC into the resolver's report instead of a bare binding failure.
        NativeLibraryResolver.LoadNvrtc();
        Name = name;

        var includeNames = headers?.Keys.ToArray() ?? [];
        using var text = new Utf8StringArray([source, name]);
        using var headerSources = new Utf8StringArray(includeNames.Select(include => headers![include]).ToArray());
        using var headerNames = new Utf8StringArray(includeNames);
        nint program;
        NvrtcException.ThrowIfFailed(
            Nvrtc.nvrtcCreateProgram(&program, text[0], text[1], includeNames.Length, headerSources.Pointers, headerNames.Pointers),
            nameof(Nvrtc.nvrtcCreateProgram));
        SetHandle(program);
    }

    /// <summary>The name given at creation.</summary>
    public string Name { get; }

    /// <summary>The options of the last <see cref="Compile"/>.</summary>
    public IReadOnlyList<string> Options { get; private set; } = [];

    public override bool IsInvalid => handle == 0;

    /// <summary>
    /// Asks NVRTC to instantiate and keep a template or overload, e.g. <c>topk&lt;float, 128&gt;</c>;
    /// after compiling, <see cref="GetLoweredName"/> gives its mangled name. Must precede <see cref="Compile"/>.
    /// </summary>
    public void AddNameExpression(string nameExpression)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameExpression);
        using var lease = new HandleLease(this);
        using var text = new Utf8StringArray([nameExpression]);
        NvrtcException.ThrowIfFailed(Nvrtc.nvrtcAddNameExpression(lease.Value, text[0]), nameof(Nvrtc.nvrtcAddNameExpression));
    }

    /// <summary>
    /// Compiles with NVRTC options such as <c>--gpu-architecture=sm_90</c>, <c>-std=c++17</c>,
    /// <c>-Xptxas</c> <c>-v</c> (one option per element).
    /// </summary>
    /// <exception cref="NvrtcCompilationException">NVRTC refused the program or an option; carries the full log.</exception>
    public void Compile(params IReadOnlyList<string> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options.ToArray();
        NvrtcStatus status;
        using (var lease = new HandleLease(this))
        using (var native = new Utf8StringArray(options))
        {
            status = Nvrtc.nvrtcCompileProgram(lease.Value, native.Count, native.Pointers);
        }
        if (status != NvrtcStatus.NVRTC_SUCCESS)
            throw new NvrtcCompilationException(status, Name, Options, GetLog());
    }

    /// <summary>The compiler log (empty when there was nothing to say).</summary>
    public string GetLog() => Utf8Text(&Nvrtc.nvrtcGetProgramLogSize, &Nvrtc.nvrtcGetProgramLog, nameof(Nvrtc.nvrtcGetProgramLog));

    /// <summary>The PTX of a compiled program.</summary>
    public string GetPtx() => Utf8Text(&Nvrtc.nvrtcGetPTXSize, &Nvrtc.nvrtcGetPTX, nameof(Nvrtc.nvrtcGetPTX));

    /// <summary>The CUBIN, or null when the program was compiled for a virtual architecture (<c>compute_XX</c>).</summary>
    public byte[]? GetCubin()
    {
        var cubin = Bytes(&Nvrtc.nvrtcGetCUBINSize, &Nvrtc.nvrtcGetCUBIN, nameof(Nvrtc.nvrtcGetCUBIN));
        return cubin.Length == 0 ? null : cubin;
    }

    /// <summary>The mangled name of a name expression added before compiling.</summary>
    public string GetLoweredName(string nameExpression)
    {
        ArgumentException.ThrowIfNullOrEmpty(nameExpression);
        using var lease = new HandleLease(this);
        using var text = new Utf8StringArray([nameExpression]);
        byte* lowered;
        NvrtcException.ThrowIfFailed(Nvrtc.nvrtcGetLoweredName(lease.Value, text[0], &lowered), nameof(Nvrtc.nvrtcGetLoweredName));
        // Owned by the program; copied before the program can go.
        return Marshal.PtrToStringUTF8((nint)lowered) ?? "";
    }

    protected override bool ReleaseHandle()
    {
        var program = handle;
        return Nvrtc.nvrtcDestroyProgram(&program) == NvrtcStatus.NVRTC_SUCCESS;
    }

    private byte[] Bytes(
        delegate*<nint, nuint*, NvrtcStatus> getSize,
        delegate*<nint, byte*, NvrtcStatus> get,
        string callName)
    {
        using var lease = new HandleLease(this);
        nuint size;
        NvrtcException.ThrowIfFailed(getSize(lease.Value, &size), callName + "Size");
        var bytes = new byte[checked((int)size)];
        if (bytes.Length == 0) return bytes;
        fixed (byte* pointer = bytes)
        {
            NvrtcException.ThrowIfFailed(get(lease.Value, pointer), callName);
        }
        return bytes;
    }

    private string Utf8Text(
        delegate*<nint, nuint*, NvrtcStatus> getSize,
        delegate*<nint, byte*, NvrtcStatus> get,
        string callName)
    {
        // NVRTC's sizes include the terminating NUL.
        var bytes = Bytes(getSize, get, callName);
        var end = Array.IndexOf(bytes, (byte)0);
        return Encoding.UTF8.GetString(bytes, 0, end < 0 ? bytes.Length : end);
    }
}
