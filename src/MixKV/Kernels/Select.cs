using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Kernels.Runtime;

namespace MixKV.Kernels;

/// <summary>Launcher of kernels/select.cu: per-head top-k in ascending position order (spec section 6), over a grid of blocks.</summary>
internal static class Select
{
    /// <summary>Bytes of the scratch <see cref="Enqueue"/> needs: the heads' radix histograms, then the span counts [Hkv, spans, 2].</summary>
    public static long ScratchBytes(int kvHeads, int prefix) => HistogramBytes(kvHeads) + (2L * kvHeads * RadixGrid.Blocks(prefix) * sizeof(int));

    /// <param name="scratch"><see cref="ScratchBytes"/> bytes of device memory, 4-byte aligned; its contents need not be set.</param>
    public static void Enqueue(IKernelRuntime runtime, int kvHeads, int prefix, int window, DevicePointer scores, DevicePointer? deviceCaps, int uniformCap, DevicePointer cuLens, DevicePointer positions, DevicePointer scratch, DevicePointer? status = null)
    {
        runtime.Fill(scratch, 0, HistogramBytes(kvHeads));
        var parameters = new SelectParams
        {
            Scores = scores.Address,
            Caps = deviceCaps?.Address ?? 0,
            CuLens = cuLens.Address,
            Positions = positions.Address,
            Status = status?.Address ?? 0,
            Histograms = scratch.Address,
            SpanCounts = scratch.AddBytes(HistogramBytes(kvHeads)).Address,
            Prefix = prefix,
            Window = window,
            UniformCap = uniformCap,
            Span = RadixGrid.Span,
        };
        LaunchConfig grid = Launch.Config((uint)RadixGrid.Blocks(prefix), (uint)kvHeads, BlockSizes.RadixGrid);
        RadixGrid.EnqueuePasses(runtime, "select_radix_pass", grid, pass => parameters with { Pass = pass });

        runtime.Launch("select_span_counts", grid, parameters);
        runtime.Launch("select_topk", grid, parameters);
    }

    private static long HistogramBytes(int kvHeads) => (long)kvHeads * RadixGrid.HistogramWords * sizeof(uint);
}

[KernelParams("select.cu"), StructLayout(LayoutKind.Sequential)]
internal struct SelectParams
{
    public ulong Scores, Caps, CuLens, Positions, Status, Histograms, SpanCounts;
    public int Prefix, Window, UniformCap, Span, Pass, Reserved;
}
