using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Reports;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Slo;
using ExchangeHealth.TestKit;

namespace ExchangeHealth.Incidents.Tests.Reports;

[Collection(nameof(IncidentReportCollection))]
public sealed class IncidentReportBuilderTests(IncidentReportFixture fixture)
{
    private const double BtcAvailabilityRatio = 20.0 / 120.0;      // 20 overload rejects/s of 100 received + 20 rejected
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(20);
    private static readonly TimeSpan Period = TimeSpan.FromDays(30);

    private IncidentReportBuilder Builder() => new(fixture.Client, fixture.Specs);

    /// <summary>Budget share as the brief defines it: ratio × window / ((1 − objective) × period).</summary>
    private static double Share(double ratio, double objectivePercent) => ratio * Window.TotalSeconds / ((100 - objectivePercent) / 100 * Period.TotalSeconds);

    [Fact]
    public async Task Durations_and_impact_window_come_from_the_incident_times()
    {
        var report = await new IncidentReportBuilder(null, []).BuildAsync(IncidentReportFixture.Details(), IncidentReportFixture.Now, CancellationToken.None);

        Assert.Equal(TimeSpan.FromSeconds(135.25), report.Duration("TTD").Value);            // 10:12:15.250 - 10:10:00
        Assert.Equal(TimeSpan.FromSeconds(108.25), report.Duration("TTA").Value);            // 10:14:03.500 - 10:12:15.250
        Assert.Equal(TimeSpan.FromMinutes(20), report.Duration("TTM").Value);                // 10:30 - 10:10
        Assert.Equal(TimeSpan.FromMinutes(28), report.Duration("TTR").Value);                // 10:38 - 10:10
        Assert.Equal(IncidentReportFixture.Started, report.Window.Start);
        Assert.Equal(IncidentReportFixture.Mitigated, report.Window.End);
        Assert.Equal(ImpactWindowEnd.Mitigated, report.Window.EndKind);
        Assert.Equal(
            [IncidentMarkerKind.Fault, IncidentMarkerKind.Firing, IncidentMarkerKind.Acknowledged, IncidentMarkerKind.Fault, IncidentMarkerKind.Mitigated, IncidentMarkerKind.Resolved],
            report.Markers.Select(m => m.Kind));
        Assert.Equal("fault injected", report.Markers[0].Label);
        // The timeline is handed on sorted by time.
        Assert.Equal(report.Details.Timeline.Select(e => e.At).Order(), report.Details.Timeline.Select(e => e.At));
        // Without Prometheus the report says so instead of failing.
        Assert.Contains(report.Problems, p => p.Contains("No Prometheus", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Missing_times_fall_back_to_the_timeline_and_say_why_when_unknown()
    {
        var details = IncidentReportFixture.Details();
        var open = details with
        {
            Incident = details.Incident with
            {
                Status = IncidentStatus.Acknowledged, DetectedAt = null, AcknowledgedAt = null, AcknowledgedBy = null, MitigatedAt = null, ResolvedAt = null,
            },
            Timeline = [.. details.Timeline.Where(e => e.Kind is not (TimelineKinds.Mitigated or TimelineKinds.Resolved))],
        };
        var now = new DateTimeOffset(2025, 6, 10, 10, 50, 0, TimeSpan.Zero);
        var report = await new IncidentReportBuilder(null, []).BuildAsync(open, now, CancellationToken.None);

        Assert.Equal(IncidentReportFixture.Detected, report.Duration("TTD").To);             // first alert.firing event
        Assert.Equal(IncidentReportFixture.Acknowledged, report.Duration("TTA").To);         // first incident.acknowledged event
        Assert.Null(report.Duration("TTM").Value);
        Assert.Equal("not mitigated yet", report.Duration("TTM").Missing);
        Assert.Equal("not resolved yet", report.Duration("TTR").Missing);
        Assert.Equal(ImpactWindowEnd.Ongoing, report.Window.EndKind);
        Assert.Equal(now, report.Window.End);
    }

    [Fact]
    public void Budget_steps_tile_the_impact_window_exactly()
    {
        var start = new DateTimeOffset(2025, 6, 10, 10, 7, 13, 417, TimeSpan.Zero);
        foreach (var length in new[] { TimeSpan.FromSeconds(20), TimeSpan.FromMinutes(17).Add(TimeSpan.FromMilliseconds(333)), TimeSpan.FromDays(2) })
        {
            var window = new IncidentImpactWindow(start, start + length, ImpactWindowEnd.Mitigated);
            var (step, first, n) = IncidentReportBuilder.BudgetGrid(window);
            Assert.InRange(n, 1, IncidentReportBuilder.MaxBudgetSteps);
            Assert.Equal(window.End, first + (step * (n - 1)));
            // The first step's range starts at the window's start, to within the millisecond rounding of each step.
            Assert.InRange(Math.Abs((first - step - start).TotalMilliseconds), 0, n);
        }
    }

    [Fact]
    public async Task Budget_burned_matches_a_hand_computation()
    {
        var report = await Builder().BuildAsync(IncidentReportFixture.Details(), IncidentReportFixture.Now, CancellationToken.None);
        Assert.Empty(report.Problems);

        // Events SLI: the steps of the window see exactly the events written (every change is on a
        // 15 s sample and the 1 m steps end on samples), so only float arithmetic differs: 1e-9.
        var availability = Assert.Single(report.Budgets, b => b.Slo == "order-entry-availability");
        Assert.Equal("BTC-USD", availability.Series["market"]);                              // ETH-USD burned nothing and is not affected
        Assert.Equal(SliDataSource.SpecQueries, availability.Source);
        Assert.Equal(TimeSpan.FromMinutes(1), availability.Step);
        Assert.Equal(BtcAvailabilityRatio, availability.ErrorRatio!.Value, 1e-9);
        Assert.Equal(24_000, availability.BadEvents!.Value, 1e-6);                           // 20/s x 1200 s; risk rejects are good events
        Assert.Equal(144_000, availability.TotalEvents!.Value, 1e-6);                         // (100 + 20)/s x 1200 s
        Assert.Equal(Share(BtcAvailabilityRatio, 99.95), availability.BudgetBurned!.Value, 1e-9); // 200 s / 1296 s = 15.43 %
        Assert.Equal(0.154321, availability.BudgetBurned!.Value, 1e-6);
        Assert.Equal(TimeSpan.FromSeconds(200), availability.BudgetBurnedTime!.Value);
        Assert.Equal(TimeSpan.FromSeconds(1296), availability.BudgetAllowed);
        Assert.Equal(1.0, availability.Coverage);

        var latency = Assert.Single(report.Budgets, b => b.Slo == "order-ack-latency");
        Assert.Equal(0.3, latency.ErrorRatio!.Value, 1e-9);
        Assert.Equal(Share(0.3, 99.9), latency.BudgetBurned!.Value, 1e-9);                     // 360 s / 2592 s = 13.89 %

        // Raw SLI: avg_over_time sees samples, not time. The 5 bad minutes are 20 samples; a step's
        // range may count its edge sample on either side, so the mean may be off by one sample of
        // the four per step in one of 20 steps: 1/80 = 0.0125.
        var canary = Assert.Single(report.Budgets, b => b.Slo == "canary");
        Assert.Equal(0.25, canary.ErrorRatio!.Value, 0.0125);
        Assert.Equal(Share(canary.ErrorRatio.Value, 99), canary.BudgetBurned!.Value, 1e-12);
    }

    [Fact]
    public async Task The_recording_rule_is_used_when_the_spec_queries_return_nothing_and_the_report_says_so()
    {
        var report = await Builder().BuildAsync(IncidentReportFixture.Details(), IncidentReportFixture.Now, CancellationToken.None);

        var uptime = Assert.Single(report.Budgets, b => b.Slo == "matching-uptime");
        Assert.Equal(SliDataSource.RecordingRule, uptime.Source);
        Assert.Contains("slo:sli_error:ratio_rate5m{sloth_id=\"exchange-matching-uptime\"}", uptime.Query, StringComparison.Ordinal);
        Assert.Equal(0.02, uptime.ErrorRatio!.Value, 1e-12);
        Assert.Equal(Share(0.02, 99.9), uptime.BudgetBurned!.Value, 1e-12);                    // 24 s / 2592 s
        var chart = Assert.Single(report.Charts, c => c.SlothId == "exchange-matching-uptime");
        Assert.Equal(SliDataSource.RecordingRule, chart.Source);
        Assert.Contains("recording rule", IncidentReportHtml.Render(report), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Charts_cover_the_window_with_margins_and_show_the_incident()
    {
        var report = await Builder().BuildAsync(IncidentReportFixture.Details(), IncidentReportFixture.Now, CancellationToken.None);

        Assert.Equal(6, report.Charts.Count);
        foreach (var chart in report.Charts)
        {
            // Window 10:09:30 (the fault) to 10:30, margin max(10 min, 25 %) = 10 min.
            Assert.Equal(new DateTimeOffset(2025, 6, 10, 9, 59, 30, TimeSpan.Zero), chart.From);
            Assert.Equal(new DateTimeOffset(2025, 6, 10, 10, 40, 0, TimeSpan.Zero), chart.To);
            Assert.Null(chart.Missing);
        }
        var availability = report.Charts.Single(c => c.SlothId == "exchange-order-entry-availability");
        Assert.Equal(0.05, availability.Threshold!.Value, 1e-12);                             // the error budget, in percent
        var btc = Assert.Single(availability.Series);
        double peak = btc.Points.Max(p => p.Value ?? 0);
        Assert.Equal(100.0 / 6, peak, 1e-6);
        Assert.Equal(0, btc.Points.First().Value!.Value, 1e-12);

        // p99 of both markets: normally inside the first bucket (0.99 ms); in the incident 15 % of
        // acks are slower than 1 ms, so rank 198 of 200 falls at 1 + 4 x 28/30 ms.
        var p99 = report.Charts.Single(c => c.Kind == IncidentChartKind.AckLatencyP99).Series.Single();
        Assert.Equal(0.99, p99.Points.First().Value!.Value, 1e-9);
        Assert.Equal(1 + (4.0 * 28 / 30), p99.Points.Max(p => p.Value ?? 0), 1e-9);
        var rate = report.Charts.Single(c => c.Kind == IncidentChartKind.CommandRate).Series.Single();
        Assert.All(rate.Points, p => Assert.Equal(200, p.Value!.Value, 1e-9));
    }

    [Fact]
    public async Task A_refused_query_marks_only_its_figure_missing()
    {
        const string broken = """
            version: "prometheus/v1"
            service: "broken"
            slos:
              - name: "typo"
                objective: 99.9
                sli:
                  events:
                    error_query: sum(rate(exh_orders_rejected_total[{{.window}}])
                    total_query: sum(rate(exh_orders_received_total[{{.window}}]))
                alerting:
                  name: TypoBudgetBurn
            """;
        IReadOnlyList<SloServiceSpec> specs = [.. fixture.Specs, .. SloSpecParser.Parse(broken, "broken.yml")];
        var report = await new IncidentReportBuilder(fixture.Client, specs).BuildAsync(IncidentReportFixture.Details(), IncidentReportFixture.Now, CancellationToken.None);

        var typo = Assert.Single(report.Budgets, b => b.Slo == "typo");
        Assert.Null(typo.ErrorRatio);
        Assert.Contains("bad_data", typo.Missing, StringComparison.Ordinal);
        Assert.Contains(report.Problems, p => p.Contains("broken/typo", StringComparison.Ordinal) && p.Contains("bad_data", StringComparison.Ordinal));
        Assert.Equal(BtcAvailabilityRatio, report.Budgets.Single(b => b.Slo == "order-entry-availability").ErrorRatio!.Value, 1e-9);
    }

    [Fact]
    public async Task Unreachable_prometheus_leaves_every_figure_missing_without_waiting_for_each_query()
    {
        // A listener that accepts connections and never answers: each query would wait its 1 s timeout.
        using var blackHole = new TcpListener(IPAddress.Loopback, 0);
        blackHole.Start(backlog: 64);
        var address = new Uri($"http://127.0.0.1:{((IPEndPoint)blackHole.LocalEndpoint).Port}/");
        using var client = new PrometheusApiClient(address, TimeSpan.FromSeconds(1));
        var watch = Stopwatch.StartNew();
        var report = await new IncidentReportBuilder(client, fixture.Specs).BuildAsync(IncidentReportFixture.Details(), IncidentReportFixture.Now, CancellationToken.None);
        watch.Stop();

        // 4 SLOs x up to 3 queries + 2 charts: without the short cut this takes over 10 s.
        Assert.InRange(watch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(5));
        Assert.StartsWith($"Prometheus at {address} was unreachable", report.Problems[0], StringComparison.Ordinal);
        Assert.Equal(4, report.Budgets.Count);
        Assert.All(report.Budgets, b =>
        {
            Assert.Null(b.BudgetBurned);
            Assert.StartsWith("Prometheus unreachable", b.Missing, StringComparison.Ordinal);
        });
        Assert.All(report.Charts, c => Assert.StartsWith("Prometheus unreachable", c.Missing, StringComparison.Ordinal));
        Assert.Equal(TimeSpan.FromMinutes(20), report.Duration("TTM").Value);                 // what does not need Prometheus is there
    }

    [Fact]
    public async Task Credentials_in_the_prometheus_url_never_reach_the_report()
    {
        int port = LoopbackPort.Free(); // nothing listens: connection refused
        using var client = new PrometheusApiClient(new Uri($"http://reporter:s3cret-token@127.0.0.1:{port}/"), TimeSpan.FromSeconds(2));
        var report = await new IncidentReportBuilder(client, fixture.Specs).BuildAsync(IncidentReportFixture.Details(), IncidentReportFixture.Now, CancellationToken.None);

        string all = IncidentReportHtml.Render(report) + IncidentReportMarkdown.Render(report);
        Assert.DoesNotContain("s3cret-token", all, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{port}", all, StringComparison.Ordinal);
    }
}
