using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Reports;
using ExchangeHealth.Monitor.Slo;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Monitor.Tests.Reports;

/// <summary>
/// Report tests share one real Prometheus loaded with 45 days of SLI history (and their CLI tests
/// capture the console), so the collection runs alone.
/// </summary>
[CollectionDefinition(nameof(SloReportCollection), DisableParallelization = true)]
public sealed class SloReportCollection : ICollectionFixture<SloReportFixture>;

/// <summary>
/// A real Prometheus with SLI history we control, written through its remote-write receiver at
/// one-minute resolution for the 45 days before <see cref="At"/> (2025-03-20 12:00 UTC):
/// <list type="bullet">
/// <item><c>test_requests_total</c> 10/s for BTC-USD and ETH-USD;</item>
/// <item><c>test_errors_total</c> for BTC-USD: 2/s from 2025-02-25 10:00 to 10:30 (3,600 errors)
/// and 1/s during the bad hour 2025-03-10 08:00 to 09:00 (3,600 errors); ETH-USD none;</item>
/// <item><c>test_probe_success</c> 1, except 0 for BTC-USD from 2025-03-10 08:00 to 10:00 (120 samples);</item>
/// <item><c>ALERTS</c> every 15 s as Prometheus would write them for the burn: page-fast firing
/// 08:09 to 09:04 and ticket-fast 08:20 to 10:00 on 03-10, page-fast 10:03 to 10:33 on 02-25, plus a
/// pending series and an SLI-absent alert that must not count as incidents.</item>
/// </list>
/// </summary>
public sealed class SloReportFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset At = new(2025, 3, 20, 12, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset DataStart = At - TimeSpan.FromDays(45);
    public static readonly DateTimeOffset BadHour = new(2025, 3, 10, 8, 0, 0, TimeSpan.Zero);
    public static readonly DateTimeOffset FebruaryBurn = new(2025, 2, 25, 10, 0, 0, TimeSpan.Zero);

    public const string SpecYaml = """
        version: "prometheus/v1"
        service: "test"
        slos:
          - name: "availability"
            objective: 99.9
            description: "Requests per market not failed."
            sli:
              events:
                error_query: sum by (market) (rate(test_errors_total[{{.window}}]))
                total_query: sum by (market) (rate(test_requests_total[{{.window}}]))
            alerting:
              name: TestAvailabilityBudgetBurn
            exh:
              group_by: [market]
          - name: "probe"
            objective: 99
            sli:
              raw:
                error_ratio_query: 1 - avg by (market) (avg_over_time(test_probe_success[{{.window}}]))
            alerting:
              name: TestProbeBudgetBurn
            exh:
              group_by: [market]
          - name: "latency"
            objective: 99.5
            sli:
              events:
                error_query: sum(rate(test_missing_errors_total[{{.window}}]))
                total_query: sum(rate(test_missing_total[{{.window}}]))
            alerting:
              name: TestLatencyBudgetBurn
        """;

    public PrometheusServer Prometheus { get; private set; } = null!;

    public PrometheusApiClient Client { get; private set; } = null!;

    public IReadOnlyList<SloServiceSpec> Specs { get; } = [Parse()];

    /// <summary>The test spec (<see cref="SpecYaml"/>) parsed.</summary>
    public static SloServiceSpec Parse() => SloSpecParser.Parse(SpecYaml, "test-slos.yml").Single();

    /// <summary>The report at <see cref="At"/> over both periods, built once.</summary>
    public SloReport Report { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Prometheus = await PrometheusServer.StartForRemoteWriteAsync(TimeSpan.FromDays(50));
        Client = new PrometheusApiClient(Prometheus.BaseAddress, TimeSpan.FromSeconds(20));
        foreach (var series in History())
            await Prometheus.RemoteWriteAsync([series]);
        Report = await new SloReportBuilder(Client).BuildAsync(Specs, At, SloReportPeriods.Both, At + TimeSpan.FromMinutes(5), CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (Prometheus is not null) await Prometheus.DisposeAsync();
    }

    public SloReportEntry Entry(string slo, string market = "") =>
        Report.Slos.Single(e => e.Slo == slo && e.Series["market"] == market);

    private static IEnumerable<RemoteWriteSeries> History()
    {
        int minutes = (int)(At - DataStart).TotalMinutes;
        var times = Enumerable.Range(0, minutes + 1).Select(i => DataStart + TimeSpan.FromMinutes(i)).ToList();
        foreach (string market in new[] { "BTC-USD", "ETH-USD" })
        {
            yield return Series("test_requests_total", market, times.Select((t, i) => (t, 600.0 * i)));
            double errors = 0;
            var errorPoints = new List<(DateTimeOffset, double)>();
            foreach (var t in times)
            {
                if (market == "BTC-USD")
                {
                    // the counter at t counts the errors of the minute before t
                    if (t > FebruaryBurn && t <= FebruaryBurn.AddMinutes(30)) errors += 120;
                    if (t > BadHour && t <= BadHour.AddHours(1)) errors += 60;
                }
                errorPoints.Add((t, errors));
            }
            yield return Series("test_errors_total", market, errorPoints);
            yield return Series("test_probe_success", market,
                times.Select(t => (t, market == "BTC-USD" && t >= BadHour && t < BadHour.AddHours(2) ? 0.0 : 1.0)));
        }

        // One series per label set, its samples ascending: February's page-fast episode, then March's.
        yield return new RemoteWriteSeries(Alert("page", "page-fast", "firing", default, default).Labels,
            [.. Every15s(FebruaryBurn.AddMinutes(3), FebruaryBurn.AddMinutes(33)), .. Every15s(BadHour.AddMinutes(9), BadHour.AddMinutes(64))]);
        yield return Alert("ticket", "ticket-fast", "firing", BadHour.AddMinutes(20), BadHour.AddMinutes(120));
        yield return Alert("page", "page-fast", "pending", BadHour.AddMinutes(5), BadHour.AddMinutes(8).AddSeconds(45));
        // The SLI-absent alert has no sloth_severity: not a budget burn.
        yield return new RemoteWriteSeries(
            new Dictionary<string, string>
            {
                ["__name__"] = "ALERTS",
                ["alertname"] = "TestAvailabilityBudgetBurnSLIAbsent",
                ["alertstate"] = "firing",
                ["sloth_id"] = "test-availability",
                ["sloth_service"] = "test",
                ["sloth_slo"] = "availability",
                ["severity"] = "warning",
            },
            Every15s(new DateTimeOffset(2025, 3, 15, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2025, 3, 15, 1, 0, 0, TimeSpan.Zero)));
    }

    private static RemoteWriteSeries Series(string name, string market, IEnumerable<(DateTimeOffset Time, double Value)> points) =>
        new(new Dictionary<string, string> { ["__name__"] = name, ["job"] = "test", ["market"] = market },
            [.. points.Select(p => (p.Time.ToUnixTimeMilliseconds(), p.Value))]);

    private static RemoteWriteSeries Alert(string severity, string tier, string state, DateTimeOffset from, DateTimeOffset to) =>
        new(new Dictionary<string, string>
        {
            ["__name__"] = "ALERTS",
            ["alertname"] = "TestAvailabilityBudgetBurn",
            ["alertstate"] = state,
            ["sloth_id"] = "test-availability",
            ["sloth_service"] = "test",
            ["sloth_slo"] = "availability",
            ["sloth_severity"] = severity,
            ["exh_tier"] = tier,
            ["market"] = "BTC-USD",
            ["severity"] = severity == "page" ? "critical" : "warning",
        },
            Every15s(from, to));

    /// <summary>Samples of 1 every 15 s from <paramref name="from"/> to <paramref name="to"/> inclusive, then a staleness marker as the rule manager writes.</summary>
    private static List<(long, double)> Every15s(DateTimeOffset from, DateTimeOffset to)
    {
        var list = new List<(long, double)>();
        for (var t = from; t <= to; t += TimeSpan.FromSeconds(15)) list.Add((t.ToUnixTimeMilliseconds(), 1));
        list.Add(((to + TimeSpan.FromSeconds(15)).ToUnixTimeMilliseconds(), PrometheusRemoteWrite.StaleNaN));
        return list;
    }
}

/// <summary>A clock standing still at one instant (the report only reads the time).</summary>
internal sealed class FixedTimeProvider(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
