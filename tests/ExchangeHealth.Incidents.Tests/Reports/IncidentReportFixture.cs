using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Slo;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Incidents.Tests.Reports;

/// <summary>The report tests share one real Prometheus loaded with the incident's SLI data.</summary>
[CollectionDefinition(nameof(IncidentReportCollection))]
public sealed class IncidentReportCollection : ICollectionFixture<IncidentReportFixture>;

/// <summary>
/// A real Prometheus (TestKit remote-write mode) holding two hours of engine and canary metrics at a
/// 15 s scrape interval, 2025-06-10 09:00 to 11:00 UTC, with one incident on BTC-USD from 10:10 to
/// 10:30 that the tests can compute by hand:
/// <list type="bullet">
/// <item><c>exh_orders_received_total</c> 100/s per market (BTC-USD, ETH-USD) throughout;</item>
/// <item><c>exh_orders_rejected_total{reason="overload"}</c> 20/s for BTC-USD in (10:10, 10:30], 0 otherwise
/// and for ETH-USD; <c>{reason="risk"}</c> 10/s for BTC-USD throughout (the client's doing: good events);</item>
/// <item><c>exh_order_ack_latency_seconds</c> 100 acks/s per market, all under 1 ms except 30 % between
/// 1 and 5 ms for BTC-USD in (10:10, 10:30];</item>
/// <item><c>exh_probe_success</c> 0 for BTC-USD from 10:10:00 to 10:14:45 (20 samples), else 1;</item>
/// <item><c>slo:sli_error:ratio_rate5m{sloth_id="exchange-matching-uptime"}</c> 0.02 from 10:10 to 10:30, else 0
/// (that SLO's own query names a metric that does not exist, so the report must fall back to the rule).</item>
/// </list>
/// Counter samples at t count the events of the 15 s before t, and every change is on a sample, so
/// the impact window's steps see exactly the events written.
/// </summary>
public sealed class IncidentReportFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset DataStart = new(2025, 6, 10, 9, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset DataEnd = new(2025, 6, 10, 11, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset Started = new(2025, 6, 10, 10, 10, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset Detected = new(2025, 6, 10, 10, 12, 15, 250, TimeSpan.Zero);
    public static readonly DateTimeOffset Acknowledged = new(2025, 6, 10, 10, 14, 3, 500, TimeSpan.Zero);
    public static readonly DateTimeOffset Mitigated = new(2025, 6, 10, 10, 30, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset Resolved = new(2025, 6, 10, 10, 38, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset FaultInjected = new(2025, 6, 10, 10, 9, 30, TimeSpan.Zero);
    public static readonly DateTimeOffset FaultCleared = new(2025, 6, 10, 10, 29, 50, TimeSpan.Zero);

    /// <summary>The report time of the tests (after the data; the window is closed).</summary>
    public static readonly DateTimeOffset Now = DataEnd;

    public const string Title = "Order entry overload on BTC-USD <script>alert(\"title\")</script>";
    public const string ScriptNote = "<script>document.title='pwned'</script> and '; DROP TABLE incidents; -- & <b>bold</b>";
    public const string PipeFollowUp = "Raise the inbound ring size | check **fsync** [runbook](http://example.invalid/x)";

    public const string SpecYaml = """
        version: "prometheus/v1"
        service: "exchange"
        labels:
          owner: "exchange-core"
        slos:
          - name: "order-entry-availability"
            objective: 99.95
            sli:
              events:
                error_query: |
                  sum by (market) (rate(exh_orders_rejected_total{job="exh-engine",reason=~"overload|internal"}[{{.window}}]))
                total_query: |
                  sum by (market) (rate(exh_orders_received_total{job="exh-engine"}[{{.window}}]))
                  +
                  sum by (market) (rate(exh_orders_rejected_total{job="exh-engine",reason=~"overload|internal"}[{{.window}}]))
            alerting:
              name: OrderEntryAvailabilityBudgetBurn
            exh:
              group_by: [market]
          - name: "order-ack-latency"
            objective: 99.9
            sli:
              events:
                error_query: |
                  sum by (market) (rate(exh_order_ack_latency_seconds_count{job="exh-engine"}[{{.window}}]))
                  -
                  sum by (market) (rate(exh_order_ack_latency_seconds_bucket{job="exh-engine",le="0.001"}[{{.window}}]))
                total_query: sum by (market) (rate(exh_order_ack_latency_seconds_count{job="exh-engine"}[{{.window}}]))
            alerting:
              name: OrderAckLatencyBudgetBurn
            exh:
              group_by: [market]
          - name: "canary"
            objective: 99
            sli:
              raw:
                error_ratio_query: 1 - avg by (market) (avg_over_time(exh_probe_success{job="exh-canary"}[{{.window}}]))
            alerting:
              name: CanaryBudgetBurn
            exh:
              group_by: [market]
          - name: "matching-uptime"
            objective: 99.9
            sli:
              raw:
                error_ratio_query: 1 - avg_over_time(exh_metric_not_in_this_test[{{.window}}])
            alerting:
              name: MatchingUptimeBudgetBurn
        """;

    public PrometheusServer Prometheus { get; private set; } = null!;

    public PrometheusApiClient Client { get; private set; } = null!;

    public IReadOnlyList<SloServiceSpec> Specs { get; } = SloSpecParser.Parse(SpecYaml, "test-slos.yml");

    public async Task InitializeAsync()
    {
        Prometheus = await PrometheusServer.StartForRemoteWriteAsync(TimeSpan.FromHours(3));
        Client = new PrometheusApiClient(Prometheus.BaseAddress, TimeSpan.FromSeconds(20));
        await Prometheus.RemoteWriteAsync(History());
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (Prometheus is not null) await Prometheus.DisposeAsync();
    }

    /// <summary>The incident as the lifecycle would hand it over: mitigated at 10:30, resolved at 10:38; timeline deliberately unsorted.</summary>
    public static IncidentDetails Details(string title = Title, long id = 42)
    {
        var labels = LabelSet.Of("alertname", "OrderEntryAvailabilityBudgetBurn", "market", "BTC-USD", "severity", "critical", "sloth_id", "exchange-order-entry-availability", "exh_tier", "page-fast");
        var incident = new Incident
        {
            Id = id,
            Title = title,
            Severity = IncidentSeverity.Sev2,
            Status = IncidentStatus.Resolved,
            Commander = "alice",
            Markets = ["BTC-USD"],
            Services = ["exchange"],
            GroupKey = "{}:{alertname=\"OrderEntryAvailabilityBudgetBurn\"}",
            StartedAt = Started,
            DetectedAt = Detected,
            AcknowledgedAt = Acknowledged,
            AcknowledgedBy = "slack:U0123 (alice)",
            MitigatedAt = Mitigated,
            ResolvedAt = Resolved,
            CreatedAt = Detected,
            UpdatedAt = Resolved,
            Version = 6,
        };
        var alert = new IncidentAlert(id, labels.FingerprintHex, "OrderEntryAvailabilityBudgetBurn", labels,
            LabelSet.Of("summary", "High error budget burn for BTC-USD <b>14.4x</b>", "runbook_url", "docs/runbooks.md#orderentryavailabilitybudgetburn"),
            Started, Detected, Mitigated, Detected);
        List<TimelineEvent> timeline =
        [
            Event(11, Resolved, TimelineSources.Slack, "slack:U0123 (alice)", TimelineKinds.Resolved, "Resolved by alice", id),
            Event(1, FaultInjected, TimelineSources.Engine, "engine", "engine.fault.injected", "Fault injected: journal fsync stall 200 ms", null),
            Event(2, Started, TimelineSources.Alerting, "monitor", TimelineKinds.AlertPending, "OrderEntryAvailabilityBudgetBurn pending (market=BTC-USD)", null),
            Event(3, Detected, TimelineSources.Alerting, "monitor", TimelineKinds.AlertFiring, "OrderEntryAvailabilityBudgetBurn firing (market=BTC-USD)", null),
            Event(4, Detected.AddMilliseconds(50), TimelineSources.Incident, "monitor", TimelineKinds.Opened, "Incident #42 opened (SEV2)", id),
            Event(5, Detected.AddMilliseconds(850), TimelineSources.Notify, "monitor", TimelineKinds.NotificationSent, "Paged slack(#exh-pages)", null),
            Event(6, Acknowledged, TimelineSources.Slack, "slack:U0123 (alice)", TimelineKinds.Acknowledged, "Acknowledged by alice", id),
            Event(7, new DateTimeOffset(2025, 6, 10, 10, 20, 0, TimeSpan.Zero), TimelineSources.Slack, "slack:U0456 (bob)", TimelineKinds.Note, ScriptNote, id),
            Event(8, FaultCleared, TimelineSources.Engine, "engine", "engine.fault.cleared", "Fault cleared", null),
            Event(10, Mitigated, TimelineSources.Incident, "monitor", TimelineKinds.Mitigated, "Every alert resolved: mitigated", id),
            Event(9, Mitigated, TimelineSources.Alerting, "monitor", TimelineKinds.AlertResolved, "OrderEntryAvailabilityBudgetBurn resolved (market=BTC-USD)", null),
        ];
        List<FollowUp> followUps =
        [
            new(1, id, PipeFollowUp, "bob", false, Resolved, "slack:U0123 (alice)"),
            new(2, id, "Alert on fsync latency before the ring fills", null, true, Resolved, "cli:carol"),
        ];
        return new IncidentDetails(incident, [alert], timeline, followUps);
    }

    /// <summary>How many timeline events <see cref="Details"/> has.</summary>
    public const int TimelineCount = 11;

    private static TimelineEvent Event(long id, DateTimeOffset at, string source, string actor, string kind, string text, long? incidentId) => new()
    {
        Id = id,
        IncidentId = incidentId,
        At = at,
        Source = source,
        Actor = actor,
        Kind = kind,
        Text = text,
        DedupKey = $"{kind}:{id}",
    };

    private static bool InIncident(DateTimeOffset t) => t > Started && t <= Mitigated;

    private static IEnumerable<RemoteWriteSeries> History()
    {
        var times = new List<DateTimeOffset>();
        for (var t = DataStart; t <= DataEnd; t += TimeSpan.FromSeconds(15)) times.Add(t);
        foreach (string market in new[] { "BTC-USD", "ETH-USD" })
        {
            bool btc = market == "BTC-USD";
            yield return Counter("exh_orders_received_total", Engine(market), times, _ => 1500);
            yield return Counter("exh_orders_rejected_total", Engine(market, ("reason", "overload")), times, t => btc && InIncident(t) ? 300 : 0);
            if (btc) yield return Counter("exh_orders_rejected_total", Engine(market, ("reason", "risk")), times, _ => 150);
            yield return Counter("exh_order_ack_latency_seconds_count", Engine(market), times, _ => 1500);
            yield return Counter("exh_order_ack_latency_seconds_bucket", Engine(market, ("le", "0.001")), times, t => btc && InIncident(t) ? 1050 : 1500);
            yield return Counter("exh_order_ack_latency_seconds_bucket", Engine(market, ("le", "0.005")), times, _ => 1500);
            yield return Counter("exh_order_ack_latency_seconds_bucket", Engine(market, ("le", "+Inf")), times, _ => 1500);
            var probe = new Dictionary<string, string> { ["__name__"] = "exh_probe_success", ["job"] = "exh-canary", ["market"] = market };
            yield return new RemoteWriteSeries(probe,
                [.. times.Select(t => (t.ToUnixTimeMilliseconds(), btc && t >= Started && t < Started.AddMinutes(5) ? 0.0 : 1.0))]);
        }
        var rule = new Dictionary<string, string>
        {
            ["__name__"] = "slo:sli_error:ratio_rate5m",
            ["sloth_id"] = "exchange-matching-uptime",
            ["sloth_service"] = "exchange",
            ["sloth_slo"] = "matching-uptime",
            ["sloth_window"] = "5m",
            ["owner"] = "exchange-core",
        };
        yield return new RemoteWriteSeries(rule, [.. times.Select(t => (t.ToUnixTimeMilliseconds(), t >= Started && t <= Mitigated ? 0.02 : 0.0))]);
    }

    private static Dictionary<string, string> Engine(string market, params (string Name, string Value)[] extra)
    {
        var labels = new Dictionary<string, string> { ["job"] = "exh-engine", ["instance"] = "engine:9100", ["market"] = market };
        foreach (var (n, v) in extra) labels[n] = v;
        return labels;
    }

    private static RemoteWriteSeries Counter(string name, Dictionary<string, string> labels, List<DateTimeOffset> times, Func<DateTimeOffset, double> increment)
    {
        var all = new Dictionary<string, string>(labels) { ["__name__"] = name };
        double value = 0;
        var samples = new List<(long, double)>();
        foreach (var t in times)
        {
            if (t > times[0]) value += increment(t);
            samples.Add((t.ToUnixTimeMilliseconds(), value));
        }
        return new RemoteWriteSeries(all, samples);
    }
}

/// <summary>A clock standing still (the report only reads the time).</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
