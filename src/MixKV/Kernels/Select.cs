using System.Runtime.InteropServices;
using MixKV.Interop;
using MixKV.Kernels.Runtime;

namespace MixKV.Kernels;

/// <summary>
/// Launcher of the per-head top-k in ascending position order (spec section 6), in one of two forms:
/// kernels/select.cu's grid form (four radix passes over a grid, span counts, writes: six launches and
/// a fill, after head_lengths), for every cap; or kernels/select_candidates.cu (a span's top cap per
/// block, then one block per head merges them: two launches; for a uniform cap the merge writes the
/// lengths too) when the merge holds every head's candidates, taken where it was measured faster
/// (<see cref="FormFor"/>).
/// </summary>
internal static class Select
{
    /// <summary>The two forms; <see cref="Enqueue"/> picks with <see cref="FormFor"/> unless told.</summary>
    public enum Form
    {
        /// <summary>kernels/select.cu: every cap, device caps included.</summary>
        Grid,

        /// <summary>kernels/select_candidates.cu: caps whose candidates fit <see cref="MergeCapacity"/> (<see cref="FormFor"/>).</summary>
        Candidates,
    }

    /// <summary>Positions per select_span_candidates block: 256 threads of MIXKV_SPAN_KEYS (16) keys.</summary>
    public const int CandidateSpan = BlockSizes.RadixGrid * 16;

    /// <summary>Candidates select_merge holds for one head: 256 threads of MIXKV_MERGE_KEYS (32).</summary>
    public const int MergeCapacity = BlockSizes.RadixGrid * 32;

    /// <summary>How <see cref="FormFor"/> chooses; MIXKV_SELECT=grid or =candidates sets it (bench/gpu-check.sh times all three).</summary>
    public enum Preference
    {
        /// <summary>The faster form where it was measured (<see cref="FormFor"/>).</summary>
        Measured,

        /// <summary>The grid form for every layer.</summary>
        Grid,

        /// <summary>The candidate form wherever it can take the caps.</summary>
        Candidates,
    }

    /// <summary>
    /// Candidates per head up to which a uniform cap takes the candidate form by default. One block
    /// per head merges them, so the merge grows with their number: on an H100 the candidate form was
    /// the faster at 224 candidates (N 4K: 0.066 against 0.078 ms as a graph) and 1792 (N 32K: 0.206
    /// against 0.209), the slower at 7168 (N 128K: 0.634 against 0.631; bench/results/gpu-2026-11-27.md,
    /// call 7), though by less than one configuration's spread (call 8). The limit is a span's worth,
    /// between the last two.
    /// </summary>
    public const int FasterCandidates = CandidateSpan;

    /// <summary>The preference MIXKV_SELECT gives (grid, candidates), else <see cref="Preference.Measured"/>.</summary>
    public static readonly Preference Preferred = Environment.GetEnvironmentVariable("MIXKV_SELECT") switch
    {
        "grid" => Preference.Grid,
        "candidates" => Preference.Candidates,
        _ => Preference.Measured,
    };

    /// <summary>
    /// The candidates the merge of one head ranks at cap <paramref name="cap"/>: each span's top
    /// min(cap, its length); none for a cap of 0 or P and above, which the merge writes without them.
    /// </summary>
    public static long CandidateCount(int prefix, int cap)
    {
        if (cap <= 0 || cap >= prefix)
        {
            return 0;
        }

        int lastSpan = (prefix - 1) / CandidateSpan;
        return ((long)lastSpan * Math.Min(cap, CandidateSpan)) + Math.Min(cap, prefix - (lastSpan * CandidateSpan));
    }

    /// <summary>Whether the merge holds the candidates of a uniform cap.</summary>
    public static bool CandidatesFit(int prefix, int uniformCap) => CandidateCount(prefix, uniformCap) <= MergeCapacity;

