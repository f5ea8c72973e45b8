using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Slo;

namespace ExchangeHealth.Monitor.Reports;

/// <summary>
/// Builds an <see cref="SloReport"/> by querying any PromQL HTTP API with the SLO specs' own SLI
/// queries (not the recording rules): per SLO and series (e.g. market) and per period, the
/// achieved SLI, the error budget burned and left, a timeline for the charts, the worst burn-rate
/// moments and the incidents (from an <see cref="ISloIncidentSource"/>) with the budget each burned.
/// </summary>
/// <remarks>
/// <para>
/// Achieved SLI over a period = 1 - error ratio, where the error ratio is computed from the spec's
/// queries with <c>{{.window}}</c> replaced by the whole period (in seconds) and evaluated at its end:
/// events SLIs give <c>error_query / total_query</c> (both per-second rates over the same window, so
/// their ratio is bad events / all events, weighted by traffic); raw SLIs give their
/// <c>error_ratio_query</c> (e.g. <c>1 - avg_over_time(up[30d])</c>, weighted by time). This is
/// exact for the period and works on any data the SLI's metrics have, also before the SLO's
/// recording rules existed; the mean of <c>slo:sli_error:ratio_rate5m</c> (Sloth's 30d rule) would
/// weight a quiet night's 5 minutes as much as a busy hour's (docs/slo.md, "SLO report").
/// </para>
/// <para>
/// Budget: allowed = error budget ratio x the period's budget length (30 days, or the whole calendar
/// month); burned = error ratio x elapsed time (for events SLIs the time-equivalent of the bad
/// events at the period's mean traffic); left = allowed - burned; "budget remaining" = 1 - burned / allowed.
/// For the rolling 30 days this is Sloth's <c>slo:period_error_budget_remaining:ratio</c>.
/// </para>
/// <para>
/// No data (no series, no events, NaN) is reported as such (null numbers), never as 100 %. An SLO
/// whose queries return no series at all appears once with empty series labels.
/// </para>
/// </remarks>
public sealed class SloReportBuilder
{
    private static readonly TimeSpan[] _timelineSteps =
        [TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30),
         TimeSpan.FromHours(1), TimeSpan.FromHours(2), TimeSpan.FromHours(3), TimeSpan.FromHours(6), TimeSpan.FromHours(12), TimeSpan.FromDays(1)];

    /// <summary>Most timeline points per period and series (30 days at 1 h steps is 720).</summary>
    internal const int MaxTimelinePoints = 750;

    /// <summary>Shortest window used to measure an incident's error ratio (two scrapes are needed for a rate).</summary>
    internal static readonly TimeSpan MinIncidentWindow = TimeSpan.FromMinutes(1);

    private readonly PrometheusApiClient _prometheus;
    private readonly ISloIncidentSource _incidents;

    /// <summary>Creates a builder.</summary>
    /// <param name="prometheus">The PromQL API with the SLIs' metrics.</param>
    /// <param name="incidents">Where incidents come from; null for <see cref="PrometheusAlertsIncidentSource"/> on <paramref name="prometheus"/>.</param>
    public SloReportBuilder(PrometheusApiClient prometheus, ISloIncidentSource? incidents = null)
    {
        ArgumentNullException.ThrowIfNull(prometheus);
        _prometheus = prometheus;
        _incidents = incidents ?? new PrometheusAlertsIncidentSource(prometheus);
    }

    /// <summary>The periods of a report at <paramref name="at"/>: month to date first, then the rolling 30 days.</summary>
    /// <param name="at">The report time (truncated to whole seconds, UTC).</param>
    /// <param name="periods">Which periods.</param>
    /// <exception cref="ArgumentException"><paramref name="periods"/> is <see cref="SloReportPeriods.None"/>.</exception>
    public static IReadOnlyList<SloReportPeriod> PeriodsAt(DateTimeOffset at, SloReportPeriods periods)
    {
        if ((periods & SloReportPeriods.Both) == SloReportPeriods.None) throw new ArgumentException("at least one period is required", nameof(periods));
        var end = TruncateToSecond(at);
        var list = new List<SloReportPeriod>();
        if (periods.HasFlag(SloReportPeriods.MonthToDate)) list.Add(SloReportPeriod.MonthToDate(end));
        if (periods.HasFlag(SloReportPeriods.Rolling30Days)) list.Add(SloReportPeriod.Rolling30Days(end));
        return list;
    }

    /// <summary>Builds the report.</summary>
    /// <param name="specs">The SLO specs (every SLO of every spec is reported, in order).</param>
    /// <param name="at">End of every period (truncated to whole seconds).</param>
    /// <param name="periods">Which periods.</param>
    /// <param name="generatedAt">The "generated at" time to print.</param>
    /// <param name="cancellationToken">Cancels the queries.</param>
    /// <returns>The report.</returns>
    /// <exception cref="PrometheusApiException">A query failed or Prometheus is unreachable (<see cref="PrometheusApiException.IsUnreachable"/>).</exception>
    /// <exception cref="ArgumentException"><paramref name="periods"/> is <see cref="SloReportPeriods.None"/>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<SloReport> BuildAsync(IReadOnlyList<SloServiceSpec> specs, DateTimeOffset at, SloReportPeriods periods, DateTimeOffset generatedAt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(specs);
        var list = PeriodsAt(at, periods);
        var entries = new List<SloReportEntry>();
        foreach (var spec in specs)
        {
            foreach (var slo in spec.Slos)
                entries.AddRange(await BuildSloAsync(spec, slo, list, cancellationToken).ConfigureAwait(false));
        }
        // The source is printed in the report: never with credentials in it.
        var source = new UriBuilder(_prometheus.BaseAddress) { UserName = "", Password = "" }.Uri;
        return new SloReport(TruncateToSecond(at), generatedAt, source, _incidents.Name, list, entries);
    }

    private async Task<List<SloReportEntry>> BuildSloAsync(SloServiceSpec spec, SloDefinition slo, IReadOnlyList<SloReportPeriod> periods, CancellationToken ct)
    {
        var perPeriod = new List<PeriodData>();
        foreach (var period in periods)
            perPeriod.Add(await QueryPeriodAsync(slo, period, ct).ConfigureAwait(false));

        var from = periods.Min(p => p.Start);
        var to = periods.Max(p => p.End);
        var incidents = await _incidents.GetIncidentsAsync(spec, slo, from, to, ct).ConfigureAwait(false);

        var keys = perPeriod.SelectMany(p => p.Keys).Distinct().OrderBy(k => k.ToString(), StringComparer.Ordinal).ToList();
        if (keys.Count == 0) keys.Add(LabelSet.Empty);

        var entries = new List<SloReportEntry>();
        foreach (var key in keys)
        {
            var results = new List<SloPeriodResult>();
            for (int i = 0; i < periods.Count; i++)
            {
                var identity = key.Only(slo.Extensions.GroupBy);
                var mine = incidents.Where(x => x.SlothId == slo.Id && x.Series == identity && x.End >= periods[i].Start && x.Start <= periods[i].End).ToList();
                results.Add(await ResultAsync(slo, periods[i], perPeriod[i], key, mine, ct).ConfigureAwait(false));
            }
            entries.Add(new SloReportEntry(spec.Service, slo.Name, slo.Id, slo.Description, slo.ObjectivePercent, key, slo.Sli.IsEvents, results));
        }
        return entries;
    }

    /// <summary>The raw query results of one SLO over one period (all series).</summary>
    private sealed class PeriodData
    {
        public Dictionary<LabelSet, double> Error { get; } = [];
        public Dictionary<LabelSet, double> Total { get; } = [];
        public Dictionary<LabelSet, IReadOnlyList<(DateTimeOffset Time, double Value)>> ErrorRange { get; } = [];
        public Dictionary<LabelSet, IReadOnlyList<(DateTimeOffset Time, double Value)>> TotalRange { get; } = [];
        public List<DateTimeOffset> Grid { get; } = [];
        public TimeSpan Step { get; set; }

        public IEnumerable<LabelSet> Keys => Error.Keys.Concat(Total.Keys).Concat(ErrorRange.Keys).Concat(TotalRange.Keys);
    }

    private async Task<PeriodData> QueryPeriodAsync(SloDefinition slo, SloReportPeriod period, CancellationToken ct)
    {
        var data = new PeriodData();
        string window = PrometheusAlertsIncidentSource.Seconds(period.Elapsed);
        if (period.Elapsed < TimeSpan.FromSeconds(1)) return data;
        if (slo.Sli.IsEvents)
        {
            Fill(data.Error, await _prometheus.QueryAsync(Expand(slo.Sli.ErrorQuery!, window), period.End, cancellationToken: ct).ConfigureAwait(false));
            Fill(data.Total, await _prometheus.QueryAsync(Expand(slo.Sli.TotalQuery!, window), period.End, cancellationToken: ct).ConfigureAwait(false));
        }
        else
        {
            Fill(data.Error, await _prometheus.QueryAsync(Expand(slo.Sli.ErrorRatioQuery!, window), period.End, cancellationToken: ct).ConfigureAwait(false));
        }

        var step = TimelineStep(period.Elapsed);
        if (step is null) return data;
        data.Step = step.Value;
        long n = (long)Math.Floor(period.Elapsed / step.Value);
        var first = period.End - (step.Value * (n - 1)); // windows (t - step, t] tile (End - n*step, End], inside the period
        for (long k = 0; k < n; k++) data.Grid.Add(first + (step.Value * k));
        string stepWindow = PrometheusAlertsIncidentSource.Seconds(step.Value);
        if (slo.Sli.IsEvents)
        {
            FillRange(data.ErrorRange, await _prometheus.QueryRangeAsync(Expand(slo.Sli.ErrorQuery!, stepWindow), first, period.End, step.Value, cancellationToken: ct).ConfigureAwait(false));
            FillRange(data.TotalRange, await _prometheus.QueryRangeAsync(Expand(slo.Sli.TotalQuery!, stepWindow), first, period.End, step.Value, cancellationToken: ct).ConfigureAwait(false));
        }
        else
        {
            FillRange(data.ErrorRange, await _prometheus.QueryRangeAsync(Expand(slo.Sli.ErrorRatioQuery!, stepWindow), first, period.End, step.Value, cancellationToken: ct).ConfigureAwait(false));
        }
        return data;
    }

    private async Task<SloPeriodResult> ResultAsync(SloDefinition slo, SloReportPeriod period, PeriodData data, LabelSet key, List<SloIncident> incidents, CancellationToken ct)
    {
        double budgetRatio = slo.ErrorBudgetRatio;
        var allowed = period.BudgetLength * budgetRatio;
        double elapsedSeconds = period.Elapsed.TotalSeconds;

        double? errorRatio = null, total = null, bad = null;
        if (slo.Sli.IsEvents)
        {
            if (data.Total.TryGetValue(key, out double totalRate) && totalRate > 0 && double.IsFinite(totalRate))
            {
                double errorRate = data.Error.TryGetValue(key, out double e) && double.IsFinite(e) ? Math.Max(0, e) : 0;
                total = totalRate * elapsedSeconds;
                bad = errorRate * elapsedSeconds;
                errorRatio = Math.Clamp(errorRate / totalRate, 0, 1);
            }
        }
        else if (data.Error.TryGetValue(key, out double r) && double.IsFinite(r))
        {
            errorRatio = Math.Clamp(r, 0, 1);
        }
        TimeSpan? burned = errorRatio is { } er ? period.Elapsed * er : null;

        // Timeline: error ratio per step; budget left after each step.
        var timeline = new List<SloTimelinePoint>();
        double burnedSeconds = 0;
        double allowedSeconds = allowed.TotalSeconds;
        double stepSeconds = data.Step.TotalSeconds;
        var errRange = Lookup(data.ErrorRange, key);
        var totRange = Lookup(data.TotalRange, key);
        foreach (var t in data.Grid)
        {
            double? ratio = null;
            double burnedHere = 0;
            if (slo.Sli.IsEvents)
            {
                if (totRange.TryGetValue(t, out double tr) && tr > 0 && double.IsFinite(tr))
                {
                    double e = errRange.TryGetValue(t, out double ev) && double.IsFinite(ev) ? Math.Max(0, ev) : 0;
                    ratio = Math.Clamp(e / tr, 0, 1);
                    // Time-equivalent at the period's mean traffic, so the curve ends where the headline does.
                    if (total is > 0) burnedHere = e * stepSeconds / total.Value * elapsedSeconds;
                }
            }
            else if (errRange.TryGetValue(t, out double rr) && double.IsFinite(rr))
            {
                ratio = Math.Clamp(rr, 0, 1);
                burnedHere = ratio.Value * stepSeconds;
            }
            burnedSeconds += burnedHere;
            timeline.Add(new SloTimelinePoint(t, ratio, allowedSeconds > 0 ? 1 - (burnedSeconds / allowedSeconds) : 1));
        }

        var worst = new List<SloBurnMoment>();
        foreach (var p in timeline.Where(p => p.ErrorRatio > 0).OrderByDescending(p => p.ErrorRatio!.Value).ThenBy(p => p.Time))
        {
            if (worst.Count == 3) break;
            if (worst.Exists(w => (w.Time - p.Time).Duration() <= data.Step)) continue;
            worst.Add(new SloBurnMoment(p.Time, data.Step, p.ErrorRatio!.Value, p.ErrorRatio.Value / budgetRatio));
        }

        var impacts = new List<SloIncidentImpact>();
        foreach (var incident in incidents.OrderBy(x => x.Start))
        {
            var start = incident.Start < period.Start ? period.Start : incident.Start;
            var end = incident.End > period.End ? period.End : incident.End;
            var clipped = incident with { Start = start, End = end, Ongoing = incident.Ongoing && end == incident.End };
            impacts.Add(await ImpactAsync(slo, period, key, clipped, total, allowed, ct).ConfigureAwait(false));
        }

        return new SloPeriodResult(period, errorRatio, total, bad, allowed, burned, timeline, worst, impacts, data.Step);
    }

    /// <summary>
    /// The budget an incident burned: the SLI's error ratio over the incident (window = its duration,
    /// at least <see cref="MinIncidentWindow"/>, ending at its end) times that window; for events
    /// SLIs its bad events as time at the period's mean traffic, consistent with the period's numbers.
    /// </summary>
    private async Task<SloIncidentImpact> ImpactAsync(SloDefinition slo, SloReportPeriod period, LabelSet key, SloIncident incident, double? periodTotal, TimeSpan allowed, CancellationToken ct)
    {
        var windowSpan = incident.Duration < MinIncidentWindow ? MinIncidentWindow : incident.Duration;
        windowSpan = TimeSpan.FromSeconds(Math.Ceiling(windowSpan.TotalSeconds));
        string window = PrometheusAlertsIncidentSource.Seconds(windowSpan);
        double? ratio = null;
        TimeSpan? burned = null;
        if (slo.Sli.IsEvents)
        {
            var err = await _prometheus.QueryAsync(Expand(slo.Sli.ErrorQuery!, window), incident.End, cancellationToken: ct).ConfigureAwait(false);
            var tot = await _prometheus.QueryAsync(Expand(slo.Sli.TotalQuery!, window), incident.End, cancellationToken: ct).ConfigureAwait(false);
            double? e = Value(err, key), t = Value(tot, key);
            if (t is > 0)
            {
                double errorRate = Math.Max(0, e ?? 0);
                ratio = Math.Clamp(errorRate / t.Value, 0, 1);
                if (periodTotal is > 0) burned = TimeSpan.FromSeconds(errorRate * windowSpan.TotalSeconds / periodTotal.Value * period.Elapsed.TotalSeconds);
            }
        }
        else
        {
            var r = await _prometheus.QueryAsync(Expand(slo.Sli.ErrorRatioQuery!, window), incident.End, cancellationToken: ct).ConfigureAwait(false);
            if (Value(r, key) is { } v)
            {
                ratio = Math.Clamp(v, 0, 1);
                burned = windowSpan * ratio.Value;
            }
        }
        double? fraction = burned is { } b && allowed > TimeSpan.Zero ? b / allowed : null;
        return new SloIncidentImpact(incident, ratio, burned, fraction);
    }

    /// <summary>The timeline step for a period: the smallest of 1 m, 5 m ... 1 d giving at most <see cref="MaxTimelinePoints"/> points; null under one minute.</summary>
    internal static TimeSpan? TimelineStep(TimeSpan elapsed)
    {
        if (elapsed < TimeSpan.FromMinutes(1)) return null;
        foreach (var s in _timelineSteps)
            if (elapsed / s <= MaxTimelinePoints) return s;
        return TimeSpan.FromDays(Math.Ceiling(elapsed.TotalDays / MaxTimelinePoints));
    }

    private static string Expand(string query, string window) => SloSpecParser.ExpandWindow(query, window);

    private static DateTimeOffset TruncateToSecond(DateTimeOffset at)
    {
        var utc = at.ToUniversalTime();
        return DateTimeOffset.FromUnixTimeSeconds(utc.ToUnixTimeSeconds());
    }

    private static LabelSet Key(LabelSet labels) => labels.Without("__name__");

    private static void Fill(Dictionary<LabelSet, double> into, PromQueryResult result)
    {
        if (result.IsScalar)
        {
            into[LabelSet.Empty] = result.Samples[0].Value;
            return;
        }
        foreach (var s in result.Samples)
            if (!double.IsNaN(s.Value)) into[Key(s.Labels)] = s.Value;
    }

    private static void FillRange(Dictionary<LabelSet, IReadOnlyList<(DateTimeOffset Time, double Value)>> into, IReadOnlyList<PromSeries> series)
    {
        foreach (var s in series) into[Key(s.Labels)] = s.Points;
    }

    private static Dictionary<DateTimeOffset, double> Lookup(Dictionary<LabelSet, IReadOnlyList<(DateTimeOffset Time, double Value)>> range, LabelSet key) =>
        range.TryGetValue(key, out var points) ? points.GroupBy(p => p.Time).ToDictionary(g => g.Key, g => g.Last().Value) : [];

    private static double? Value(PromQueryResult result, LabelSet key)
    {
        if (result.IsScalar) return double.IsFinite(result.Samples[0].Value) ? result.Samples[0].Value : null;
        foreach (var s in result.Samples)
            if (Key(s.Labels) == key && double.IsFinite(s.Value)) return s.Value;
        return null;
    }
}
