using System.Globalization;
using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Slo;

namespace ExchangeHealth.Incidents.Reports;

/// <summary>
/// Builds an <see cref="IncidentReport"/> from an incident's details, Prometheus range queries over
/// the SLIs, and the SLO specs (Sloth's <c>prometheus/v1</c> format, as loaded by
/// <see cref="Monitor.Reports.SloReportService.LoadSpecs"/>).
/// </summary>
/// <remarks>
/// <para>Definitions (also printed in the report's footer):</para>
/// <list type="bullet">
/// <item>TTD (time to detect) = detected − started; TTA (time to acknowledge) = acknowledged − detected;
/// TTM (time to mitigate) = mitigated − started; TTR (time to resolve) = resolved − started.
/// Started is <see cref="Incident.StartedAt"/> (the first alert's <c>activeAt</c>); detected is
/// <see cref="Incident.DetectedAt"/>, else the first <c>alert.firing</c> event of the timeline, else the
/// earliest alert's fired time; acknowledged is <see cref="Incident.AcknowledgedAt"/>, else the first
/// <c>incident.acknowledged</c> event; mitigated and resolved are the incident's fields, else the
/// last event of that kind when the status says it happened.</item>
/// <item>Impact window = started → (mitigated ?? resolved ?? now).</item>
/// <item>Budget burned per SLO and series = bad events in the window / bad events allowed over the
/// SLO period ≈ error ratio over the window × window length / ((1 − objective) × period), period
/// 30 days by default (Sloth's). The error ratio comes from one range query per SLI query over the
/// window, whose n steps tile it exactly (n = window / 1 min rounded, 1 to 720; step = window / n;
/// the query's <c>{{.window}}</c> = the step): events SLIs give Σ error / Σ total over the steps,
/// raw SLIs the mean of the steps' ratios. When the spec's queries return no series (or are
/// refused), the generated <c>slo:sli_error:ratio_rate5m{sloth_id="…"}</c> recording rule's mean
/// over the steps is used instead, and the report says so.</item>
/// <item>Charts cover [window start − margin, window end + margin] (margin = <see cref="Margin"/>,
/// at least 25 % of the window; the start moves earlier to include an engine fault up to an hour
/// before the incident; the end is never after the report time) at about 240 points.</item>
/// </list>
/// <para>
/// Prometheus failures never throw: each figure that could not be computed carries the reason
/// (<see cref="SloBudgetBurn.Missing"/>, <see cref="IncidentChart.Missing"/>) and
/// <see cref="IncidentReport.Problems"/> summarizes them. After the first "unreachable" answer no
/// further query is sent (each would wait for its timeout).
/// </para>
/// </remarks>
public sealed class IncidentReportBuilder
{
    /// <summary>Default chart margin before and after the impact window.</summary>
    public static readonly TimeSpan DefaultMargin = TimeSpan.FromMinutes(10);

    /// <summary>Default SLO period: 30 days, as Sloth's.</summary>
    public static readonly TimeSpan DefaultPeriod = TimeSpan.FromDays(30);

    /// <summary>Order-acknowledgement latency p99 in seconds; <c>{{.window}}</c> is the rate window (1 min, or the chart step when longer).</summary>
    public const string DefaultLatencyQuery = "histogram_quantile(0.99, sum by (le) (rate(exh_order_ack_latency_seconds_bucket[{{.window}}])))";

    /// <summary>Commands received per second; <c>{{.window}}</c> as in <see cref="DefaultLatencyQuery"/>.</summary>
    public const string DefaultCommandRateQuery = "sum(rate(exh_orders_received_total[{{.window}}]))";

    /// <summary>Most lines in one chart (affected series first).</summary>
    public const int MaxChartSeries = 8;

    /// <summary>Target length of one budget step (the window is cut into steps about this long).</summary>
    internal static readonly TimeSpan BudgetStepTarget = TimeSpan.FromMinutes(1);

    /// <summary>Most steps of the budget query.</summary>
    internal const int MaxBudgetSteps = 720;

    /// <summary>Target number of chart points.</summary>
    internal const int ChartPoints = 240;

    /// <summary>Shortest rate window of a chart query (two scrapes must fit at any usual scrape interval).</summary>
    internal static readonly TimeSpan MinChartRateWindow = TimeSpan.FromMinutes(1);

    /// <summary>How long before the incident's start an engine fault still moves the chart's start.</summary>
    internal static readonly TimeSpan FaultLookBack = TimeSpan.FromHours(1);

    private static readonly TimeSpan[] _chartSteps =
        [TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(5),
         TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromHours(2),
         TimeSpan.FromHours(6), TimeSpan.FromHours(12), TimeSpan.FromDays(1)];

