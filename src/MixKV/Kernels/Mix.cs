using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Kernels.Runtime;
using MixKV.Options;

namespace MixKV.Kernels;

/// <summary>Launcher of kernels/mix.cu: the final scores S (spec sections 3 and 4).</summary>
internal static class Mix
{
    public static void Enqueue(IKernelRuntime runtime, int kvHeads, int prefix, ScoreMode mode, DevicePointer redundancy, KernelWorkspace ws)
    {
        runtime.Launch("mix_scores", Launch.Config((uint)kvHeads, 1, BlockSizes.MixScores), new MixParams
        {
            Attention = ws.Attention.Address,
            KeyNorm = ws.KeyNorm.Address,
            ValueNorm = ws.ValueNorm.Address,
            Similarity = ws.Similarity.Address,
            Redundancy = redundancy.Address,
            Scores = ws.Scores.Address,
            Prefix = prefix,
            Mode = (int)mode, // mix.cu's MIXKV_MODE_* follow the enum order
        });
    }
}

[KernelParams("mix.cu"), StructLayout(LayoutKind.Sequential)]
internal struct MixParams
{
    public ulong Attention, KeyNorm, ValueNorm, Similarity, Redundancy, Scores;
    public int Prefix, Mode;
}
