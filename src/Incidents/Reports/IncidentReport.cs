using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Incidents.Reports;

/// <summary>
/// A post-incident report: everything <see cref="IncidentReportMarkdown"/> and
/// <see cref="IncidentReportHtml"/> print, built by <see cref="IncidentReportBuilder"/>. Figures that
/// could not be computed (Prometheus unreachable, a query refused, no data) carry the reason
/// instead of a number; the report itself always exists.
/// </summary>
/// <param name="Details">The incident with its alerts, timeline (sorted by time) and follow-ups, as given.</param>
/// <param name="GeneratedAt">When the report was built (the builder's clock).</param>
/// <param name="PrometheusSource">The PromQL API queried (without user information); null when none was configured.</param>
/// <param name="Window">The impact window.</param>
/// <param name="Durations">TTD, TTA, TTM, TTR in that order.</param>
/// <param name="Markers">Fault, first firing, acknowledgement, mitigation and resolution times, in time order.</param>
/// <param name="Budgets">Error budget burned per SLO and series, in spec order.</param>
/// <param name="Charts">The SLI charts: one per SLO, then order-ack latency p99 and command rate.</param>
/// <param name="Period">The SLO period the budget is granted for (default 30 days, Sloth's).</param>
/// <param name="Problems">Report-level problems in plain sentences (e.g. "Prometheus at … was unreachable: …"); empty when every figure is there.</param>
public sealed record IncidentReport(
    IncidentDetails Details,
    DateTimeOffset GeneratedAt,
    Uri? PrometheusSource,
    IncidentImpactWindow Window,
    IReadOnlyList<IncidentDuration> Durations,
    IReadOnlyList<IncidentMarker> Markers,
    IReadOnlyList<SloBudgetBurn> Budgets,
    IReadOnlyList<IncidentChart> Charts,
    TimeSpan Period,
    IReadOnlyList<string> Problems)
{
    /// <summary>The duration named <paramref name="name"/> (<c>TTD</c>, <c>TTA</c>, <c>TTM</c>, <c>TTR</c>).</summary>
    /// <exception cref="InvalidOperationException">No such duration.</exception>
    public IncidentDuration Duration(string name) => Durations.First(d => d.Name == name);
}

/// <summary>How the impact window ends.</summary>
public enum ImpactWindowEnd
{
    /// <summary>At <see cref="Model.Incident.MitigatedAt"/>.</summary>
    Mitigated,

    /// <summary>At <see cref="Model.Incident.ResolvedAt"/> (resolved without a mitigation time).</summary>
    Resolved,

    /// <summary>At the report time: the impact had not stopped when the report was built.</summary>
    Ongoing,
}

/// <summary>
/// The impact window: <c>started → (mitigated ?? resolved ?? now)</c>, the span the budget burned is
/// measured over and the charts center on.
/// </summary>
/// <param name="Start">The incident's <see cref="Model.Incident.StartedAt"/>.</param>
/// <param name="End">Mitigated, else resolved, else the report time; never before <paramref name="Start"/>.</param>
/// <param name="EndKind">Which of those <paramref name="End"/> is.</param>
public sealed record IncidentImpactWindow(DateTimeOffset Start, DateTimeOffset End, ImpactWindowEnd EndKind)
{
    /// <summary><c>End - Start</c>.</summary>
    public TimeSpan Length => End - Start;
}

/// <summary>
/// One of the incident response durations. Definitions (also printed in the report's footer):
/// TTD = detected − started; TTA = acknowledged − detected; TTM = mitigated − started;
/// TTR = resolved − started.
/// </summary>
/// <param name="Name"><c>TTD</c>, <c>TTA</c>, <c>TTM</c> or <c>TTR</c>.</param>
/// <param name="Title">E.g. <c>Time to detect</c>.</param>
/// <param name="Definition">E.g. <c>detected − started</c>.</param>
/// <param name="From">Its start time, when known.</param>
/// <param name="To">Its end time, when known.</param>
/// <param name="Value"><c>To - From</c> (negative when the timeline says so, e.g. acknowledged before any alert fired); null when either is unknown.</param>
/// <param name="Missing">Why <paramref name="Value"/> is null (e.g. <c>not acknowledged</c>); null when it is known.</param>
public sealed record IncidentDuration(string Name, string Title, string Definition, DateTimeOffset? From, DateTimeOffset? To, TimeSpan? Value, string? Missing);