    private readonly PrometheusApiClient? _prometheus;
    private readonly IReadOnlyList<SloServiceSpec> _specs;

    /// <summary>Creates a builder.</summary>
    /// <param name="prometheus">The PromQL API with the SLI metrics; null when there is none (every Prometheus figure is then reported missing).</param>
    /// <param name="specs">The SLO specs whose SLOs are reported (every SLO of every spec, in order); may be empty.</param>
    /// <exception cref="ArgumentNullException"><paramref name="specs"/> is null.</exception>
    public IncidentReportBuilder(PrometheusApiClient? prometheus, IReadOnlyList<SloServiceSpec> specs)
    {
        ArgumentNullException.ThrowIfNull(specs);
        _prometheus = prometheus;
        _specs = specs;
    }

    /// <summary>Chart margin before and after the impact window (at least 25 % of the window is used); default 10 min.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Negative.</exception>
    public TimeSpan Margin
    {
        get;
        init => field = value >= TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(Margin), value, "the margin cannot be negative");
    } = DefaultMargin;

    /// <summary>The SLO period the error budget is granted for; default 30 days.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not positive.</exception>
    public TimeSpan Period
    {
        get;
        init => field = value > TimeSpan.Zero ? value : throw new ArgumentOutOfRangeException(nameof(Period), value, "the SLO period must be positive");
    } = DefaultPeriod;

    /// <summary>The latency chart's query (seconds; plotted in ms), with <c>{{.window}}</c>; default <see cref="DefaultLatencyQuery"/>.</summary>
    public string LatencyQuery { get; init; } = DefaultLatencyQuery;

    /// <summary>The command-rate chart's query (per second), with <c>{{.window}}</c>; default <see cref="DefaultCommandRateQuery"/>.</summary>
    public string CommandRateQuery { get; init; } = DefaultCommandRateQuery;

    /// <summary>Builds the report.</summary>
    /// <param name="details">The incident with its alerts, timeline and follow-ups.</param>
    /// <param name="now">The report time: the end of an ongoing impact window and the latest chart time.</param>
    /// <param name="cancellationToken">Cancels the queries.</param>
    /// <returns>The report; Prometheus failures are recorded in it, not thrown.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="details"/> is null.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<IncidentReport> BuildAsync(IncidentDetails details, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(details);
        var incident = details.Incident;
        var timeline = details.Timeline.OrderBy(e => e.At).ThenBy(e => e.Id).ToList();
        var times = Milestones.From(details, timeline);
        var window = ImpactWindow(incident, times, now);
        var durations = Durations(incident, times, now);
        var markers = Markers(times, timeline, incident);

        Uri? source = _prometheus is null ? null : new UriBuilder(_prometheus.BaseAddress) { UserName = "", Password = "" }.Uri;
        var queries = new QueryRunner(_prometheus, source);
        var (chartFrom, chartTo) = ChartRange(window, markers, now);
        var chartStep = ChartStep(chartTo - chartFrom);

        var budgets = new List<SloBudgetBurn>();
        var charts = new List<IncidentChart>();
        var problems = new List<string>();
        var affectedMarkets = new HashSet<string>(incident.Markets, StringComparer.Ordinal);
        foreach (var spec in _specs)
        {
            foreach (var slo in spec.Slos)
            {
                var (rows, chart) = await SloAsync(spec, slo, window, chartFrom, chartTo, chartStep, affectedMarkets, queries, cancellationToken).ConfigureAwait(false);
                budgets.AddRange(rows);
                charts.Add(chart);
                foreach (var row in rows.Where(r => r.Missing is not null && !queries.IsDown))
                    problems.Add($"Budget burned of {row.Service}/{row.Slo} ({row.SeriesText}) is unavailable: {row.Missing}");
            }
        }
        charts.Add(await KeyChartAsync(IncidentChartKind.AckLatencyP99, "ack-latency-p99", "Order-ack latency p99", LatencyQuery, "p99", "ms", 1000,
            chartFrom, chartTo, chartStep, queries, cancellationToken).ConfigureAwait(false));
        charts.Add(await KeyChartAsync(IncidentChartKind.CommandRate, "command-rate", "Commands received per second", CommandRateQuery, "commands/s", "/s", 1,
            chartFrom, chartTo, chartStep, queries, cancellationToken).ConfigureAwait(false));

        if (_prometheus is null) problems.Insert(0, "No Prometheus was configured: the budget burned and the charts are missing.");
        else if (queries.IsDown) problems.Insert(0, $"Prometheus at {source} was unreachable ({queries.DownReason}): the budget burned and the charts are missing.");
        if (_specs.Sum(s => s.Slos.Count) == 0) problems.Add("No SLO specs were given: no budget burned and no SLO charts.");
        foreach (var chart in charts.Where(c => c.Missing is not null && c.Kind != IncidentChartKind.SloErrorRatio && !queries.IsDown))
            problems.Add($"Chart '{chart.Title}' has no data: {chart.Missing}");

        return new IncidentReport(details with { Timeline = timeline }, now, source, window, durations, markers, budgets, charts, Period, problems);
    }

    // ---------------------------------------------------------------- times

    /// <summary>The incident's milestone times, from its fields, else its timeline (see the class remarks).</summary>
    internal sealed record Milestones(DateTimeOffset Started, DateTimeOffset? Detected, DateTimeOffset? Acknowledged, string? AcknowledgedBy, DateTimeOffset? Mitigated, DateTimeOffset? Resolved)
    {
        public static Milestones From(IncidentDetails details, IReadOnlyList<TimelineEvent> timeline)
        {
            var incident = details.Incident;
            DateTimeOffset? detected = incident.DetectedAt
                ?? First(timeline, TimelineKinds.AlertFiring)?.At
                ?? details.Alerts.Where(a => a.FiredAt is not null).Select(a => a.FiredAt).Min();
            var ackEvent = First(timeline, TimelineKinds.Acknowledged);
            DateTimeOffset? acknowledged = incident.AcknowledgedAt ?? ackEvent?.At;
            string? ackBy = incident.AcknowledgedAt is not null ? incident.AcknowledgedBy : ackEvent?.Actor;
            bool wasMitigated = incident.Status is IncidentStatus.Mitigated;
            bool wasResolved = incident.Status is IncidentStatus.Resolved or IncidentStatus.Closed;
            DateTimeOffset? mitigated = incident.MitigatedAt ?? (wasMitigated ? Last(timeline, TimelineKinds.Mitigated)?.At : null);
            DateTimeOffset? resolved = incident.ResolvedAt ?? (wasResolved ? Last(timeline, TimelineKinds.Resolved)?.At : null);
            return new Milestones(incident.StartedAt, detected, acknowledged, ackBy, mitigated, resolved);
        }

        private static TimelineEvent? First(IReadOnlyList<TimelineEvent> timeline, string kind) => timeline.FirstOrDefault(e => e.Kind == kind);

        private static TimelineEvent? Last(IReadOnlyList<TimelineEvent> timeline, string kind) => timeline.LastOrDefault(e => e.Kind == kind);
    }

    internal static IncidentImpactWindow ImpactWindow(Incident incident, Milestones times, DateTimeOffset now)
    {
        var (end, kind) = times.Mitigated is { } m ? (m, ImpactWindowEnd.Mitigated)
            : times.Resolved is { } r ? (r, ImpactWindowEnd.Resolved)
            : (now, ImpactWindowEnd.Ongoing);
        if (end < incident.StartedAt) end = incident.StartedAt;
        return new IncidentImpactWindow(incident.StartedAt, end, kind);
    }

    private static List<IncidentDuration> Durations(Incident incident, Milestones t, DateTimeOffset now)
    {
        string notResolved = incident.Status is IncidentStatus.Resolved or IncidentStatus.Closed ? "no resolution time recorded" : "not resolved yet";
        return
        [
            Duration("TTD", "Time to detect", "detected − started", t.Started, t.Detected, t.Detected is null ? "no alert fired (declared by hand)" : null),
            Duration("TTA", "Time to acknowledge", "acknowledged − detected", t.Detected, t.Acknowledged,
                t.Acknowledged is null ? "not acknowledged" : t.Detected is null ? "no detection time (no alert fired)" : null),
            Duration("TTM", "Time to mitigate", "mitigated − started", t.Started, t.Mitigated,
                t.Mitigated is null ? (t.Resolved is not null ? "resolved without a mitigation time" : "not mitigated yet") : null),
            Duration("TTR", "Time to resolve", "resolved − started", t.Started, t.Resolved, t.Resolved is null ? notResolved : null),
        ];

        static IncidentDuration Duration(string name, string title, string definition, DateTimeOffset? from, DateTimeOffset? to, string? missing) =>
            new(name, title, definition, from, to, from is { } f && to is { } e ? e - f : null, from is not null && to is not null ? null : missing ?? "unknown");
    }

    private static List<IncidentMarker> Markers(Milestones t, IReadOnlyList<TimelineEvent> timeline, Incident incident)
    {
        var list = new List<IncidentMarker>();
        foreach (var e in timeline.Where(IsFault))
        {
            string what = e.Kind["engine.fault.".Length..].Replace('_', ' ');
            list.Add(new IncidentMarker(IncidentMarkerKind.Fault, e.At, what.Length == 0 ? "fault" : "fault " + what, $"{e.Kind}: {e.Text}"));
        }
        if (t.Detected is { } d) list.Add(new IncidentMarker(IncidentMarkerKind.Firing, d, "firing", "First alert firing (detection)"));
        if (t.Acknowledged is { } a)
            list.Add(new IncidentMarker(IncidentMarkerKind.Acknowledged, a, "ack", "Acknowledged" + (t.AcknowledgedBy is { Length: > 0 } by ? " by " + by : "")));
        if (t.Mitigated is { } m) list.Add(new IncidentMarker(IncidentMarkerKind.Mitigated, m, "mitigated", "Mitigated: impact stopped"));
        if (t.Resolved is { } r) list.Add(new IncidentMarker(IncidentMarkerKind.Resolved, r, "resolved", "Resolved" + (incident.Commander is { Length: > 0 } c ? " (commander " + c + ")" : "")));
        return [.. list.OrderBy(x => x.At).ThenBy(x => x.Kind)];
    }

    /// <summary>True for an engine fault event: source <c>engine</c>, kind <c>engine.fault.*</c>.</summary>
    internal static bool IsFault(TimelineEvent e) =>
        e.Source == TimelineSources.Engine && e.Kind.StartsWith("engine.fault.", StringComparison.Ordinal);

    /// <summary>The charts' time range (see the class remarks).</summary>
    internal (DateTimeOffset From, DateTimeOffset To) ChartRange(IncidentImpactWindow window, IReadOnlyList<IncidentMarker> markers, DateTimeOffset now)
    {
        var start = window.Start;
        foreach (var m in markers.Where(m => m.Kind == IncidentMarkerKind.Fault && m.At < start && m.At >= window.Start - FaultLookBack))
            start = m.At;
        var span = window.End - start;
        var margin = Margin > span / 4 ? Margin : span / 4;
        var to = window.End + margin;
        if (to > now) to = now > window.End ? now : window.End;
        var from = start - margin;
        if (to - from < TimeSpan.FromMinutes(1)) to = from + TimeSpan.FromMinutes(1);
        return (Truncate(from), Truncate(to));
    }

    internal static TimeSpan ChartStep(TimeSpan range)
    {
        foreach (var s in _chartSteps)
            if (range / s <= ChartPoints) return s;
        return TimeSpan.FromDays(Math.Ceiling(range.TotalDays / ChartPoints));
    }

    /// <summary>The budget query's grid: n steps of equal length tiling (End − n·step, End] = the window (to the millisecond).</summary>
    internal static (TimeSpan Step, DateTimeOffset First, int Count) BudgetGrid(IncidentImpactWindow window)
    {
        double ms = Math.Round(window.Length.TotalMilliseconds);
        int n = (int)Math.Clamp(Math.Round(ms / BudgetStepTarget.TotalMilliseconds), 1, MaxBudgetSteps);
        var step = TimeSpan.FromMilliseconds(Math.Max(1, Math.Round(ms / n)));
        return (step, window.End - (step * (n - 1)), n);
    }

    private static DateTimeOffset Truncate(DateTimeOffset t) => DateTimeOffset.FromUnixTimeMilliseconds(t.ToUnixTimeMilliseconds() / 1000 * 1000);

    // ---------------------------------------------------------------- SLOs

    private async Task<(List<SloBudgetBurn> Rows, IncidentChart Chart)> SloAsync(SloServiceSpec spec, SloDefinition slo, IncidentImpactWindow window,
        DateTimeOffset chartFrom, DateTimeOffset chartTo, TimeSpan chartStep, HashSet<string> affectedMarkets, QueryRunner queries, CancellationToken ct)
    {
        var allowed = Period * slo.ErrorBudgetRatio;
        var rows = new List<SloBudgetBurn>();
        SloBudgetBurn Missing(string reason, SliDataSource sourceKind = SliDataSource.None, string query = "", TimeSpan? step = null) =>
            new(spec.Service, slo.Name, slo.Id, slo.ObjectivePercent, LabelSet.Empty, true, sourceKind, query, step, null, null, null, null, null, allowed, null, reason);

        var source = SliDataSource.None;
        string? budgetProblem = null;
        if (window.Length <= TimeSpan.Zero)
        {
            rows.Add(Missing("the impact window is empty (it ended where it started)"));
        }
        else
        {
            var (step, first, n) = BudgetGrid(window);
            var grid = Enumerable.Range(0, n).Select(k => (first + (step * k)).ToUnixTimeMilliseconds()).ToList();
            string win = PromDuration.Format(step);
            var fromSpec = await SpecBudgetAsync(slo, window, step, first, grid, win, queries, ct).ConfigureAwait(false);
            List<(LabelSet Key, double? Ratio, double? Bad, double? Total, double Coverage, string? Missing)>? results = fromSpec.Results;
            string query = fromSpec.Query;
            source = SliDataSource.SpecQueries;
            if (results is null or { Count: 0 } && !queries.IsDown)
            {
                string why = fromSpec.Error ?? "the spec's queries returned no series";
                string ruleQuery = RecordingRuleQuery(slo);
                var (series, error) = await queries.RangeAsync(ruleQuery, first, window.End, step, ct).ConfigureAwait(false);
                if (series is { Count: > 0 })
                {
                    results = MeanRatios(series, grid, key => key.Only(slo.Extensions.GroupBy));
                    query = ruleQuery;
                    source = SliDataSource.RecordingRule;
                }
                else
                {
                    budgetProblem = error is not null ? $"{why}; recording rule: {error}"
                        : fromSpec.Error is not null ? $"{fromSpec.Error} (and the recording rule {ruleQuery} has no series either)"
                        : $"no data: {why}, and {ruleQuery} has no series in the window";
                }
            }
            else if (results is null)
            {
                budgetProblem = fromSpec.Error;
            }

            if (budgetProblem is not null || results is null)
            {
                source = SliDataSource.None;
                rows.Add(Missing(budgetProblem ?? "no data", SliDataSource.None, query, step));
            }
            else
            {
                foreach (var r in results.OrderBy(r => r.Key.ToString(), StringComparer.Ordinal))
                {
                    bool hasMarket = r.Key.TryGetValue("market", out string market);
                    bool affected = !hasMarket || affectedMarkets.Count == 0 || affectedMarkets.Contains(market);
                    if (!affected && !(r.Ratio > 0)) continue; // an unaffected market that burned nothing
                    double? fraction = r.Ratio is { } er ? er * window.Length.TotalSeconds / allowed.TotalSeconds : null;
                    TimeSpan? burnedTime = r.Ratio is { } er2 ? window.Length * er2 : null;
                    rows.Add(new SloBudgetBurn(spec.Service, slo.Name, slo.Id, slo.ObjectivePercent, r.Key, affected, source, query, step,
                        r.Ratio, r.Bad, r.Total, fraction, burnedTime, allowed, r.Coverage, r.Missing));
                }
                if (rows.Count == 0) rows.Add(Missing("no data for the incident's markets (" + string.Join(", ", affectedMarkets.Order(StringComparer.Ordinal)) + ")", source, query, step));
            }
        }

        var chart = await SloChartAsync(slo, source, rows, chartFrom, chartTo, chartStep, affectedMarkets, queries, ct).ConfigureAwait(false);
        return (rows, chart);
    }

    private sealed record SpecBudget(List<(LabelSet Key, double? Ratio, double? Bad, double? Total, double Coverage, string? Missing)>? Results, string Query, string? Error);

    private static async Task<SpecBudget> SpecBudgetAsync(SloDefinition slo, IncidentImpactWindow window, TimeSpan step, DateTimeOffset first,
        List<long> grid, string win, QueryRunner queries, CancellationToken ct)
    {
        if (!slo.Sli.IsEvents)
        {
            string q = SloSpecParser.ExpandWindow(slo.Sli.ErrorRatioQuery!, win);
            var (series, error) = await queries.RangeAsync(q, first, window.End, step, ct).ConfigureAwait(false);
            return new SpecBudget(series is null ? null : MeanRatios(series, grid, Key), q, error);
        }
        string errQ = SloSpecParser.ExpandWindow(slo.Sli.ErrorQuery!, win);
        string totQ = SloSpecParser.ExpandWindow(slo.Sli.TotalQuery!, win);
        string both = "error: " + errQ.Trim() + "\ntotal: " + totQ.Trim();
        var (err, e1) = await queries.RangeAsync(errQ, first, window.End, step, ct).ConfigureAwait(false);
        if (err is null) return new SpecBudget(null, both, queries.IsDown ? e1 : "error_query: " + e1);
        var (tot, e2) = await queries.RangeAsync(totQ, first, window.End, step, ct).ConfigureAwait(false);
        if (tot is null) return new SpecBudget(null, both, queries.IsDown ? e2 : "total_query: " + e2);

        var errBy = ByKey(err, Key);
        var results = new List<(LabelSet, double?, double?, double?, double, string?)>();
        double stepSeconds = step.TotalSeconds;
        foreach (var (key, totals) in ByKey(tot, Key))
        {
            var errors = errBy.GetValueOrDefault(key) ?? [];
            double bad = 0, total = 0;
            int covered = 0;
            foreach (long t in grid)
            {
                if (!totals.TryGetValue(t, out double tr) || !double.IsFinite(tr) || tr < 0) continue;
                covered++;
                total += tr * stepSeconds;
                if (errors.TryGetValue(t, out double er) && double.IsFinite(er) && er > 0) bad += er * stepSeconds;
            }
            double coverage = (double)covered / grid.Count;
            if (covered == 0 || total <= 0)
                results.Add((key, null, covered == 0 ? null : bad, covered == 0 ? null : total, coverage, "no data: no events in the window"));
            else
                results.Add((key, Math.Clamp(bad / total, 0, 1), bad, total, coverage, null));
        }
        return new SpecBudget(results, both, null);
    }

    private static List<(LabelSet Key, double? Ratio, double? Bad, double? Total, double Coverage, string? Missing)> MeanRatios(
        IReadOnlyList<PromSeries> series, List<long> grid, Func<LabelSet, LabelSet> key)
    {
        var results = new List<(LabelSet, double?, double?, double?, double, string?)>();
        var gridSet = grid.ToHashSet();
        foreach (var (k, points) in ByKey(series, key))
        {
            var values = points.Where(p => gridSet.Contains(p.Key) && double.IsFinite(p.Value)).Select(p => Math.Clamp(p.Value, 0, 1)).ToList();
            double coverage = (double)values.Count / grid.Count;
            results.Add(values.Count == 0
                ? (k, null, null, null, 0, "no data: no finite error ratio in the window")
                : (k, values.Average(), null, null, coverage, null));
        }
        return results;
    }

    private static string RecordingRuleQuery(SloDefinition slo) =>
        "slo:sli_error:ratio_rate5m{sloth_id=\"" + slo.Id.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"}";

    private static LabelSet Key(LabelSet labels) => labels.Without("__name__");

    /// <summary>Points per series key (series whose keys collide are merged, later wins), keyed by Unix milliseconds.</summary>
    private static Dictionary<LabelSet, Dictionary<long, double>> ByKey(IReadOnlyList<PromSeries> series, Func<LabelSet, LabelSet> key)
    {
        var map = new Dictionary<LabelSet, Dictionary<long, double>>();
        foreach (var s in series)
        {
            var k = key(s.Labels);
            if (!map.TryGetValue(k, out var points)) map[k] = points = [];
            foreach (var (time, value) in s.Points) points[time.ToUnixTimeMilliseconds()] = value;
        }
        return map;
    }

    private async Task<IncidentChart> SloChartAsync(SloDefinition slo, SliDataSource source, List<SloBudgetBurn> rows,
        DateTimeOffset from, DateTimeOffset to, TimeSpan step, HashSet<string> affectedMarkets, QueryRunner queries, CancellationToken ct)
    {
        string win = PromDuration.Format(step > MinChartRateWindow ? step : MinChartRateWindow);
        string id = "slo-" + Slug(slo.Id);
        string title = $"{slo.Id}: error ratio";
        double budgetPercent = slo.ErrorBudgetRatio * 100;
        string thresholdLabel = "budget " + Monitor.Reports.SloFormat.ErrorPercent(slo.ErrorBudgetRatio);
        IncidentChart Chart(IReadOnlyList<IncidentChartSeries> series, string query, SliDataSource src, string? missing, int omitted = 0) =>
            new(id, IncidentChartKind.SloErrorRatio, title, slo.Id, from, to, step, query, series, budgetPercent, thresholdLabel, "%", src, missing, omitted);

        if (queries.IsDown) return Chart([], "", SliDataSource.None, queries.DownReason);

        Dictionary<LabelSet, Dictionary<long, double>>? ratios = null;
        string query = "";
        string? error = null;
        if (source != SliDataSource.RecordingRule)
        {
            if (slo.Sli.IsEvents)
            {
                string errQ = SloSpecParser.ExpandWindow(slo.Sli.ErrorQuery!, win), totQ = SloSpecParser.ExpandWindow(slo.Sli.TotalQuery!, win);
                query = "error: " + errQ.Trim() + "\ntotal: " + totQ.Trim();
                var (err, e1) = await queries.RangeAsync(errQ, from, to, step, ct).ConfigureAwait(false);
                IReadOnlyList<PromSeries>? tot = null;
                string? e2 = null;
                if (err is not null) (tot, e2) = await queries.RangeAsync(totQ, from, to, step, ct).ConfigureAwait(false);
                error = e1 ?? e2;
                if (err is not null && tot is not null)
                {
                    var errBy = ByKey(err, Key);
                    ratios = [];
                    foreach (var (key, totals) in ByKey(tot, Key))
                    {
                        var errors = errBy.GetValueOrDefault(key) ?? [];
                        var r = new Dictionary<long, double>();
                        foreach (var (t, tv) in totals)
                        {
                            if (!double.IsFinite(tv) || tv <= 0) continue;
                            double ev = errors.TryGetValue(t, out double e) && double.IsFinite(e) ? Math.Max(0, e) : 0;
                            r[t] = Math.Clamp(ev / tv, 0, 1);
                        }
                        ratios[key] = r;
                    }
                }
            }
            else
            {
                query = SloSpecParser.ExpandWindow(slo.Sli.ErrorRatioQuery!, win);
                var (series, e) = await queries.RangeAsync(query, from, to, step, ct).ConfigureAwait(false);
                error = e;
                if (series is not null) ratios = ByKey(series, Key);
            }
        }
        if ((ratios is null || ratios.Count == 0) && !queries.IsDown && source != SliDataSource.SpecQueries)
        {
            query = RecordingRuleQuery(slo);
            var (series, e) = await queries.RangeAsync(query, from, to, step, ct).ConfigureAwait(false);
            error = e ?? error;
            if (series is { Count: > 0 })
            {
                ratios = ByKey(series, key => key.Only(slo.Extensions.GroupBy));
                source = SliDataSource.RecordingRule;
            }
        }
        if (ratios is null || ratios.Count == 0)
            return Chart([], query, SliDataSource.None, error ?? (ratios is null ? "no data" : "no data: no series in the chart's range"));

        // The budget table's series first (affected markets, then others that burned), then other affected ones.
        var listed = rows.Where(r => r.Missing is null || r.Series.Count > 0).Select(r => r.Series).ToList();
        var keys = ratios.Keys
            .Where(k => listed.Contains(k) || !k.TryGetValue("market", out string m) || affectedMarkets.Count == 0 || affectedMarkets.Contains(m))
            .OrderBy(k => listed.Contains(k) ? 0 : 1).ThenBy(k => k.ToString(), StringComparer.Ordinal).ToList();
        if (keys.Count == 0) keys = [.. ratios.Keys.OrderBy(k => k.ToString(), StringComparer.Ordinal)];
        int omitted = Math.Max(0, keys.Count - MaxChartSeries);
        var grid = Grid(from, to, step);
        var lines = keys.Take(MaxChartSeries).Select(k => new IncidentChartSeries(
            SeriesName(k),
            [.. grid.Select(t => (DateTimeOffset.FromUnixTimeMilliseconds(t), ratios[k].TryGetValue(t, out double v) && double.IsFinite(v) ? (double?)(Math.Clamp(v, 0, 1) * 100) : null))])).ToList();
        return Chart(lines, query, source == SliDataSource.None ? SliDataSource.SpecQueries : source, null, omitted);
    }

    private static async Task<IncidentChart> KeyChartAsync(IncidentChartKind kind, string id, string title, string template, string defaultName, string unit, double scale,
        DateTimeOffset from, DateTimeOffset to, TimeSpan step, QueryRunner queries, CancellationToken ct)
    {
        string win = PromDuration.Format(step > MinChartRateWindow ? step : MinChartRateWindow);
        string query = SloSpecParser.ExpandWindow(template, win);
        IncidentChart Chart(IReadOnlyList<IncidentChartSeries> series, string? missing, int omitted = 0) =>
            new(id, kind, title, null, from, to, step, query, series, null, null, unit, missing is null ? SliDataSource.SpecQueries : SliDataSource.None, missing, omitted);
        var (result, error) = await queries.RangeAsync(query, from, to, step, ct).ConfigureAwait(false);
        if (result is null) return Chart([], error);
        if (result.Count == 0) return Chart([], "no data: the query returned no series in the chart's range");
        var grid = Grid(from, to, step);
        var byKey = ByKey(result, Key);
        var keys = byKey.Keys.OrderBy(k => k.ToString(), StringComparer.Ordinal).ToList();
        var lines = keys.Take(MaxChartSeries).Select(k => new IncidentChartSeries(
            k.Count == 0 ? defaultName : string.Join(", ", k.Select(l => l.Value)),
            [.. grid.Select(t => (DateTimeOffset.FromUnixTimeMilliseconds(t), byKey[k].TryGetValue(t, out double v) && double.IsFinite(v) ? (double?)(v * scale) : null))])).ToList();
        bool any = lines.Exists(l => l.Points.Any(p => p.Value is not null));
        return Chart(lines, any ? null : "no data: the query returned only NaN (no traffic?)", Math.Max(0, keys.Count - MaxChartSeries));
    }

    private static List<long> Grid(DateTimeOffset from, DateTimeOffset to, TimeSpan step)
    {
        var list = new List<long>();
        long stepMs = (long)step.TotalMilliseconds;
        for (long t = from.ToUnixTimeMilliseconds(); t <= to.ToUnixTimeMilliseconds(); t += stepMs) list.Add(t);
        return list;
    }

    private static string SeriesName(LabelSet key)
    {
        var shown = key.Without("sloth_id", "sloth_service", "sloth_slo", "sloth_window");
        return shown.Count == 0 ? "all" : string.Join(", ", shown.Select(l => l.Value));
    }

    /// <summary>Lowercase letters, digits and <c>-</c> only (ids, file names, CSS classes).</summary>
    internal static string Slug(string text)
    {
        var chars = text.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-').ToArray();
        string slug = new string(chars).Trim('-');
        return slug.Length == 0 ? "x" : slug;
    }

    /// <summary>
    /// Runs range queries and turns failures into reasons: after the first "unreachable" answer it
    /// sends nothing more (every figure is then missing for that reason). Error texts have the
    /// server's address without credentials.
    /// </summary>
    private sealed class QueryRunner(PrometheusApiClient? client, Uri? source)
    {
        public bool IsDown => DownReason is not null;

        public string? DownReason { get; private set; }

        public async Task<(IReadOnlyList<PromSeries>? Series, string? Error)> RangeAsync(string query, DateTimeOffset from, DateTimeOffset to, TimeSpan step, CancellationToken ct)
        {
            if (client is null) return (null, DownReason = "no Prometheus configured");
            if (DownReason is not null) return (null, DownReason);
            try
            {
                return (await client.QueryRangeAsync(query, from, to, step, cancellationToken: ct).ConfigureAwait(false), null);
            }
            catch (PrometheusApiException e) when (e.IsUnreachable)
            {
                DownReason = "Prometheus unreachable: " + Clean(e.Error);
                return (null, DownReason);
            }
            catch (PrometheusApiException e)
            {
                return (null, $"query failed ({e.ErrorType}): {Clean(e.Error)}");
            }
        }

        private string Clean(string text)
        {
            if (client is null || source is null) return text;
            return text.Replace(client.BaseAddress.AbsoluteUri, source.AbsoluteUri, StringComparison.Ordinal);
        }
    }
}

