using System.Runtime.Intrinsics.X86;

namespace MixKV.Fast;

/// <summary>
/// Whether the fast path runs its AVX-512 kernels (the Strassen GEMM, the packed exp tile, the 16-lane
/// passes) or its portable Vector&lt;T&gt; ones. Decided by the instruction sets, not by
/// Vector512.IsHardwareAccelerated: that flag only reports the runtime's preferred width, which is
/// 256 by default on Intel parts where 512-bit code may lower the clock and whenever
/// DOTNET_PreferredVectorBitWidth is below 512, while Vector512 code still compiles to AVX-512 there.
/// With the preference at 256 the layer took 270 ms on the portable kernels of then against 27 ms
/// on these (this Zen 5, thirty-first session); the register-blocked portable GEMM
/// (<see cref="PortableLogitKernel"/>) has since brought the portable run to ~60 ms. DOTNET_EnableAVX512=0
/// still turns these off.
/// </summary>
internal static class WideKernels
{
    /// <summary>AVX-512 F, BW, CD, DQ and VL: the set Vector512 acceleration needs.</summary>
    public static bool Available { get; } =
        Avx512F.IsSupported && Avx512BW.IsSupported && Avx512CD.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported;
}
