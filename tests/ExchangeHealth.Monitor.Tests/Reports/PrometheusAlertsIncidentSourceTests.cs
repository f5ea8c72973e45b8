using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Reports;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Monitor.Tests.Reports;

/// <summary>
/// The incident source on <c>ALERTS</c> series written by a real Prometheus evaluating an alerting
/// rule (not synthesized): labels, state and sample timing are Prometheus's own.
/// </summary>
public sealed class PrometheusAlertsIncidentSourceTests : IDisposable
{
    private readonly string _rules = Path.Combine(Path.GetTempPath(), "exh-report-rules-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_rules)) Directory.Delete(_rules, recursive: true);
    }

    [Fact]
    public async Task FiringRule_IsOneOngoingIncident_StartingAtItsActiveTime()
    {
        Directory.CreateDirectory(_rules);
        // Evaluated every second; the pending SLI-absent style alert and another SLO's alert must not count.
        File.WriteAllText(Path.Combine(_rules, "live.yml"), """
            groups:
              - name: live
                interval: 1s
                rules:
                  - alert: TestAvailabilityBudgetBurn
                    expr: vector(1)
                    labels: {sloth_id: test-availability, sloth_service: test, sloth_slo: availability, sloth_severity: page, exh_tier: page-fast, market: BTC-USD, severity: critical}
                  - alert: TestAvailabilityBudgetBurn
                    expr: vector(1)
                    for: 1h
                    labels: {sloth_id: test-availability, sloth_service: test, sloth_slo: availability, sloth_severity: ticket, exh_tier: ticket-slow, market: ETH-USD, severity: warning}
                  - alert: OtherBudgetBurn
                    expr: vector(1)
                    labels: {sloth_id: test-other, sloth_severity: page, market: BTC-USD}
            """);
        await using var prometheus = await PrometheusServer.StartAsync(["127.0.0.1:9"], TimeSpan.FromSeconds(1), _rules);
        using var client = new PrometheusApiClient(prometheus.BaseAddress);
        await prometheus.WaitForAsync("count_over_time(ALERTS{alertstate=\"firing\", sloth_id=\"test-availability\"}[1m]) >= 3", s => s.Count == 1, TimeSpan.FromSeconds(15));

        var spec = SloReportFixture.Parse();
        var slo = spec.Slos.Single(s => s.Name == "availability");
        var end = DateTimeOffset.FromUnixTimeSeconds((await client.QueryAsync("time()")).Samples.Single().Timestamp.ToUnixTimeSeconds());
        var incidents = await new PrometheusAlertsIncidentSource(client).GetIncidentsAsync(spec, slo, end - TimeSpan.FromMinutes(5), end, CancellationToken.None);

        // The raw samples Prometheus wrote (a range-vector query, which PrometheusApiClient does not offer).
        using var http = new HttpClient { BaseAddress = prometheus.BaseAddress };
        string query = Uri.EscapeDataString("ALERTS{alertstate=\"firing\", sloth_id=\"test-availability\", market=\"BTC-USD\"}[5m]");
        using var doc = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri($"api/v1/query?query={query}&time={end.ToUnixTimeSeconds()}", UriKind.Relative)));
        var values = doc.RootElement.GetProperty("data").GetProperty("result")[0].GetProperty("values");
        double firstSample = values[0][0].GetDouble();

        var incident = Assert.Single(incidents);
        Assert.Equal(LabelSet.Of("market", "BTC-USD"), incident.Series);
        Assert.Equal("page", incident.Severity);
        Assert.Equal(["TestAvailabilityBudgetBurn page-fast"], incident.Alerts);
        Assert.True(incident.Ongoing);
        // Start is the first firing evaluation, read to the second (the 1 s step containing it ends at Start).
        Assert.InRange(incident.Start.ToUnixTimeMilliseconds() / 1000.0, firstSample, firstSample + 1);
        Assert.InRange(incident.End, end - TimeSpan.FromSeconds(2), end);
    }
}