/// <summary>What an <see cref="IncidentMarker"/> marks.</summary>
public enum IncidentMarkerKind
{
    /// <summary>An engine fault event (timeline source <c>engine</c>, kind <c>engine.fault.*</c>).</summary>
    Fault,

    /// <summary>The first firing of an alert (detection).</summary>
    Firing,

    /// <summary>The first acknowledgement.</summary>
    Acknowledged,

    /// <summary>The impact stopped.</summary>
    Mitigated,

    /// <summary>Resolved.</summary>
    Resolved,
}

/// <summary>A time marked on every chart.</summary>
/// <param name="Kind">What it marks.</param>
/// <param name="At">When.</param>
/// <param name="Label">Short label drawn at the line (e.g. <c>fault injected</c>, <c>firing</c>, <c>ack</c>).</param>
/// <param name="Description">Longer text (the tooltip): the event's text, who acknowledged, ….</param>
public sealed record IncidentMarker(IncidentMarkerKind Kind, DateTimeOffset At, string Label, string Description)
{
    /// <summary>The lowercase kind name used as CSS class and <c>data-kind</c>: <c>fault</c>, <c>firing</c>, <c>acknowledged</c>, <c>mitigated</c>, <c>resolved</c>.</summary>
    public string KindName => Kind.ToString().ToLowerInvariant();
}

/// <summary>Where an SLO's error ratio during the incident came from.</summary>
public enum SliDataSource
{
    /// <summary>Nothing: Prometheus unreachable, every query refused, or no series.</summary>
    None,

    /// <summary>The spec's own queries (<c>error_query</c>/<c>total_query</c>, or <c>error_ratio_query</c>) with <c>{{.window}}</c> = the step.</summary>
    SpecQueries,

    /// <summary>The generated recording rule <c>slo:sli_error:ratio_rate5m</c> (used when the spec's queries return no series).</summary>
    RecordingRule,
}

/// <summary>
/// The error budget one SLO series burned during the impact window.
/// </summary>
/// <remarks>
/// Budget burned = bad events in the window / bad events the SLO allows over its period ≈
/// error ratio over the window × window length / ((1 − objective) × period). The error ratio comes
/// from a range query over the window whose steps tile it exactly (step = window / n, about one
/// minute, with <c>{{.window}}</c> = the step): for an events SLI it is Σ error rate / Σ total rate
/// over the steps (bad / all events in the window, so the window's own traffic weighs it); for a
/// raw SLI and for the recording rule it is the mean of the per-step ratios (time-weighted).
/// </remarks>
/// <param name="Service">The spec's <c>service</c>.</param>
/// <param name="Slo">The SLO's <c>name</c>.</param>
/// <param name="SlothId">The <c>sloth_id</c>.</param>
/// <param name="ObjectivePercent">The objective, e.g. 99.95.</param>
/// <param name="Series">The series' labels (e.g. <c>{market="BTC-USD"}</c>); empty for an SLO with one series or without data.</param>
/// <param name="Affected">True when the series is one of the incident's markets (or the SLO has no market label); false for another market that burned budget too.</param>
/// <param name="Source">Where the numbers came from.</param>
/// <param name="Query">The query or queries run (PromQL as sent), for the reader to reproduce; empty when none ran.</param>
/// <param name="Step">The range query's step (also the SLI window), when a query ran.</param>
/// <param name="ErrorRatio">Error ratio over the window (0..1); null when missing.</param>
/// <param name="BadEvents">Bad events in the window (events SLIs from the spec's queries); null otherwise.</param>
/// <param name="TotalEvents">All events in the window (events SLIs from the spec's queries); null otherwise.</param>
/// <param name="BudgetBurned">Share of the period's error budget burned (1 = all of it); null when missing.</param>
/// <param name="BudgetBurnedTime">The same as time at full outage: error ratio × window length (the budget is (1 − objective) × period of it); null when missing.</param>
/// <param name="BudgetAllowed">The whole period's budget as time: (1 − objective) × period.</param>
/// <param name="Coverage">Share of the window's steps that had data (1 = all); null when missing.</param>
/// <param name="Missing">Why the numbers are missing (e.g. <c>Prometheus unreachable: …</c>, <c>no data: …</c>); null when present.</param>
public sealed record SloBudgetBurn(
    string Service,
    string Slo,
    string SlothId,
    double ObjectivePercent,
    LabelSet Series,
    bool Affected,
    SliDataSource Source,
    string Query,
    TimeSpan? Step,
    double? ErrorRatio,
    double? BadEvents,
    double? TotalEvents,
    double? BudgetBurned,
    TimeSpan? BudgetBurnedTime,
    TimeSpan BudgetAllowed,
    double? Coverage,
    string? Missing)
{
    /// <summary>Mean burn rate over the window: error ratio / (1 − objective); 1 spends the budget exactly over the period.</summary>
    public double? BurnRate => ErrorRatio / ((100 - ObjectivePercent) / 100);

    /// <summary>The series for humans: <c>market=BTC-USD</c>, or <c>all</c>.</summary>
    public string SeriesText => Series.Count == 0 ? "all" : string.Join(", ", Series.Select(l => $"{l.Key}={l.Value}"));
}

