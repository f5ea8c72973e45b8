using System.Net;
using System.Text.RegularExpressions;
using ExchangeHealth.Alerting.Host;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Load;
using ExchangeHealth.Load.Client;
using ExchangeHealth.Monitor.Canary;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Tests.Canary;
using ExchangeHealth.TestKit;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Monitor.Tests.Dashboards;

/// <summary>
/// Every panel query of every dashboard, with Grafana's variables substituted, against a real
/// Prometheus scraping a real engine under load (job <c>exh-engine</c>) and a real <c>exh canary</c>
/// process (job <c>exh-canary</c>), with the repository's <c>alert-rules/</c> loaded when it has
/// rule files: each query must parse and return data.
/// </summary>
[Collection(nameof(CanaryCollection))]
public sealed class DashboardQueryTests
{
    /// <summary>
    /// THE allow-list: queries of components this test does not start may return no data (they
    /// must still parse). Each entry matches the raw panel expression. An entry whose queries all
    /// return data, or that excuses no query, fails the test: shrink the list as components land
    /// (start the monitor with an <c>exh-monitor</c> job; put the SLO rules into alert-rules/).
    /// </summary>
    internal static readonly (Regex Pattern, string Reason)[] NotStartedInThisTest =
    [
        (new(@"\bexh_rule_evaluation_failures"), "exh_rule_evaluation_failures_total: the monitor's evaluations all succeed here (MonitorHostTests cover failures)"),
    ];

    private static async Task RunIncidentAsync(ExchangeHealth.Incidents.IncidentModule incidents)
    {
        var actor = new ExchangeHealth.Incidents.Lifecycle.IncidentActor("dashboard-test", "api");
        var declared = await incidents.Service.DeclareAsync(
            new ExchangeHealth.Incidents.Lifecycle.IncidentDeclaration("dashboard probe", ExchangeHealth.Incidents.Model.IncidentSeverity.Sev3, ["BTC/USD"], null), actor);
        Assert.True(declared.Ok, declared.Reason);
        foreach (var command in new ExchangeHealth.Incidents.Lifecycle.IncidentCommand[] { new ExchangeHealth.Incidents.Lifecycle.IncidentCommand.Acknowledge(), new ExchangeHealth.Incidents.Lifecycle.IncidentCommand.Resolve() })
        {
            var result = await incidents.Service.ExecuteAsync(declared.Incident!.Id, command, actor);
            Assert.True(result.Ok, result.Reason);
        }
        // One open incident stays, so the open gauge has a non-zero series too.
        if ((await incidents.Service.ListAsync(ExchangeHealth.Incidents.Store.IncidentFilter.Open)).Count == 0)
            await incidents.Service.DeclareAsync(new ExchangeHealth.Incidents.Lifecycle.IncidentDeclaration("still open", ExchangeHealth.Incidents.Model.IncidentSeverity.Sev4, [], null), actor);
    }

