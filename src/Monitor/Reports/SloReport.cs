using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Monitor.Reports;

/// <summary>Which periods a report covers.</summary>
[Flags]
public enum SloReportPeriods
{
    /// <summary>None (invalid for a report).</summary>
    None = 0,

    /// <summary>The calendar month (UTC) to date: from the 1st, 00:00 UTC, to the report time; the budget is the whole month's.</summary>
    MonthToDate = 1,

    /// <summary>The rolling 30 days ending at the report time (Sloth's and our rules' SLO period).</summary>
    Rolling30Days = 2,

    /// <summary>Both periods (the default).</summary>
    Both = MonthToDate | Rolling30Days,
}

/// <summary>One report period.</summary>
/// <param name="Kind"><see cref="SloReportPeriods.MonthToDate"/> or <see cref="SloReportPeriods.Rolling30Days"/>.</param>
/// <param name="Start">First instant of the period (UTC).</param>
/// <param name="End">The report time, the period's last instant (UTC, whole seconds).</param>
/// <param name="BudgetLength">
/// The length the error budget is granted for: the whole calendar month (28 to 31 days) for
/// month to date, 30 days for rolling. Allowed budget time = error budget ratio x this.
/// </param>
public sealed record SloReportPeriod(SloReportPeriods Kind, DateTimeOffset Start, DateTimeOffset End, TimeSpan BudgetLength)
{
    /// <summary>Time covered so far: <c>End - Start</c>.</summary>
    public TimeSpan Elapsed => End - Start;

    /// <summary>A title such as <c>March 2025 to date</c> or <c>30 days to 2025-03-20 12:00 UTC</c>.</summary>
    public string Title => Kind == SloReportPeriods.MonthToDate
        ? Start.ToString("MMMM yyyy", System.Globalization.CultureInfo.InvariantCulture) + " to date"
        : "30 days to " + SloFormat.Time(End);

    /// <summary>The month to date containing <paramref name="at"/> (UTC); at exactly 00:00 on the 1st it is the previous month, complete.</summary>
    /// <param name="at">The report time.</param>
    public static SloReportPeriod MonthToDate(DateTimeOffset at)
    {
        var end = at.ToUniversalTime();
        var start = new DateTimeOffset(end.Year, end.Month, 1, 0, 0, 0, TimeSpan.Zero);
        if (start == end) start = start.AddMonths(-1);
        return new SloReportPeriod(SloReportPeriods.MonthToDate, start, end, start.AddMonths(1) - start);
    }

    /// <summary>The 30 days ending at <paramref name="at"/>.</summary>
    /// <param name="at">The report time.</param>
    public static SloReportPeriod Rolling30Days(DateTimeOffset at)
    {
        var end = at.ToUniversalTime();
        return new SloReportPeriod(SloReportPeriods.Rolling30Days, end - TimeSpan.FromDays(30), end, TimeSpan.FromDays(30));
    }
}

/// <summary>A whole SLO report: every SLO (per series, e.g. per market) over every period.</summary>
/// <param name="At">The report time (end of every period).</param>
/// <param name="GeneratedAt">When the report was built (from the service's <see cref="TimeProvider"/>).</param>
/// <param name="Source">The PromQL API the numbers come from (without user information).</param>
/// <param name="IncidentSource">Name of the <see cref="ISloIncidentSource"/> the incidents come from.</param>
/// <param name="Periods">The periods, month to date first.</param>
/// <param name="Slos">One entry per SLO and series, in spec order, series sorted by labels.</param>
public sealed record SloReport(
    DateTimeOffset At,
    DateTimeOffset GeneratedAt,
    Uri Source,
    string IncidentSource,
    IReadOnlyList<SloReportPeriod> Periods,
    IReadOnlyList<SloReportEntry> Slos);

/// <summary>One SLO, for one series of its SLI (one market of a per-market SLO; the only series otherwise).</summary>
/// <param name="Service">The spec's <c>service</c>.</param>
/// <param name="Slo">The SLO's <c>name</c>.</param>
/// <param name="SlothId">The <c>sloth_id</c>.</param>
/// <param name="Description">The SLO's description (may be empty).</param>
/// <param name="ObjectivePercent">The objective in percent, e.g. 99.95.</param>
/// <param name="Series">
/// The labels of this series as the SLI queries return them (e.g. <c>{market="BTC-USD"}</c>); empty
/// for an SLO with one series, and for an SLO whose queries returned nothing at all.
/// </param>
/// <param name="IsEventsSli">True for an events SLI (error and total queries), false for a raw error-ratio SLI.</param>
/// <param name="Results">One result per report period, in <see cref="SloReport.Periods"/> order.</param>
public sealed record SloReportEntry(
    string Service,
    string Slo,
    string SlothId,
    string Description,
    double ObjectivePercent,
    LabelSet Series,
    bool IsEventsSli,
    IReadOnlyList<SloPeriodResult> Results)
{
    /// <summary>The error budget as a ratio: <c>1 - objective/100</c>.</summary>
    public double ErrorBudgetRatio => (100 - ObjectivePercent) / 100;

    /// <summary>The series for humans: <c>market=BTC-USD</c>, or <c>all</c> when <see cref="Series"/> is empty.</summary>
    public string SeriesText => Series.Count == 0 ? "all" : string.Join(", ", Series.Select(l => $"{l.Key}={l.Value}"));
}

