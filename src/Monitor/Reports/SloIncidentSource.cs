using System.Globalization;
using System.Text;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Slo;

namespace ExchangeHealth.Monitor.Reports;

/// <summary>
/// An incident that burned an SLO's budget: for now an alert firing episode (see
/// <see cref="PrometheusAlertsIncidentSource"/>); later a record of the incident store (issue 5).
/// </summary>
/// <param name="SlothId">The SLO's <c>sloth_id</c>.</param>
/// <param name="Series">The SLO's <c>exh.group_by</c> labels of the incident (e.g. <c>{market="BTC-USD"}</c>); empty for an SLO without group_by.</param>
/// <param name="Start">When it started (first firing evaluation for an alert episode).</param>
/// <param name="End">When it ended (last firing evaluation), or the query end when <see cref="Ongoing"/>.</param>
/// <param name="Severity"><c>page</c> when any page alert fired in it, else <c>ticket</c> (Sloth's <c>sloth_severity</c>).</param>
/// <param name="Alerts">What fired, e.g. <c>OrderEntryAvailabilityBudgetBurn page-fast</c>, sorted.</param>
/// <param name="Ongoing">Still firing at the end of the queried range.</param>
/// <param name="Reference">An identifier or link (incident id, URL); null for alert episodes.</param>
public sealed record SloIncident(
    string SlothId,
    LabelSet Series,
    DateTimeOffset Start,
    DateTimeOffset End,
    string Severity,
    IReadOnlyList<string> Alerts,
    bool Ongoing,
    string? Reference = null)
{
    /// <summary><c>End - Start</c>.</summary>
    public TimeSpan Duration => End - Start;
}

/// <summary>
/// Where an SLO report finds the incidents that burned an SLO's budget. Ships with
/// <see cref="PrometheusAlertsIncidentSource"/> (alert firing episodes from Prometheus's own
/// <c>ALERTS</c> series); the incident store (issue 5) can implement it to report real incidents.
/// </summary>
public interface ISloIncidentSource
{
    /// <summary>A short name for the report's footer, e.g. <c>Prometheus ALERTS</c>.</summary>
    string Name { get; }

    /// <summary>The incidents of <paramref name="slo"/> overlapping [<paramref name="start"/>, <paramref name="end"/>], in start order (not clipped).</summary>
    /// <param name="spec">The SLO's service spec.</param>
    /// <param name="slo">The SLO.</param>
    /// <param name="start">Range start.</param>
    /// <param name="end">Range end.</param>
    /// <param name="cancellationToken">Cancels the look-up.</param>
    /// <returns>Incidents; their <see cref="SloIncident.Series"/> holds the SLO's group_by labels.</returns>
    /// <exception cref="PrometheusApiException">(The Prometheus implementation) a query failed or Prometheus is unreachable.</exception>
    Task<IReadOnlyList<SloIncident>> GetIncidentsAsync(SloServiceSpec spec, SloDefinition slo, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken);
}

/// <summary>
/// Incidents from Prometheus's <c>ALERTS{alertstate="firing"}</c> series of the SLO's burn-rate
/// alerts (<c>sloth_id</c> of the SLO, <c>sloth_severity</c> page or ticket; the SLI-absent alert is
/// not an incident of budget burn). An incident is a contiguous firing episode of any of those alerts
/// for one series of the SLO (its <c>exh.group_by</c> labels): page-fast and ticket tiers firing
/// together for BTC-USD are one incident, with severity page.
/// </summary>
/// <remarks>
/// Episodes are found with a <c>query_range</c> of <c>count_over_time(ALERTS{...}[step - 1ms])</c>: a
/// step with any firing sample is "firing", which needs no staleness marker and misses no short
/// alert. The step is the smallest of 15 s, 30 s, 1 m ... 2 h that gives at most 10,000 points over
/// the range (5 min over 30 days) and is at least the alert rules' evaluation interval (the SLO's
/// <c>interval.alert</c>, else <see cref="EvaluationInterval"/>), so that a firing alert has a sample
/// in every step. Firing steps at most one empty step apart are one episode (a rule group that missed
/// an evaluation, or an alert that resolved and fired again within a step, is one incident). The start
/// and end are then refined to 1 s (step/300 above 5 min) with a second query over the first and last
/// step of each episode: start is the first evaluation at which the alert was firing, end the last one
/// (Prometheus writes <c>ALERTS</c> at each evaluation while firing).
/// </remarks>
public sealed class PrometheusAlertsIncidentSource : ISloIncidentSource
{
    /// <summary>Prometheus's default global <c>evaluation_interval</c>, assumed for SLOs without <c>interval.alert</c>.</summary>
    public static readonly TimeSpan DefaultEvaluationInterval = TimeSpan.FromMinutes(1);

