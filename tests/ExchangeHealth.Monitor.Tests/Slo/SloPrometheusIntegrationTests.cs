using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.TestKit;
using ExchangeHealth.TestKit.Prometheus;
using Xunit.Abstractions;

namespace ExchangeHealth.Monitor.Tests.Slo;

/// <summary>
/// The committed alert-rules/ directory loaded into a real Prometheus that scrapes a real
/// <c>exh engine</c> (job <c>exh-engine</c>) under a little HTTP order flow and a stand-in canary
/// (job <c>exh-canary</c>): every SLO's 5m SLI series exists with a sane value and no alert fires.
/// </summary>
public sealed class SloPrometheusIntegrationTests(ITestOutputHelper output)
{
    private static readonly string[] _markets = ["BTC/USD", "ETH/USD", "ETH/BTC"];

    [Fact]
    public async Task RealPrometheus_AlertRulesOnHealthyEngineUnderLoad_SliSeriesExistAndNoAlertFires()
    {
        using var dir = new SloTempDirectory();
        await using var engine = await EngineProcess.StartAsync(dir.Combine("engine"));
        using var canary = StandInCanary.Start(_markets);
        await using var prometheus = await PrometheusServer.StartAsync(
            new Dictionary<string, IEnumerable<string>>
            {
                ["exh-engine"] = [$"{engine.HttpAddress.Host}:{engine.HttpAddress.Port}"],
                ["exh-canary"] = [canary.Target],
            },
            TimeSpan.FromSeconds(1),
            SloTestSupport.Repo("alert-rules"));

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var traffic = Task.Run(() => OrderFlowAsync(engine, cts.Token));
        try
        {
            // Each SLO's 5m SLI: order entry and latency per market (ETH/BTC has no orders: it records 0
            // through the received-counter fallback), uptime per engine instance, canary per market.
            var sli = await prometheus.WaitForAsync("slo:sli_error:ratio_rate5m",
                r => _markets.All(m => Has(r, "order-entry-availability", m) && Has(r, "order-ack-latency", m) && Has(r, "canary-success", m))
                     && r.Any(s => s.Label("sloth_slo") == "matching-uptime"),
                TimeSpan.FromSeconds(40));
            foreach (var s in sli.OrderBy(s => s.ToString(), StringComparer.Ordinal)) output.WriteLine(s.ToString());
            Assert.Equal(3 + 3 + 1 + 3, sli.Count);
            Assert.All(sli, s => Assert.InRange(s.Value, 0, 1)); // never NaN, never missing
            Assert.All(sli.Where(s => s.Label("sloth_slo") != "order-ack-latency"), s => Assert.Equal(0, s.Value));
            var uptime = Assert.Single(sli, s => s.Label("sloth_slo") == "matching-uptime");
            Assert.Equal($"{engine.HttpAddress.Host}:{engine.HttpAddress.Port}", uptime.Label("instance"));
            Assert.All(sli, s => Assert.Equal("5m", s.Label("sloth_window")));

            // The latency SLI counts what it should: orders were acknowledged, and le="0.001" is a bucket.
            var acks = await prometheus.QueryAsync("sum(exh_order_ack_latency_seconds_count{job=\"exh-engine\"})");
            Assert.True(Assert.Single(acks).Value > 0);
            Assert.NotEmpty(await prometheus.QueryAsync("exh_order_ack_latency_seconds_bucket{job=\"exh-engine\",le=\"0.001\"}"));
            Assert.Equal(1, Assert.Single(await prometheus.QueryAsync("instance:exh_engine_available:bool")).Value);

            // Nothing fires on the healthy engine; no burn-rate alert is even pending.
            var firing = await prometheus.QueryAsync("ALERTS{alertstate=\"firing\"}");
            Assert.True(firing.Count == 0, "firing: " + string.Join("; ", firing));
            var burn = await prometheus.QueryAsync("ALERTS{sloth_severity=~\"page|ticket\"}");
            Assert.True(burn.Count == 0, "burn-rate alerts: " + string.Join("; ", burn));
            var all = await prometheus.QueryAsync("ALERTS");
            output.WriteLine("ALERTS: " + (all.Count == 0 ? "none" : string.Join("; ", all)));
        }
        finally
        {
            await cts.CancelAsync();
            try { await traffic; } catch (OperationCanceledException) { } catch (HttpRequestException) { }
        }
    }

