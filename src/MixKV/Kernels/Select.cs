using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Kernels.Runtime;

namespace MixKV.Kernels;

/// <summary>Launcher of kernels/select.cu: per-head top-k in ascending position order (spec section 6).</summary>
internal static class Select
{
    public static void Enqueue(IKernelRuntime runtime, int kvHeads, int prefix, int window, DevicePointer scores, DevicePointer? deviceCaps, int uniformCap, DevicePointer cuLens, DevicePointer positions, DevicePointer? status = null)
    {
        runtime.Launch("select_topk", Launch.Config((uint)kvHeads, 1, BlockSizes.SelectTopk), new SelectParams
        {
            Scores = scores.Address,
            Caps = deviceCaps?.Address ?? 0,
            CuLens = cuLens.Address,
            Positions = positions.Address,
            Status = status?.Address ?? 0,
            Prefix = prefix,
            Window = window,
            UniformCap = uniformCap,
        });
    }
}

[KernelParams("select.cu"), StructLayout(LayoutKind.Sequential)]
internal struct SelectParams
{
    public ulong Scores, Caps, CuLens, Positions, Status;
    public int Prefix, Window, UniformCap, Reserved;
}
