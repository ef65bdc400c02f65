using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace MixKV.Bench.Shared;

/// <summary>
/// "% of floor": the time the unavoidable work would take at the machine's rate, over the measured
/// mean. CPU suites use the Qw·Kᵀ product (2·Hq·W·N·D FLOP) at this machine's sgemm rate, which only
/// OpenBLAS can measure here: set MIXKV_SGEMM_GFLOPS to the best rate bench/peer/compare.sh prints
/// (its "sgemm 4096^3 fp32: best ..." line); without it the column shows "-" rather than a rate of
/// some other machine (a fixed 200 GFLOP/s, the Zen 4 CI machine's, put this Zen 5's layer at 163 %).
/// GPU suites use two passes over K and one over V at MIXKV_HBM_GBPS, or 3000 GB/s (an H100's copy
/// rate) when unset; bench/gpu-check.sh sets it to the copy rate it measures.
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
        ? "floor = 2*Hq*W*N*D FLOP at MIXKV_SGEMM_GFLOPS (unset: -) over the mean time"
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
            return Rate("MIXKV_SGEMM_GFLOPS") is { } gflops ? flop / gflops : null;
        }

        int elementBytes = benchmarkCase.Parameters.Items.Any(p => p.Name == "Backend" && (string)p.Value == "cuda") ? 2 : 4;
        double bytes = 3.0 * kvHeads * tokens * dim * elementBytes;
        return bytes / (Rate("MIXKV_HBM_GBPS") ?? 3000);
    }

    private static int? Param(BenchmarkCase benchmarkCase, string name) =>
        benchmarkCase.Parameters.Items.FirstOrDefault(p => p.Name == name)?.Value is int value ? value : null;

    /// <summary>The positive rate in the variable (GFLOP/s or GB/s, so work / rate is in ns), else null.</summary>
    private static double? Rate(string variable) =>
        double.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.Float, CultureInfo.InvariantCulture, out double rate) && rate > 0 ? rate : null;
}