/// <summary>What an <see cref="IncidentChart"/> shows.</summary>
public enum IncidentChartKind
{
    /// <summary>One SLO's error ratio per series (percent) with its error budget as a threshold line.</summary>
    SloErrorRatio,

    /// <summary>Order-acknowledgement latency p99 (milliseconds).</summary>
    AckLatencyP99,

    /// <summary>Commands received per second.</summary>
    CommandRate,
}

/// <summary>
/// One SLI chart over <c>[window start − margin, window end + margin]</c> (margin = the configured
/// margin, at least 25 % of the window; the end is never after the report time), with the
/// <see cref="IncidentReport.Markers"/> inside that range.
/// </summary>
/// <param name="Id">Stable id, lowercase letters, digits and <c>-</c>: <c>slo-&lt;sloth_id&gt;</c>, <c>ack-latency-p99</c>, <c>command-rate</c>. Names the HTML figure and the Markdown's SVG file.</param>
/// <param name="Kind">What it shows.</param>
/// <param name="Title">Title (also the SVG's accessible name).</param>
/// <param name="SlothId">The SLO's <c>sloth_id</c> for <see cref="IncidentChartKind.SloErrorRatio"/>; null otherwise.</param>
/// <param name="From">Left end of the time axis.</param>
/// <param name="To">Right end of the time axis.</param>
/// <param name="Step">Resolution of the range query.</param>
/// <param name="Query">The PromQL run.</param>
/// <param name="Series">Lines: (name, points in the chart's unit); a null value is a gap.</param>
/// <param name="Threshold">A horizontal threshold in the chart's unit (the SLO's error budget ratio in percent), or null.</param>
/// <param name="ThresholdLabel">Its label.</param>
/// <param name="Unit">Unit of the y values: <c>%</c>, <c>ms</c>, <c>/s</c>.</param>
/// <param name="Source">For SLO charts, which SLI data the chart shows; <see cref="SliDataSource.SpecQueries"/> for the fixed queries.</param>
/// <param name="Missing">Why there is no data (drawn in the chart and its caption); null when there is.</param>
/// <param name="Omitted">Series left out (more than the chart can show); 0 normally.</param>
public sealed record IncidentChart(
    string Id,
    IncidentChartKind Kind,
    string Title,
    string? SlothId,
    DateTimeOffset From,
    DateTimeOffset To,
    TimeSpan Step,
    string Query,
    IReadOnlyList<IncidentChartSeries> Series,
    double? Threshold,
    string? ThresholdLabel,
    string Unit,
    SliDataSource Source,
    string? Missing,
    int Omitted = 0);

/// <summary>One line of a chart.</summary>
/// <param name="Name">Legend text (e.g. <c>BTC-USD</c>, <c>p99</c>).</param>
/// <param name="Points">(time, value) in time order; null values are gaps.</param>
public sealed record IncidentChartSeries(string Name, IReadOnlyList<(DateTimeOffset Time, double? Value)> Points);
