using BenchmarkDotNet.Configs;

namespace MixKV.Bench.Shared;

/// <summary>Adds the "% of floor" column against the sgemm floor to a CPU suite.</summary>
public sealed class RooflineConfig : ManualConfig
{
    public RooflineConfig() => AddColumn(new RooflineColumn(RooflineColumn.Kind.SgemmFloor));
}

/// <summary>Adds the "% of floor" column against the HBM floor to a GPU suite.</summary>
public sealed class HbmRooflineConfig : ManualConfig
{
    public HbmRooflineConfig() => AddColumn(new RooflineColumn(RooflineColumn.Kind.HbmFloor));
}