    private static readonly TimeSpan[] _steps =
        [TimeSpan.FromSeconds(15), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(5),
         TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromHours(2)];

    private readonly PrometheusApiClient _prometheus;

    /// <summary>Creates the source.</summary>
    /// <param name="prometheus">The PromQL API holding the <c>ALERTS</c> series (the Prometheus that evaluates the SLO rules).</param>
    /// <param name="evaluationInterval">
    /// The global <c>evaluation_interval</c> of that Prometheus, used for SLOs whose spec sets no
    /// <c>interval.alert</c>; null for <see cref="DefaultEvaluationInterval"/> (1 m).
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="evaluationInterval"/> is not positive.</exception>
    public PrometheusAlertsIncidentSource(PrometheusApiClient prometheus, TimeSpan? evaluationInterval = null)
    {
        ArgumentNullException.ThrowIfNull(prometheus);
        if (evaluationInterval is { } e && e <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(evaluationInterval), "must be positive");
        _prometheus = prometheus;
        EvaluationInterval = evaluationInterval ?? DefaultEvaluationInterval;
    }

    /// <summary>The evaluation interval assumed for SLOs without <c>interval.alert</c>.</summary>
    public TimeSpan EvaluationInterval { get; }

    /// <inheritdoc/>
    public string Name => "Prometheus ALERTS (firing episodes of the SLO's page and ticket alerts)";

    /// <summary>Most points a range query may return per series (Prometheus refuses more than 11,000).</summary>
    internal const int MaxPoints = 10_000;