    private static bool Has(IReadOnlyList<PrometheusSample> r, string slo, string market) =>
        r.Any(s => s.Label("sloth_slo") == slo && s.Label("market") == market);

    /// <summary>About 5 orders a second over BTC/USD and ETH/USD, two accounts crossing each other.</summary>
    private static async Task OrderFlowAsync(EngineProcess engine, CancellationToken cancellationToken)
    {
        var credentials = EngineCredentials.Load(Path.Combine(engine.DataDirectory, EngineCredentials.FileName));
        using var buyer = new HttpClient { BaseAddress = engine.HttpAddress, Timeout = TimeSpan.FromSeconds(5) };
        buyer.DefaultRequestHeaders.Add("X-API-Key", credentials.ApiKeys[0].Key);
        using var seller = new HttpClient { BaseAddress = engine.HttpAddress, Timeout = TimeSpan.FromSeconds(5) };
        seller.DefaultRequestHeaders.Add("X-API-Key", credentials.ApiKeys[1].Key);
        long id = 1;
        while (!cancellationToken.IsCancellationRequested)
        {
            bool btc = id % 4 < 2;
            var http = id % 2 == 0 ? buyer : seller;
            using var response = await http.PostAsJsonAsync("/api/v1/orders", new Dictionary<string, object>
            {
                ["market"] = btc ? "BTC/USD" : "ETH/USD",
                ["client_order_id"] = id,
                ["side"] = id % 2 == 0 ? "buy" : "sell",
                ["type"] = "limit",
                ["price"] = btc ? "60000.00" : "3000.00",
                ["quantity"] = "0.01",
            }, cancellationToken);
            response.EnsureSuccessStatusCode();
            id++;
            await Task.Delay(200, cancellationToken);
        }
    }

    /// <summary>
    /// Stands in for the canary prober (not part of this branch): serves the contract's
    /// <c>exh_probe_success{market}</c> gauge at /metrics on 127.0.0.1, all probes succeeding.
    /// </summary>
    private sealed class StandInCanary : IDisposable
    {
        private readonly HttpListener _listener;
        private readonly Task _loop;

        private StandInCanary(HttpListener listener, string target, IReadOnlyList<string> markets)
        {
            _listener = listener;
            Target = target;
            var body = new StringBuilder("# HELP exh_probe_success 1 if the last canary probe of the market succeeded.\n# TYPE exh_probe_success gauge\n");
            foreach (string m in markets) body.Append(CultureInfo.InvariantCulture, $"exh_probe_success{{market=\"{m}\"}} 1\n");
            byte[] bytes = Encoding.UTF8.GetBytes(body.ToString());
            _loop = Task.Run(async () =>
            {
                while (_listener.IsListening)
                {
                    HttpListenerContext context;
                    try { context = await _listener.GetContextAsync(); }
                    catch (HttpListenerException) { return; }
                    catch (ObjectDisposedException) { return; }
                    context.Response.ContentType = "text/plain; version=0.0.4";
                    await context.Response.OutputStream.WriteAsync(bytes);
                    context.Response.Close();
                }
            });
        }

        public string Target { get; }

        public static StandInCanary Start(IReadOnlyList<string> markets)
        {
            for (int attempt = 0; ; attempt++)
            {
                int port = LoopbackPort.Free();
                var listener = new HttpListener();
                listener.Prefixes.Add($"http://127.0.0.1:{port}/");
                try
                {
                    listener.Start();
                    return new StandInCanary(listener, $"127.0.0.1:{port}", markets);
                }
                catch (HttpListenerException) when (attempt < 3)
                {
                    listener.Close();
                }
            }
        }

        public void Dispose()
        {
            _listener.Stop();
            _listener.Close();
            try { _loop.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        }
    }
}