    /// <summary>
    /// Whether the candidate form can take the caps: the merge holds every head's candidates, a uniform
    /// cap's (SnapKV, PyramidKV) by <see cref="CandidatesFit"/>; device caps (AdaKV), which the host
    /// does not know but which never pass P, only while P itself fits.
    /// </summary>
    public static bool CandidatesTake(int prefix, bool deviceCaps, int uniformCap) =>
        deviceCaps ? prefix <= MergeCapacity : CandidatesFit(prefix, uniformCap);

    /// <summary>
    /// The form <see cref="Enqueue"/> launches when not told (<paramref name="preference"/>, else
    /// <see cref="Preferred"/>). Measured: a uniform cap takes the candidate form when it can and its
    /// head's candidates number at most <see cref="FasterCandidates"/>;
    /// device caps (AdaKV) take it while P fits the merge (N 4K on the H100: 0.108 against 0.123 ms as
    /// a graph, with <see cref="SharesFormFor"/>).
    /// </summary>
    public static Form FormFor(int prefix, bool deviceCaps, int uniformCap, Preference? preference = null)
    {
        if (!CandidatesTake(prefix, deviceCaps, uniformCap))
        {
            return Form.Grid;
        }

        return (preference ?? Preferred) switch
        {
            Preference.Grid => Form.Grid,
            Preference.Candidates => Form.Candidates,
            _ => deviceCaps || CandidateCount(prefix, uniformCap) <= FasterCandidates ? Form.Candidates : Form.Grid,
        };
    }

    /// <summary>
    /// The form of AdaKV's shares (each head's top <paramref name="baseCap"/>; Budget.EnqueueAdaKV).
    /// Measured: the AdaKV selection's own (<see cref="FormFor"/> with device caps), as past P = 8192
    /// the shares' candidates alone were no faster than the grid's passes (N 32K and 128K on the H100:
    /// 0.260 against 0.257 ms, 0.693 against 0.684, call 7; within a run's spread, call 8); otherwise a
    /// uniform cap of base's.
    /// </summary>
    public static Form SharesFormFor(int prefix, int baseCap, Preference? preference = null) =>
        FormFor(prefix, deviceCaps: (preference ?? Preferred) == Preference.Measured, baseCap, preference);

    /// <summary>
    /// Bytes of the scratch <see cref="Enqueue"/> needs, for either form: the grid form's radix
    /// histograms and span counts [Hkv, spans, 2], or the candidate form's positions [Hkv, P].
    /// </summary>
    public static long ScratchBytes(int kvHeads, int prefix) =>
        Math.Max(HistogramBytes(kvHeads) + (2L * kvHeads * RadixGrid.Blocks(prefix) * sizeof(int)), (long)kvHeads * prefix * sizeof(int));

