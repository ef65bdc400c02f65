using MixKV.Device;
using MixKV.Interop;
using MixKV.Kernels.Runtime;
using MixKV.Options;
using MixKV.Tensors;

namespace MixKV.Kernels;

/// <summary>
/// Queues one layer's whole pipeline on a runtime's stream, stage after stage with no host
/// synchronisation in between: scores, head statistics, mix, capacities, lengths, selection and the
/// gathers of K and V (spec sections 2–7). AdaKV capacities, lengths and positions never leave the
/// device, so the sequence can be captured in a CUDA graph.
/// </summary>
internal static class KernelPipeline
{
    /// <summary>Stage boundaries, for callers that time stages (they synchronise between them).</summary>
    public enum Stage
    {
        WindowScores,
        HeadStats,
        Mix,
        Budget,
        Select,
        Gather,
    }

    /// <summary>
    /// MIXKV_KEY_STATS_IN_RUNS=0 sends every layer's K statistics to head_token_stats (a third pass
    /// over K), for timing the run kernels' share of them against it on a GPU (bench/gpu-check.sh).
    /// </summary>
    private static readonly bool KeyStatisticsInRuns = Environment.GetEnvironmentVariable("MIXKV_KEY_STATS_IN_RUNS") != "0";

    /// <param name="uploadConstants">
    /// False when <see cref="UploadConstants"/> already ran for this plan and workspace: a graph capture
    /// uploads first, since a host copy cannot be recorded.
    /// </param>
    public static void Enqueue(IKernelRuntime runtime, DevicePlan plan, DeviceTensor keys, DeviceTensor values, DeviceTensor queries, DeviceLayerOutput output, DevicePointer workspace, bool scores, Action<Stage>? afterStage = null, bool uploadConstants = true)
    {
        if (uploadConstants)
        {
            UploadConstants(runtime, plan, workspace, scores);
        }

        DevicePointer? status = EnqueueSelection(runtime, plan, keys, values, queries, new DeviceSelection(output.Positions, output.HeadLens, output.CuLens, output.CapacityTokens), workspace, scores, afterStage);
        Gather.EnqueuePairFromCache(runtime, keys, values, output.Positions, output.HeadLens, output.CuLens, plan.MaxRowsPerHead, output.Keys, output.Values, status);
        afterStage?.Invoke(Stage.Gather);
    }

    /// <summary>
    /// In place: the selection, then for K and V a gather into <paramref name="staging"/> (one
    /// compressed cache's worth) and the copy back over the front of the caller's buffer — each head's
    /// own region (dense) or packed [T, D] from the view's start (flattened). The staging is what keeps
    /// the source rows readable until every kept row is gathered.
    /// </summary>
    public static void EnqueueInPlace(IKernelRuntime runtime, DevicePlan plan, DeviceTensor keys, DeviceTensor values, DeviceTensor queries, DeviceSelection selection, OutputLayout layout, DevicePointer workspace, DevicePointer staging)
    {
        UploadConstants(runtime, plan, workspace, scores: false);
        DevicePointer? status = EnqueueSelection(runtime, plan, keys, values, queries, selection, workspace, scores: false);
        int rowBytes = keys.Dim * keys.DType.Size();
        foreach (DeviceTensor cache in new[] { keys, values })
        {
            Gather.EnqueueFromCache(runtime, cache, selection.Positions, selection.HeadLens, selection.CuLens, plan.MaxRowsPerHead, staging, status: status);
            Gather.EnqueueFromPacked(runtime, plan.KvHeads, rowBytes, staging, selection.HeadLens, selection.CuLens, plan.MaxRowsPerHead, cache.Pointer, layout == OutputLayout.Dense ? cache : null, status);
        }
    }

    /// <summary>
    /// What the pipeline reads from the host, copied into the workspace ahead of the launches: the
    /// layer's row of the offline redundancy table, when the options give one and the head statistics
    /// run (<paramref name="scores"/> as for <see cref="EnqueueSelection"/>).
    /// </summary>
    public static void UploadConstants(IKernelRuntime runtime, DevicePlan plan, DevicePointer workspace, bool scores)
    {
        if (plan.Options.Redundancy is { } table && RunsHeadStats(plan, scores))
        {
            KernelWorkspace ws = KernelWorkspace.At(workspace, plan.QueryHeads, plan.KvHeads, plan.Tokens, plan.HeadDim, plan.Window);
            float[] row = Enumerable.Range(0, plan.KvHeads).Select(h => (float)table[plan.Layer.Index, h]).ToArray();
            runtime.CopyToDevice(System.Runtime.InteropServices.MemoryMarshal.AsBytes(row.AsSpan()), ws.OfflineRedundancy);
        }
    }

