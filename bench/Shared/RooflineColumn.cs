using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace MixKV.Bench.Shared;

/// <summary>
/// "% of floor": the time the unavoidable work would take at the machine's rate, over the measured
/// mean. CPU suites use the Qw·Kᵀ product (2·Hq·W·N·D FLOP) at the sgemm rate of this machine
/// (MIXKV_SGEMM_GFLOPS; bench/peer/compare.sh measures it, 200 GFLOP/s on the 2-core CI machine);
/// GPU suites use two passes over K and one over V at MIXKV_HBM_GBPS (3000 GB/s, an H100's copy rate).
/// The floor itself is printed in its own column, so the ratio can be checked by hand.
/// </summary>
public sealed class RooflineColumn(RooflineColumn.Kind kind) : IColumn
{
    public enum Kind
    {
        SgemmFloor,
        HbmFloor,
    }

    public string Id => $"{nameof(RooflineColumn)}.{kind}";

    public string ColumnName => "% of floor";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => kind == Kind.SgemmFloor
        ? "floor = 2*Hq*W*N*D FLOP at MIXKV_SGEMM_GFLOPS (default 200) over the mean time"
        : "floor = (2 passes over K + 1 over V) bytes at MIXKV_HBM_GBPS (default 3000) over the mean time";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? floorNs = FloorNanoseconds(benchmarkCase);
        double? mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (floorNs is null || mean is null or 0)
        {
            return "-";
        }

        return (100.0 * floorNs.Value / mean.Value).ToString("F1", CultureInfo.InvariantCulture) + " %";
    }

    private double? FloorNanoseconds(BenchmarkCase benchmarkCase)
    {
        int tokens = Param(benchmarkCase, "Tokens") ?? 0;
        if (tokens == 0)
        {
            return null;
        }

        const int queryHeads = 32, kvHeads = 8, dim = 128, window = 32;
        if (kind == Kind.SgemmFloor)
        {
            double flop = 2.0 * queryHeads * window * tokens * dim;
            return flop / (Rate("MIXKV_SGEMM_GFLOPS", 200) * 1e9) * 1e9;
        }

        int elementBytes = benchmarkCase.Parameters.Items.Any(p => p.Name == "Backend" && (string)p.Value == "cuda") ? 2 : 4;
        double bytes = 3.0 * kvHeads * tokens * dim * elementBytes;
        return bytes / (Rate("MIXKV_HBM_GBPS", 3000) * 1e9) * 1e9;
    }

    private static int? Param(BenchmarkCase benchmarkCase, string name) =>
        benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == name)?.Value is int value ? value : null;

    private static double Rate(string variable, double fallback) =>
        double.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.Float, CultureInfo.InvariantCulture, out double rate) && rate > 0 ? rate : fallback;
}
