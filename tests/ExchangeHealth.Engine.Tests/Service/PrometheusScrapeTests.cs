using System.Globalization;
using System.Net.Http.Json;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.TestKit;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Engine.Tests.Service;

/// <summary>
/// A real Prometheus (Debian package) scrapes a real <c>exh engine</c> process under HTTP order
/// flow, and PromQL over the engine's series answers: the SLIs are usable as the alert rules and
/// dashboards will use them.
/// </summary>
public sealed class PrometheusScrapeTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task RealPrometheus_ScrapesEngine_RateAndHistogramQuantileAnswer()
    {
        await using var engine = await EngineProcess.StartAsync(_dir.Combine("engine"));
        await using var prometheus = await PrometheusServer.StartAsync(
            [$"{engine.HttpAddress.Host}:{engine.HttpAddress.Port}"], TimeSpan.FromSeconds(1));
        var credentials = EngineCredentials.Load(Path.Combine(engine.DataDirectory, EngineCredentials.FileName));
        // Buyer and seller are different accounts, or self-trade prevention would cancel instead of trading.
        using var buyer = new HttpClient { BaseAddress = engine.HttpAddress, Timeout = TimeSpan.FromSeconds(5) };
        buyer.DefaultRequestHeaders.Add("X-API-Key", credentials.ApiKeys[0].Key);
        using var seller = new HttpClient { BaseAddress = engine.HttpAddress, Timeout = TimeSpan.FromSeconds(5) };
        seller.DefaultRequestHeaders.Add("X-API-Key", credentials.ApiKeys[1].Key);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        var traffic = Task.Run(async () =>
        {
            long id = 1;
            while (!cts.IsCancellationRequested)
            {
                string side = id % 2 == 0 ? "buy" : "sell";
                var http = id % 2 == 0 ? buyer : seller;
                using var response = await http.PostAsJsonAsync("/api/v1/orders", new Dictionary<string, object>
                {
                    ["market"] = "BTC/USD",
                    ["client_order_id"] = id++,
                    ["side"] = side,
                    ["type"] = "limit",
                    ["price"] = "60000.00",
                    ["quantity"] = "0.01",
                });
                response.EnsureSuccessStatusCode();
                await Task.Delay(20);
            }
        });

        try
        {
            var up = await prometheus.WaitForAsync("up{job=\"exh\"}", s => s.Count == 1 && s[0].Value == 1, TimeSpan.FromSeconds(20));
            var rate = await prometheus.WaitForAsync(
                "sum(rate(exh_orders_received_total{type=\"new_order\"}[5s]))", s => s.Count == 1 && s[0].Value > 1, TimeSpan.FromSeconds(20));
            var trades = await prometheus.WaitForAsync(
                "sum(rate(exh_trades_total{market=\"BTC/USD\"}[5s]))", s => s.Count == 1 && s[0].Value > 0, TimeSpan.FromSeconds(10));
            var p99 = await prometheus.WaitForAsync(
                "histogram_quantile(0.99, sum by (le) (rate(exh_order_ack_latency_seconds_bucket{market=\"BTC/USD\"}[5s])))",
                s => s.Count == 1 && s[0].Value > 0 && s[0].Value < 1, TimeSpan.FromSeconds(10));
            var fastShare = await prometheus.WaitForAsync(
                "sum(rate(exh_order_ack_latency_seconds_bucket{le=\"0.25\"}[5s])) / sum(rate(exh_order_ack_latency_seconds_count[5s]))",
                s => s.Count == 1 && s[0].Value is > 0.5 and <= 1, TimeSpan.FromSeconds(10));
            var heartbeatAge = await prometheus.WaitForAsync(
                "time() - exh_engine_heartbeat_timestamp_seconds", s => s.Count == 1 && s[0].Value < 5, TimeSpan.FromSeconds(10));
            var state = await prometheus.QueryAsync("exh_market_state{market=\"BTC/USD\",state=\"online\"}");
            Assert.Equal(1, Assert.Single(state).Value);
            var gc = await prometheus.QueryAsync("dotnet_gc_collections_total");
            Assert.NotEmpty(gc);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"new orders/s {rate[0].Value:F1}, trades/s {trades[0].Value:F1}, ack p99 {p99[0].Value * 1e3:F3} ms, share under 250 ms {fastShare[0].Value:P1}, heartbeat age {heartbeatAge[0].Value:F2} s"));
        }
        finally
        {
            await cts.CancelAsync();
            try { await traffic; } catch (OperationCanceledException) { } catch (HttpRequestException) { }
        }
        Assert.Equal(0, await engine.TerminateAsync());
    }
}
