using MixKV.Device;
using MixKV.Kernels.Runtime;

namespace MixKV.Tests.Kernels.Support;

/// <summary>A layer's five device outputs, poisoned when allocated: the tests check which bytes a run wrote.</summary>
internal sealed class PoisonedOutputs : IDisposable
{
    private readonly (DeviceRegion Region, string Name)[] regions;

    public PoisonedOutputs(IKernelRuntime runtime, DevicePlan plan, int rowBytes)
    {
        int heads = plan.KvHeads;
        regions =
        [
            (new DeviceRegion(runtime, (long)plan.MaxOutputTokens * rowBytes), "K'"),
            (new DeviceRegion(runtime, (long)plan.MaxOutputTokens * rowBytes), "V'"),
            (new DeviceRegion(runtime, (long)plan.MaxOutputTokens * sizeof(int)), "positions"),
            (new DeviceRegion(runtime, heads * sizeof(int)), "head_lens"),
            (new DeviceRegion(runtime, (heads + 1) * sizeof(int)), "cu_lens"),
        ];
        Layer = new DeviceLayerOutput(regions[0].Region.Pointer, regions[1].Region.Pointer, regions[2].Region.Pointer, regions[3].Region.Pointer, regions[4].Region.Pointer, plan.MaxOutputTokens);
    }

    public DeviceLayerOutput Layer { get; }

    /// <summary>Every byte of the five outputs, in the order K', V', positions, head_lens, cu_lens.</summary>
    public byte[][] Snapshot() => [.. regions.Select(r => r.Region.Span.ToArray())];

    /// <summary>Poisons all five again, for another run over the same buffers.</summary>
    public void Repoison()
    {
        foreach ((DeviceRegion region, _) in regions)
        {
            region.Fill(DeviceRegion.Poison);
        }
    }

    public void AssertNothingWritten(string say)
    {
        foreach ((DeviceRegion region, string name) in regions)
        {
            region.AssertPoisoned(0, region.Bytes, $"{say}: {name} must not be written");
        }
    }

    public void Dispose()
    {
        foreach ((DeviceRegion region, _) in regions)
        {
            region.Dispose();
        }
    }
}