/// <summary>
/// An SLO series over one period. Numbers are null when there was no data (no series, or no events
/// for an events SLI): "no data" is reported as such, never as 100 %.
/// </summary>
/// <param name="Period">The period.</param>
/// <param name="ErrorRatio">
/// Share of bad events over the period (events SLI: bad / total from the spec's queries with
/// <c>{{.window}}</c> = the whole period; raw SLI: its error-ratio query over the period); null for no data.
/// </param>
/// <param name="TotalEvents">Events over the period (events SLIs; null for raw SLIs and no data).</param>
/// <param name="BadEvents">Bad events over the period (events SLIs; null for raw SLIs and no data).</param>
/// <param name="BudgetAllowed">The error budget as time: error budget ratio x <see cref="SloReportPeriod.BudgetLength"/> (e.g. 21.6 min for 99.95 % over 30 days).</param>
/// <param name="BudgetBurned">Budget spent as time: error ratio x elapsed time (for events, the time-equivalent of the bad events at the period's mean traffic); null for no data.</param>
/// <param name="Timeline">Error ratio per step and budget remaining after it, for the charts.</param>
/// <param name="WorstBurns">The highest burn rates of the timeline (at most 3, not adjacent), highest first.</param>
/// <param name="Incidents">Incidents of this series that overlap the period, clipped to it, with the budget each burned.</param>
/// <param name="Step">The timeline step (also the window of each timeline point's error ratio).</param>
public sealed record SloPeriodResult(
    SloReportPeriod Period,
    double? ErrorRatio,
    double? TotalEvents,
    double? BadEvents,
    TimeSpan BudgetAllowed,
    TimeSpan? BudgetBurned,
    IReadOnlyList<SloTimelinePoint> Timeline,
    IReadOnlyList<SloBurnMoment> WorstBurns,
    IReadOnlyList<SloIncidentImpact> Incidents,
    TimeSpan Step)
{
    /// <summary>True when the SLI had data over the period.</summary>
    public bool HasData => ErrorRatio is not null;

    /// <summary>The achieved SLI, <c>1 - error ratio</c> (0..1); null for no data.</summary>
    public double? Achieved => 1 - ErrorRatio;

    /// <summary>Share of the period's budget spent: <c>burned / allowed</c> (above 1 when overspent); null for no data.</summary>
    public double? BudgetBurnedFraction => BudgetBurned is { } b ? b / BudgetAllowed : null;

    /// <summary>Error budget remaining: <c>1 - burned / allowed</c> (negative when overspent); null for no data.</summary>
    public double? BudgetRemainingFraction => 1 - BudgetBurnedFraction;

    /// <summary>Budget left as time: <c>allowed - burned</c> (negative when overspent); null for no data.</summary>
    public TimeSpan? BudgetRemaining => BudgetBurned is { } b ? BudgetAllowed - b : null;

    /// <summary>Burn rate over the period: error ratio / error budget ratio (1 spends exactly the budget over the budget length).</summary>
    public double? BurnRate(double errorBudgetRatio) => ErrorRatio / errorBudgetRatio;

    /// <summary>True when the achieved SLI is at or above the objective.</summary>
    public bool? Met(double objectivePercent) => Achieved is { } a ? a * 100 >= objectivePercent - 1e-12 : null;
}

/// <summary>One point of a period's timeline.</summary>
/// <param name="Time">End of the step (the error ratio covers the step before it).</param>
/// <param name="ErrorRatio">Error ratio over the step; null when the step had no data.</param>
/// <param name="BudgetRemaining">Share of the period's budget left after this step (1 at the start, negative when overspent).</param>
public sealed record SloTimelinePoint(DateTimeOffset Time, double? ErrorRatio, double BudgetRemaining);

/// <summary>A high burn-rate moment.</summary>
/// <param name="Time">End of the window.</param>
/// <param name="Window">The window the error ratio covers (the timeline step).</param>
/// <param name="ErrorRatio">Error ratio over the window.</param>
/// <param name="BurnRate">Error ratio / error budget ratio.</param>
public sealed record SloBurnMoment(DateTimeOffset Time, TimeSpan Window, double ErrorRatio, double BurnRate);

/// <summary>An incident and the error budget it burned within one period.</summary>
/// <param name="Incident">The incident, clipped to the period.</param>
/// <param name="ErrorRatio">Error ratio during the incident; null when the SLI had no data then.</param>
/// <param name="BudgetBurned">Budget burned during the incident as time (same units as <see cref="SloPeriodResult.BudgetBurned"/>); null for no data.</param>
/// <param name="BudgetFraction">Share of the period's allowed budget it burned; null for no data.</param>
public sealed record SloIncidentImpact(SloIncident Incident, double? ErrorRatio, TimeSpan? BudgetBurned, double? BudgetFraction);