/// <summary>Number and time formats of the incident report (invariant culture, UTC).</summary>
internal static class IncidentReportFormat
{
    private static readonly CultureInfo _inv = CultureInfo.InvariantCulture;

    /// <summary><c>2026-11-21 03:00:00.123</c> (UTC, milliseconds).</summary>
    public static string TimeMs(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", _inv);

    /// <summary><c>2026-11-21 03:00:00 UTC</c>.</summary>
    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", _inv) + " UTC";

    /// <summary><c>HH:mm:ss</c> (UTC), for marker tooltips.</summary>
    public static string Clock(DateTimeOffset t) => t.UtcDateTime.ToString("HH:mm:ss", _inv);

    /// <summary>
    /// An incident duration to the second: <c>4.2 s</c> (under 10 s), <c>42 s</c>, <c>4 min 12 s</c>,
    /// <c>2 h 5 min</c>, <c>3 d 4 h</c>; negative values keep a leading <c>-</c>.
    /// </summary>
    public static string Duration(TimeSpan span)
    {
        string sign = span < TimeSpan.Zero ? "-" : "";
        var a = span.Duration();
        if (a < TimeSpan.FromSeconds(10)) return sign + a.TotalSeconds.ToString("0.0", _inv) + " s";
        long s = (long)Math.Round(a.TotalSeconds);
        if (s < 60) return sign + s.ToString(_inv) + " s";
        if (s < 3600) return sign + (s / 60).ToString(_inv) + " min" + (s % 60 == 0 ? "" : " " + (s % 60).ToString(_inv) + " s");
        long m = (long)Math.Round(a.TotalMinutes);
        if (m < 48 * 60) return sign + (m / 60).ToString(_inv) + " h" + (m % 60 == 0 ? "" : " " + (m % 60).ToString(_inv) + " min");
        long h = (long)Math.Round(a.TotalHours);
        return sign + (h / 24).ToString(_inv) + " d" + (h % 24 == 0 ? "" : " " + (h % 24).ToString(_inv) + " h");
    }

    /// <summary>A value with a unit for a chart axis: <c>4.87 ms</c>, <c>120 /s</c>, <c>0.05 %</c>.</summary>
    public static string Axis(double value, string unit) => unit switch
    {
        "%" => Monitor.Reports.SloFormat.ErrorPercent(value / 100),
        _ => Math.Round(value, 3).ToString("0.###", _inv) + " " + unit,
    };
}