    /// <summary>
    /// Every stage up to selection (after <see cref="UploadConstants"/>): head_lens, cu_lens and positions written, no rows moved. With
    /// CheckFinite on, K, V and the window are checked before any kernel that writes the caller's
    /// buffers (K and V inside head_token_stats when the head statistics run); returns the status
    /// word the writing kernels must honour (null when unchecked).
    /// </summary>
    public static DevicePointer? EnqueueSelection(IKernelRuntime runtime, DevicePlan plan, DeviceTensor keys, DeviceTensor values, DeviceTensor queries, DeviceSelection output, DevicePointer workspace, bool scores, Action<Stage>? afterStage = null)
    {
        KernelWorkspace ws = KernelWorkspace.At(workspace, plan.QueryHeads, plan.KvHeads, plan.Tokens, plan.HeadDim, plan.Window);
        DeviceTensor window = plan.WindowRowsOf(queries);
        DevicePointer? status = null;
        bool headStats = RunsHeadStats(plan, scores);
        // The run kernels take the K statistics from the tiles they stage: K is then read twice (the
        // floor's count), and the head statistics read only V. window_run_stats then also checks the
        // window rows it holds, in place of a check_finite launch.
        bool keysInRuns = headStats && KeyStatisticsInRuns && WindowScores.UsesRuns(keys.DType, keys.Dim, plan.QueryHeads / plan.KvHeads * plan.Window, plan.Window);
        bool checkQueries = plan.Options.CheckFinite && plan.Window > 0 && plan.ReadsWindow;
        if (plan.Options.CheckFinite)
        {
            runtime.Fill(ws.Status, 0, sizeof(int));
            if (!headStats)
            {
                // Otherwise the passes over K and V check them as they read them: head_token_stats, or
                // window_run_stats for K and head_value_stats for V.
                Validate.EnqueueCheckFinite(runtime, keys, ws.Status, DeviceRejection.NonFiniteKeys);
                Validate.EnqueueCheckFinite(runtime, values, ws.Status, DeviceRejection.NonFiniteValues);
            }

            if (checkQueries && !keysInRuns)
            {
                Validate.EnqueueCheckFinite(runtime, window, ws.Status, DeviceRejection.NonFiniteQueries);
            }

            status = ws.Status;
        }

        if (headStats)
        {
            // A is pooled by mix_partials as it reads it (one launch fewer than window_pool).
            WindowScores.Enqueue(runtime, keys, window, plan.Options, ws, keyStatistics: keysInRuns ? new WindowScores.KeyStatistics(status, checkQueries) : null, pool: false);
            afterStage?.Invoke(Stage.WindowScores);
            if (keysInRuns)
            {
                HeadStats.EnqueueValues(runtime, values, plan.Prefix, ws, status);
            }
            else
            {
                HeadStats.Enqueue(runtime, keys, values, plan.Prefix, ws, keyPartialsWritten: WindowScores.UsesTiles(keys.DType, keys.Dim), status: status);
            }

            afterStage?.Invoke(Stage.HeadStats);
            DevicePointer redundancy = plan.Options.Redundancy is null ? ws.OnlineRedundancy : ws.OfflineRedundancy;

            Mix.Enqueue(runtime, plan.KvHeads, plan.Prefix, plan.Options.Score, redundancy, ws, poolFrom: plan.Options);
            afterStage?.Invoke(Stage.Mix);
        }

        DevicePointer? deviceCaps = null;
        if (plan.DeviceCaps)
        {
            Budget.EnqueueAdaKV(runtime, plan.KvHeads, plan.Prefix, plan.Options.Budget - plan.Options.Window, plan.Options, ws);
            deviceCaps = ws.Caps;
        }

        afterStage?.Invoke(Stage.Budget);
        // The lengths too: a uniform cap's candidate form writes them in its merge, saving a launch.
        Select.Enqueue(runtime, plan.KvHeads, plan.Prefix, plan.Window, ws.Scores, deviceCaps, plan.UniformCap, output.CuLens, output.Positions, ws.SelectScratch, status, headLens: output.HeadLens);
        afterStage?.Invoke(Stage.Select);
        return status;
    }

    private static bool RunsHeadStats(DevicePlan plan, bool scores) => plan.Prefix > 0 && (plan.Compressed || scores);
}
