using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Kernels.Runtime;
using MixKV.Options;

namespace MixKV.Kernels;

/// <summary>Launcher of kernels/budget.cu: AdaKV caps on the device, and the head lengths of every method (spec section 5).</summary>
internal static class Budget
{
    public static void EnqueueAdaKV(IKernelRuntime runtime, int kvHeads, int prefix, int baseCap, CompressionOptions options, KernelWorkspace ws)
    {
        runtime.Launch("adakv_head_share", Launch.Config((uint)kvHeads, 1, BlockSizes.AdakvHeadShare), new AdakvHeadShareParams
        {
            Attention = ws.Attention.Address,
            Factor = ws.Factor.Address,
            Prefix = prefix,
            Base = baseCap,
            Normalize = options.Normalize ? 1 : 0,
        });

        runtime.Launch("adakv_allocate", Launch.Config(1, 1, BlockSizes.AdakvAllocate), new AdakvAllocateParams
        {
            Attention = ws.Attention.Address,
            Factor = ws.Factor.Address,
            Caps = ws.Caps.Address,
            Heads = kvHeads,
            Prefix = prefix,
            Base = baseCap,
            FloorKeep = (int)Math.Floor(baseCap * options.FloorAlpha),
            KeepShare = 1.0 - options.FloorAlpha,
        });
    }

    /// <summary>len_h = cap_h + W and cu_lens; <paramref name="deviceCaps"/> null means every head keeps <paramref name="uniformCap"/>.</summary>
    public static void EnqueueHeadLengths(IKernelRuntime runtime, int kvHeads, DevicePointer? deviceCaps, int uniformCap, int window, DevicePointer headLens, DevicePointer cuLens, DevicePointer? status = null)
    {
        runtime.Launch("head_lengths", Launch.Config(1, 1, BlockSizes.HeadLengths), new HeadLengthsParams
        {
            Caps = deviceCaps?.Address ?? 0,
            Status = status?.Address ?? 0,
            HeadLens = headLens.Address,
            CuLens = cuLens.Address,
            Heads = kvHeads,
            UniformCap = uniformCap,
            Window = window,
        });
    }
}

[KernelParams("budget.cu"), StructLayout(LayoutKind.Sequential)]
internal struct AdakvHeadShareParams
{
    public ulong Attention, Factor;
    public int Prefix, Base, Normalize, Reserved;
}

[KernelParams("budget.cu"), StructLayout(LayoutKind.Sequential)]
internal struct AdakvAllocateParams
{
    public ulong Attention, Factor, Caps;
    public int Heads, Prefix, Base, FloorKeep;
    public double KeepShare;
}

[KernelParams("budget.cu"), StructLayout(LayoutKind.Sequential)]
internal struct HeadLengthsParams
{
    public ulong Caps, Status, HeadLens, CuLens;
    public int Heads, UniformCap, Window, Reserved;
}
