using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Kernels.Runtime;
using MixKV.Options;

namespace MixKV.Kernels;

/// <summary>Launchers of kernels/adakv.cu (AdaKV caps on the device) and kernels/budget.cu (the head lengths of every method), spec section 5.</summary>
internal static class Budget
{
    /// <summary>
    /// cap_h for every head, on the device (kernels/adakv.cu): the heads' shares when normalising, then
    /// the allocation's four radix passes over the whole grid, the counts and the caps. The shares take
    /// four radix passes and the sums, or the selection's candidate form (<see cref="Select.EnqueueSpanCandidates"/>
    /// and adakv_share_merge: two launches) where <see cref="Select.SharesFormFor"/> takes it.
    /// </summary>
    /// <param name="sharesForm">The shares' form; null picks it with <see cref="Select.SharesFormFor"/>.</param>
    public static void EnqueueAdaKV(IKernelRuntime runtime, int kvHeads, int prefix, int baseCap, CompressionOptions options, KernelWorkspace ws, Select.Form? sharesForm = null)
    {
        runtime.Fill(ws.AdakvHistograms, 0, ws.AdakvCountersBytes);  // the histograms and the head counts, one graph node
        var parameters = new AdakvParams
        {
            Attention = ws.Attention.Address,
            Factor = ws.Factor.Address,
            Histograms = ws.AdakvHistograms.Address,
            ShareSums = ws.AdakvShareSums.Address,
            HeadCounts = ws.AdakvHeadCounts.Address,
            Caps = ws.Caps.Address,
            Candidates = ws.SelectScratch.Address,
            Heads = kvHeads,
            Prefix = prefix,
            Base = baseCap,
            Span = RadixGrid.Span,
            Normalize = options.Normalize ? 1 : 0,
            FloorKeep = (int)Math.Floor(baseCap * options.FloorAlpha),
            CandidateSpan = Select.CandidateSpan,
            KeepShare = 1.0 - options.FloorAlpha,
        };
        LaunchConfig grid = Launch.Config((uint)RadixGrid.Blocks(prefix), (uint)kvHeads, BlockSizes.RadixGrid);
        Select.Form shares = sharesForm ?? Select.SharesFormFor(prefix, baseCap);
        if (options.Normalize && shares == Select.Form.Candidates)
        {
            // The select scratch is free until the selection itself, after the caps.
            // The share sums' buffer ([Hkv, RadixGrid blocks, 2]) holds the spans' sums: spans are longer.
            Select.EnqueueSpanCandidates(runtime, kvHeads, prefix, ws.Attention, baseCap, ws.SelectScratch, ws.AdakvShareSums);
            runtime.Launch("adakv_share_merge", Launch.Config((uint)kvHeads, 1, BlockSizes.RadixGrid), parameters);
        }
        else
        {
            if (options.Normalize)
            {
                RadixGrid.EnqueuePasses(runtime, "adakv_radix_pass", grid, pass => parameters with { PerHead = 1, Pass = pass });
                runtime.Launch("adakv_share_sums", grid, parameters);
            }

            runtime.Launch("adakv_share_factor", Launch.Config((uint)kvHeads, 1, BlockSizes.AdakvSingle), parameters);
        }
        RadixGrid.EnqueuePasses(runtime, "adakv_radix_pass", grid, pass => parameters with { PerHead = 0, Pass = pass });
        runtime.Launch("adakv_head_counts", grid, parameters);
        runtime.Launch("adakv_caps", Launch.Config(1, 1, BlockSizes.AdakvSingle), parameters);
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

[KernelParams("adakv.cu"), StructLayout(LayoutKind.Sequential)]
internal struct AdakvParams
{
    public ulong Attention, Factor, Histograms, ShareSums, HeadCounts, Caps, Candidates;
    public int Heads, Prefix, Base, Span, Pass, PerHead, Normalize, FloorKeep, CandidateSpan, Reserved;
    public double KeepShare;
}

[KernelParams("budget.cu"), StructLayout(LayoutKind.Sequential)]
internal struct HeadLengthsParams
{
    public ulong Caps, Status, HeadLens, CuLens;
    public int Heads, UniformCap, Window, Reserved;
}