    [Fact]
    public async Task EveryPanelQuery_ParsesAndReturnsData_AgainstRealEngineCanaryAndPrometheus()
    {
        using var dir = new TempDir();
        await using var engine = await EngineProcess.StartAsync(dir.Combine("engine"));
        using var api = new EngineApi(engine);
        await using var canary = await CanaryProcess.StartAsync(dir.Combine("canary"),
            "--engine-data", engine.DataDirectory, "--listen", "127.0.0.1:0", "--interval", "250ms", "--timeout", "2s");
        string rulesDir = dir.Combine("rules");
        Directory.CreateDirectory(rulesDir);
        bool haveRules = DashboardFiles.CollectRuleFiles(rulesDir);
        int monitorPort = LoopbackPort.Free();
        await using var prometheus = await PrometheusServer.StartAsync(new Dictionary<string, IEnumerable<string>>
        {
            ["exh-engine"] = [engine.HttpAddress.Authority],
            ["exh-canary"] = [canary.Endpoints.ScrapeTarget],
            ["exh-monitor"] = [$"127.0.0.1:{monitorPort}"],
        }, TimeSpan.FromSeconds(1), haveRules ? rulesDir : null);
        // The monitor evaluates the same rule files and serves its own metrics (job exh-monitor).
        var incidents = new ExchangeHealth.Incidents.IncidentModule();
        await using var monitor = await MonitorHost.StartAsync(new MonitorOptions
        {
            PrometheusUrl = prometheus.BaseAddress,
            RulesDirectory = rulesDir,
            DataDirectory = dir.Combine("monitor"),
            Listen = new IPEndPoint(IPAddress.Loopback, monitorPort),
            ConsoleOut = TextWriter.Null,
            Modules = [incidents],
        });
        // Incidents acknowledged and resolved at two different scrapes, so MTTA / MTTR have increases.
        await RunIncidentAsync(incidents);
        // One notification through the outbox, so the notification panels have a delivered count.
        await monitor.Dispatcher.IngestAsync([new Alert(LabelSet.Of("alertname", "DashboardProbe", "severity", "info"), LabelSet.Empty, DateTimeOffset.UtcNow.AddMinutes(-1), null, "")]);

        using var stopLoad = new CancellationTokenSource();
        var load = LoadRunner.RunAsync(new LoadOptions
        {
            Host = "127.0.0.1",
            Port = engine.TcpEndPoint.Port,
            ApiKeys = api.TraderKeys.Take(2).ToList(),
            Connections = 2,
            Rate = RateSchedule.Constant(400),
            Duration = TimeSpan.FromSeconds(240),
            GeneratorMarketIds = [1, 2],
            TargetRestingOrders = 200,
            DrainTimeout = TimeSpan.FromSeconds(1),
        }, cancellationToken: stopLoad.Token);
        await SendRejectedOrdersAsync(engine, api.TraderKeys[3]);

        // Rate windows are 4 s ($__rate_interval at a 1 s scrape): wait until they hold load, rejects and canary probes.
        await prometheus.WaitForAsync(
            "sum(rate(exh_orders_received_total{market=\"BTC/USD\"}[4s])) > 0 and sum(rate(exh_probe_latency_seconds_count{market=\"BTC/USD\"}[4s])) > 0"
            + " and sum(rate(exh_journal_fsync_latency_seconds_count[4s])) > 0 and sum(exh_orders_rejected_total{reason=\"risk\"}) > 0",
            r => r.Count > 0, TimeSpan.FromSeconds(20));
        // The SLO recording rules run in groups every 10 s and 1 min, chained (5m -> 30d -> budget):
        // wait for the last links so the leadership dashboard's queries have data.
        await prometheus.WaitForAsync(
            "count(slo:period_error_budget_remaining:ratio) > 0 and on() count(slo:current_burn_rate:ratio) > 0"
            + " and on() count(slo:sli_error:ratio_rate1h) > 0 and on() count(slo:objective:ratio) > 0 and on() count(slo:period_burn_rate:ratio) > 0",
            r => r.Count > 0, TimeSpan.FromSeconds(180));
        await prometheus.WaitForAsync(
            "sum(rate(exh_rule_evaluations_total[4s])) > 0 and sum(exh_notifications_total{outcome=\"delivered\"}) > 0 and sum(rate(exh_rule_evaluation_duration_seconds_count[4s])) > 0",
            r => r.Count > 0, TimeSpan.FromSeconds(20));

        // The MTTA / MTTR panels divide increases over 4 s windows: one window must hold a change. A
        // loaded machine can miss scrapes of the monitor (1 s timeout), so add incidents until one shows.
        for (int round = 1; ; round++)
        {
            await RunIncidentAsync(incidents);
            try
            {
                await prometheus.WaitForAsync(
                    "sum_over_time(sum(increase(exh_incident_time_to_acknowledge_seconds_count[4s]))[1h:4s]) > 0"
                    + " and on() sum_over_time(sum(increase(exh_incident_time_to_resolve_seconds_count[4s]))[1h:4s]) > 0",
                    r => r.Count > 0, TimeSpan.FromSeconds(6));
                break;
            }
            catch (TimeoutException) when (round < 8)
            {
            }
        }

        var failures = new List<string>();
        var excusedBy = new Dictionary<int, int>();
        var variables = new Dictionary<string, string> { ["market"] = "BTC/USD" };
        using var client = new PrometheusApiClient(prometheus.BaseAddress, TimeSpan.FromSeconds(10));
        var queries = DashboardFiles.Queries();
        foreach (var q in queries)
        {
            string expr = DashboardFiles.Substitute(q.Expr, variables);
            int excuse = Array.FindIndex(NotStartedInThisTest, a => a.Pattern.IsMatch(q.Expr));
            PromQueryResult result;
            try
            {
                result = await client.QueryAsync(expr);
            }
            catch (PrometheusApiException e)
            {
                failures.Add($"{q}\n    sent: {expr}\n    Prometheus: {e.ErrorType}: {e.Error}");
                continue;
            }
            bool hasData = result.Samples.Any(s => !double.IsNaN(s.Value));
            if (excuse < 0 && !hasData)
                failures.Add($"{q}\n    sent: {expr}\n    no data ({result.Samples.Count} series, all NaN or none)");
            if (excuse >= 0)
            {
                excusedBy[excuse] = excusedBy.GetValueOrDefault(excuse) + 1;
                if (hasData)
                    failures.Add($"{q}\n    returned data although allow-listed ({NotStartedInThisTest[excuse].Reason}): remove that entry from the allow-list");
            }
        }
        for (int i = 0; i < NotStartedInThisTest.Length; i++)
            if (!excusedBy.ContainsKey(i)) failures.Add($"allow-list entry '{NotStartedInThisTest[i].Pattern}' excuses no query: remove it");

        // The market variable's query, label_values(exh_orders_received_total, market), lists every market.
        var markets = await client.QueryAsync("group by (market) (exh_orders_received_total)");
        Assert.Equal(["BTC/USD", "ETH/BTC", "ETH/USD"], markets.Samples.Select(s => s.Labels["market"]).Order(StringComparer.Ordinal));

        await stopLoad.CancelAsync();
        var report = await load;
        Assert.True(failures.Count == 0, $"{failures.Count} of {queries.Count} panel queries failed:\n" + string.Join("\n", failures)
            + $"\ncanary log:\n{canary.Log}");
        Assert.True(queries.Count >= 40, $"only {queries.Count} queries");
        Assert.True(report.Acknowledged > 0);

        // The canary process stops on SIGTERM, cleanly, and removes its canary.json.
        Assert.Equal(0, await canary.TerminateAsync());
        Assert.False(File.Exists(CanaryEndpoints.PathIn(dir.Combine("canary"))), canary.Log);
        Assert.Contains("stopped (0 canary fills)", canary.Log, StringComparison.Ordinal);
    }

    /// <summary>Orders the engine rejects: off the tick grid (validation) and outside the price collar (risk).</summary>
    private static async Task SendRejectedOrdersAsync(EngineProcess engine, string apiKey)
    {
        await using var client = new OrderEntryClient();
        await client.ConnectAsync(engine.TcpEndPoint, apiKey);
        const long dollar = 100_000_000;
        var offTick = await client.NewOrderAsync(new NewOrderMessage(1, 1, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 50_000 * dollar + 1, 10_000));
        var outsideCollar = await client.NewOrderAsync(new NewOrderMessage(2, 1, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, 1 * dollar, 10_000));
        Assert.Equal(RejectReason.PriceOffTickGrid, offTick.RejectReason);
        Assert.Equal(RejectReason.PriceOutsideCollar, outsideCollar.RejectReason);
        await client.LogoutAsync();
    }
}
