using System.Diagnostics.Metrics;
using ExchangeHealth.TestKit.Prometheus;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ExchangeHealth.Telemetry.Tests;

/// <summary>
/// A real Prometheus scrapes our exporter behind a real Kestrel server (as the engine will serve
/// it), and PromQL over the scraped series gives sensible rates and quantiles.
/// </summary>
public sealed class PrometheusServerScrapeTests
{
    private static readonly TimeSpan _waitTimeout = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task RealPrometheus_ScrapesExporter_RateAndQuantileQueriesWork()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var ct = cts.Token;
        using var scope = new MeterScope([("exh.test.latency", TestBuckets.Latency)], includeRuntimeMetrics: true);
        var orders = scope.Meter.CreateCounter<long>("exh.test.orders", "{order}", "Test orders.");
        var latency = scope.Meter.CreateHistogram<double>("exh.test.latency", "s", "Test latency.");

        await using var app = await StartMetricsServerAsync(scope.Handler, ct);
        string target = new Uri(GetAddress(app)).Authority;

        string rules = Path.Combine(Path.GetTempPath(), "exh-rules-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(rules);
        try
        {
            await File.WriteAllTextAsync(Path.Combine(rules, "test.yml"), """
                groups:
                  - name: test
                    rules:
                      - record: exh:test_orders:rate5s
                        expr: sum(rate(exh_test_orders_total[5s]))
                """, ct);

            await using var prometheus = await PrometheusServer.StartAsync([target], TimeSpan.FromSeconds(1), rules, ct);
            Assert.True(prometheus.Pid > 0);

            // Load: ~200 orders/s for 2 markets; latencies between 0.1 ms and 2 ms.
            using var stopLoad = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var load = Task.Run(async () =>
            {
                var random = new Random(42);
                while (!stopLoad.IsCancellationRequested)
                {
                    for (int i = 0; i < 10; i++)
                    {
                        var market = new KeyValuePair<string, object?>("market", i % 2 == 0 ? "BTC-USD" : "ETH-USD");
                        orders.Add(1, market);
                        latency.Record(0.0001 + random.NextDouble() * 0.0019, market);
                    }
                    try { await Task.Delay(50, stopLoad.Token); } catch (OperationCanceledException) { }
                }
            }, CancellationToken.None);

            try
            {
                var up = await prometheus.WaitForAsync($"up{{job=\"{PrometheusServer.JobName}\"}}", r => r.Count == 1 && r[0].Value == 1, _waitTimeout, ct);
                Assert.Equal(target, up[0].Label("instance"));

                var rates = await prometheus.WaitForAsync(
                    "rate(exh_test_orders_total[5s])",
                    r => r.Count == 2 && r.All(s => s.Value > 0),
                    _waitTimeout,
                    ct);
                Assert.Equal(["BTC-USD", "ETH-USD"], rates.Select(s => s.Label("market")).Order(StringComparer.Ordinal));
                Assert.All(rates, s => Assert.InRange(s.Value, 10, 1000)); // ~100/s each; generous for a busy CI machine

                var p99 = await prometheus.WaitForAsync(
                    "histogram_quantile(0.99, sum by (le) (rate(exh_test_latency_seconds_bucket[5s])))",
                    r => r.Count == 1 && double.IsFinite(r[0].Value) && r[0].Value > 0,
                    _waitTimeout,
                    ct);
                // every value is in (0.0001, 0.002], so the p99 lies in the 1 ms..2.5 ms bucket
                Assert.InRange(p99[0].Value, 0.001, 0.0025);

                var recorded = await prometheus.WaitForAsync("exh:test_orders:rate5s", r => r.Count == 1 && r[0].Value > 0, _waitTimeout, ct);
                Assert.InRange(recorded[0].Value, 20, 2000);

                var runtime = await prometheus.QueryAsync("dotnet_process_cpu_time_seconds_total", ct);
                Assert.NotEmpty(runtime);
            }
            finally
            {
                await stopLoad.CancelAsync();
                await load;
            }
        }
        finally
        {
            Directory.Delete(rules, recursive: true);
        }
    }

    /// <summary>Kestrel on 127.0.0.1:0 serving GET /metrics the way the engine maps it.</summary>
    private static async Task<WebApplication> StartMetricsServerAsync(PrometheusScrapeHandler handler, CancellationToken ct)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/metrics", async (HttpContext context) =>
        {
            context.Response.ContentType = PrometheusScrapeHandler.ContentType;
            await handler.WriteAsync(context.Response.Body, context.RequestAborted);
        });
        await app.StartAsync(ct);
        return app;
    }

    private static string GetAddress(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
}