    /// <summary>
    /// The scan step for a range: the smallest of 15 s, 30 s, 1 m, 2 m, 5 m ... 2 h giving at most
    /// <see cref="MaxPoints"/> points and not shorter than <paramref name="evaluationInterval"/>.
    /// </summary>
    internal static TimeSpan ScanStep(TimeSpan range, TimeSpan evaluationInterval)
    {
        foreach (var s in _steps)
            if (range / s <= MaxPoints && s >= evaluationInterval) return s;
        return TimeSpan.FromSeconds(Math.Ceiling(Math.Max(range.TotalSeconds / MaxPoints, evaluationInterval.TotalSeconds)));
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<SloIncident>> GetIncidentsAsync(SloServiceSpec spec, SloDefinition slo, DateTimeOffset start, DateTimeOffset end, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(slo);
        if (end <= start) return [];
        var step = ScanStep(end - start, slo.Intervals.Alert ?? EvaluationInterval);
        long n = (long)Math.Floor((end - start) / step);
        var first = end - step * n; // grid ends exactly at end; the first window may start up to one step before start
        string selector = Selector(slo.Id, LabelSet.Empty);
        var series = await _prometheus.QueryRangeAsync(
            $"count_over_time(ALERTS{selector}[{JustUnder(step)}])", first, end, step, cancellationToken: cancellationToken).ConfigureAwait(false);

        // Per incident series: firing steps (window end times) and what fired in them.
        var byIdentity = new Dictionary<LabelSet, SortedDictionary<DateTimeOffset, HashSet<(string Alert, string Severity)>>>();
        foreach (var s in series)
        {
            var identity = s.Labels.Only(slo.Extensions.GroupBy);
            if (!byIdentity.TryGetValue(identity, out var steps)) byIdentity[identity] = steps = [];
            string severity = s.Labels["sloth_severity"];
            string tier = s.Labels["exh_tier"];
            string alert = (s.Labels["alertname"] + " " + (tier.Length > 0 ? tier : severity)).Trim();
            foreach (var (time, value) in s.Points)
            {
                if (!(value > 0)) continue;
                if (!steps.TryGetValue(time, out var set)) steps[time] = set = [];
                set.Add((alert, severity));
            }
        }

        var incidents = new List<SloIncident>();
        foreach (var (identity, steps) in byIdentity)
        {
            var times = steps.Keys.ToList();
            int i = 0;
            while (i < times.Count)
            {
                int j = i;
                while (j + 1 < times.Count && times[j + 1] - times[j] <= step * 2) j++;
                var what = new HashSet<(string Alert, string Severity)>();
                for (int k = i; k <= j; k++) what.UnionWith(steps[times[k]]);
                var (episodeStart, episodeEnd) = await RefineAsync(slo, identity, times[i], times[j], step, cancellationToken).ConfigureAwait(false);
                if (episodeStart < start) episodeStart = start;
                incidents.Add(new SloIncident(
                    slo.Id, identity, episodeStart, episodeEnd,
                    what.Any(w => w.Severity == "page") ? "page" : "ticket",
                    [.. what.Select(w => w.Alert).Distinct().Order(StringComparer.Ordinal)],
                    Ongoing: times[j] == end));
                i = j + 1;
            }
        }
        return [.. incidents.OrderBy(x => x.Start).ThenBy(x => x.Series.ToString(), StringComparer.Ordinal)];
    }

    /// <summary>
    /// First and last firing sample of an episode whose first firing step ends at
    /// <paramref name="firstStep"/> and last at <paramref name="lastStep"/>, to 1 s (or step/300).
    /// </summary>
    private async Task<(DateTimeOffset Start, DateTimeOffset End)> RefineAsync(
        SloDefinition slo, LabelSet identity, DateTimeOffset firstStep, DateTimeOffset lastStep, TimeSpan step, CancellationToken cancellationToken)
    {
        var coarseStart = firstStep - step;
        if (step <= TimeSpan.FromSeconds(1)) return (coarseStart, lastStep);
        var fine = TimeSpan.FromSeconds(Math.Max(1, Math.Ceiling(step.TotalSeconds / 300)));
        string expr = $"count(count_over_time(ALERTS{Selector(slo.Id, identity)}[{JustUnder(fine)}]))";

        var startSeries = await _prometheus.QueryRangeAsync(expr, coarseStart + fine, firstStep, fine, cancellationToken: cancellationToken).ConfigureAwait(false);
        var start = startSeries.SelectMany(s => s.Points).Where(p => p.Value > 0).Select(p => p.Time).DefaultIfEmpty(firstStep).Min();

        var endSeries = await _prometheus.QueryRangeAsync(expr, lastStep - step + fine, lastStep, fine, cancellationToken: cancellationToken).ConfigureAwait(false);
        var end = endSeries.SelectMany(s => s.Points).Where(p => p.Value > 0).Select(p => p.Time).DefaultIfEmpty(lastStep).Max();
        // A fine point at t covers (t - fine, t]: the sample lies at most one fine step before t
        // (exactly at t for samples on whole seconds with a 1 s step).
        return (start, end);
    }

    /// <summary>The <c>ALERTS</c> selector of an SLO's firing burn-rate alerts, with the identity labels as equality matchers.</summary>
    internal static string Selector(string slothId, LabelSet identity)
    {
        var sb = new StringBuilder("{alertstate=\"firing\", sloth_id=").Append(Quote(slothId)).Append(", sloth_severity=~\"page|ticket\"");
        foreach (var (name, value) in identity) sb.Append(", ").Append(name).Append('=').Append(Quote(value));
        return sb.Append('}').ToString();
    }

    /// <summary>A PromQL string literal.</summary>
    internal static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\"";

    /// <summary>
    /// A range 1 ms shorter than <paramref name="span"/> (<c>299999ms</c> for 5 min), so that the
    /// windows of consecutive steps do not overlap: Prometheus 2 includes both ends of a range, and a
    /// sample on a step boundary would otherwise count in two steps (and end an episode one step late).
    /// </summary>
    internal static string JustUnder(TimeSpan span) =>
        Math.Max(1, (long)span.TotalMilliseconds - 1).ToString(CultureInfo.InvariantCulture) + "ms";

    /// <summary>A PromQL duration in whole seconds, e.g. <c>300s</c>.</summary>
    internal static string Seconds(TimeSpan span) => ((long)Math.Ceiling(span.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s";
}