    /// <param name="cuLens">[Hkv + 1]: the heads' offsets into <paramref name="positions"/>, read; or, given <paramref name="headLens"/>, written.</param>
    /// <param name="scratch"><see cref="ScratchBytes"/> bytes of device memory, 4-byte aligned; its contents need not be set.</param>
    /// <param name="form">The form to launch; null picks it (<see cref="FormFor"/>). Candidates needs caps that fit, as FormFor says.</param>
    /// <param name="headLens">
    /// [Hkv], or null when budget.cu's head_lengths already wrote <paramref name="cuLens"/>. Given, the
    /// selection writes the lengths cap_h + W and cu_lens first, as head_lengths does: the candidate
    /// form of a uniform cap in its merge (one launch fewer), otherwise by launching head_lengths.
    /// </param>
    public static void Enqueue(IKernelRuntime runtime, int kvHeads, int prefix, int window, DevicePointer scores, DevicePointer? deviceCaps, int uniformCap, DevicePointer cuLens, DevicePointer positions, DevicePointer scratch, DevicePointer? status = null, Form? form = null, DevicePointer? headLens = null)
    {
        Form chosen = form ?? FormFor(prefix, deviceCaps is not null, uniformCap);
        if (chosen == Form.Candidates)
        {
            if (!CandidatesTake(prefix, deviceCaps is not null, uniformCap))
            {
                throw new ArgumentException($"the candidate form needs caps whose candidates fit {MergeCapacity} (P {prefix}, {(deviceCaps is null ? $"cap {uniformCap}" : "device caps, up to P")})", nameof(form));
            }

            if (deviceCaps is not null && headLens is { } deviceLengths)
            {
                // Only a host cap gives the merge the offsets without cu_lens.
                Budget.EnqueueHeadLengths(runtime, kvHeads, deviceCaps, uniformCap, window, deviceLengths, cuLens, status);
                headLens = null;
            }

            EnqueueCandidates(runtime, kvHeads, prefix, window, scores, deviceCaps, uniformCap, cuLens, headLens, positions, scratch, status);
            return;
        }

        if (headLens is { } lengths)
        {
            Budget.EnqueueHeadLengths(runtime, kvHeads, deviceCaps, uniformCap, window, lengths, cuLens, status);
        }

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

    private static void EnqueueCandidates(IKernelRuntime runtime, int kvHeads, int prefix, int window, DevicePointer scores, DevicePointer? deviceCaps, int uniformCap, DevicePointer cuLens, DevicePointer? headLens, DevicePointer positions, DevicePointer scratch, DevicePointer? status)
    {
        CandidateSelectParams parameters = SpanParams(prefix, scores, uniformCap, scratch) with
        {
            Caps = deviceCaps?.Address ?? 0,
            CuLens = cuLens.Address,
            HeadLens = headLens?.Address ?? 0,
            Positions = positions.Address,
            Status = status?.Address ?? 0,
            Window = window,
        };
        runtime.Launch("select_span_candidates", SpanGrid(kvHeads, prefix), parameters);
        runtime.Launch("select_merge", Launch.Config(1, (uint)kvHeads, BlockSizes.RadixGrid), parameters);
    }

    /// <summary>
    /// select_span_candidates alone over <paramref name="scores"/> [Hkv, P] at one cap, for a merge of
    /// the caller's (kernels/adakv.cu's shares): each span's top cap into <paramref name="scratch"/>
    /// ([Hkv, P] ints; none when cap is 0 or P), and each span's sum of its scores into
    /// <paramref name="spanSums"/> ([Hkv, <see cref="CandidateSpans"/>] floats).
    /// </summary>
    public static void EnqueueSpanCandidates(IKernelRuntime runtime, int kvHeads, int prefix, DevicePointer scores, int cap, DevicePointer scratch, DevicePointer spanSums) =>
        runtime.Launch("select_span_candidates", SpanGrid(kvHeads, prefix), SpanParams(prefix, scores, cap, scratch) with { SpanSums = spanSums.Address });

    /// <summary>select_span_candidates' blocks over one head of <paramref name="prefix"/> scores (one when P is 0).</summary>
    public static int CandidateSpans(int prefix) => Math.Max(1, (prefix + CandidateSpan - 1) / CandidateSpan);

    /// <summary>What select_span_candidates reads: the scores, one cap, where the candidates go.</summary>
    private static CandidateSelectParams SpanParams(int prefix, DevicePointer scores, int cap, DevicePointer scratch) => new()
    {
        Scores = scores.Address,
        Candidates = scratch.Address,
        Prefix = prefix,
        UniformCap = cap,
        Span = CandidateSpan,
    };

    private static LaunchConfig SpanGrid(int kvHeads, int prefix) => Launch.Config((uint)CandidateSpans(prefix), (uint)kvHeads, BlockSizes.RadixGrid);

    private static long HistogramBytes(int kvHeads) => (long)kvHeads * RadixGrid.HistogramWords * sizeof(uint);
}

[KernelParams("select.cu"), StructLayout(LayoutKind.Sequential)]
internal struct SelectParams
{
    public ulong Scores, Caps, CuLens, Positions, Status, Histograms, SpanCounts;
    public int Prefix, Window, UniformCap, Span, Pass, Reserved;
}

[KernelParams("select_candidates.cu"), StructLayout(LayoutKind.Sequential)]
internal struct CandidateSelectParams
{
    public ulong Scores, Caps, CuLens, HeadLens, Positions, Status, Candidates, SpanSums;
    public int Prefix, Window, UniformCap, Span;
}
