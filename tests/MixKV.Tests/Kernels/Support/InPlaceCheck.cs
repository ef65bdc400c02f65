using MixKV.Device;
using MixKV.Options;
using MixKV.Tensors;
using MixKV.Tests.Support;
using NUnit.Framework;
using Ref = MixKV.Reference;

namespace MixKV.Tests.Kernels.Support;

/// <summary>EnqueueInPlace on the emulated backend against the reference's in-place result.</summary>
internal static class InPlaceCheck
{
    /// <summary>
    /// Uploads <paramref name="data"/> in <paramref name="layout"/>, compresses it in place into
    /// <paramref name="output"/>, and asserts positions, lengths and the whole K and V buffers equal the
    /// reference's in-place call on the same layer, byte for byte; returns the plan it ran.
    /// </summary>
    public static DevicePlan AssertMatchesReference(KernelBackend backend, LayerData data, TensorLayout layout, CompressionOptions options, LayerPosition layer, OutputLayout output, string say)
    {
        StoredLayer expected = data.Store(layout);
        KeptTokens kept = new Ref.ReferenceCompressor().CompressInPlace(expected.Inputs, options, layer, output);

        DevicePlan plan = backend.Plan(data.QueryHeads, data.KvHeads, data.Tokens, data.Dim, options, layer);
        using var keys = DeviceInputs.Upload(backend.Runtime, data.Keys, data.DType, layout, out DeviceTensor keyTensor);
        using var values = DeviceInputs.Upload(backend.Runtime, data.Values, data.DType, layout, out DeviceTensor valueTensor);
        using var queries = DeviceInputs.Upload(backend.Runtime, data.Queries, data.DType, layout, out DeviceTensor queryTensor);
        using var positions = new DeviceRegion(backend.Runtime, (long)plan.MaxOutputTokens * sizeof(int));
        using var headLens = new DeviceRegion(backend.Runtime, data.KvHeads * sizeof(int));
        using var cuLens = new DeviceRegion(backend.Runtime, (data.KvHeads + 1) * sizeof(int));
        using var workspace = new DeviceRegion(backend.Runtime, plan.WorkspaceBytes);
        using var staging = new DeviceRegion(backend.Runtime, KernelBackend.InPlaceStagingBytes(plan, data.DType));
        var selection = new DeviceSelection(positions.Pointer, headLens.Pointer, cuLens.Pointer, plan.MaxOutputTokens);

        backend.EnqueueInPlace(plan, keyTensor, valueTensor, queryTensor, selection, output, workspace.Pointer, workspace.Bytes, staging.Pointer, staging.Bytes);
        backend.Runtime.Synchronize();

        Assert.That(headLens.Read<int>(data.KvHeads), Is.EqualTo(kept.HeadLens), $"{say}: head_lens");
        Assert.That(positions.Read<int>(kept.TotalTokens), Is.EqualTo(kept.Positions), $"{say}: positions");
        Assert.That(keys.Span.ToArray(), Is.EqualTo(DeviceInputs.Body(expected.Keys.View)), $"{say}: K after the in-place compression");
        Assert.That(values.Span.ToArray(), Is.EqualTo(DeviceInputs.Body(expected.Values.View)), $"{say}: V after the in-place compression");
        keys.AssertGuardsIntact($"{say}: K");
        values.AssertGuardsIntact($"{say}: V");
        return plan;
    }
}
