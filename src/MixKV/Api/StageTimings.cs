namespace MixKV;

/// <summary>
/// Wall time of each pipeline stage of one layer (the order of spec sections 2–7). Where a backend
/// overlaps stages, the overlapped time counts once, under the stage that leads it: the fast CPU
/// path runs the head statistics (and pooling) beside the window scores, so its
/// <see cref="HeadStats"/> is only the first head's key pass and <see cref="WindowScores"/> the rest.
/// </summary>
public sealed record StageTimings(TimeSpan WindowScores, TimeSpan HeadStats, TimeSpan Mix, TimeSpan Budget, TimeSpan Select, TimeSpan Gather)
{
    public TimeSpan Total => WindowScores + HeadStats + Mix + Budget + Select + Gather;

    public static StageTimings operator +(StageTimings a, StageTimings b) => new(
        a.WindowScores + b.WindowScores,
        a.HeadStats + b.HeadStats,
        a.Mix + b.Mix,
        a.Budget + b.Budget,
        a.Select + b.Select,
        a.Gather + b.Gather);

    public static StageTimings Zero { get; } = new(TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero, TimeSpan.Zero);
}
