namespace MixKV.Interop;

/// <summary>The products of one NVRTC compilation.</summary>
/// <param name="Name">The program name given to NVRTC.</param>
/// <param name="Ptx">The PTX text (always produced).</param>
/// <param name="Cubin">The CUBIN when compiled for a real architecture (<c>sm_XX</c>); null for <c>compute_XX</c>.</param>
/// <param name="Log">The compiler log: warnings, and ptxas's report with <c>-Xptxas -v</c>.</param>
/// <param name="LoweredNames">Each name expression (e.g. <c>topk&lt;float&gt;</c>) and the mangled name to look the kernel up by.</param>
public sealed record CompiledProgram(
    string Name,
    string Ptx,
    byte[]? Cubin,
    string Log,
    IReadOnlyDictionary<string, string> LoweredNames);
