using System.Net;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.TestKit;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Monitor.Tests.Prometheus;

/// <summary>The client against a real Prometheus server (Debian package), scraping itself.</summary>
public class PrometheusApiClientTests
{
    private static async Task<PrometheusServer> StartSelfScrapingAsync()
    {
        // Prometheus scrapes its own /metrics: a live target without an engine.
        var placeholder = await PrometheusServer.StartAsync(["127.0.0.1:1"], TimeSpan.FromSeconds(1));
        return placeholder;
    }

    [Fact]
    public async Task Query_VectorScalarAndErrors_AgainstRealPrometheus()
    {
        await using var prom = await StartSelfScrapingAsync();
        using var client = new PrometheusApiClient(prom.BaseAddress, TimeSpan.FromSeconds(5));

        var vector = await client.QueryAsync("label_replace(vector(3), \"x\", \"y\", \"\", \"\")");
        Assert.False(vector.IsScalar);
        var s = Assert.Single(vector.Samples);
        Assert.Equal(3, s.Value);
        Assert.Equal("y", s.Labels["x"]);

        var scalar = await client.QueryAsync("1/0", DateTimeOffset.UtcNow.AddMinutes(-1));
        Assert.True(scalar.IsScalar);
        Assert.Equal(double.PositiveInfinity, Assert.Single(scalar.Samples).Value);

        // The target 127.0.0.1:1 is down: up == 0 once scraped.
        var up = await prom.WaitForAsync("up{job=\"exh\"} == 0", r => r.Count > 0, TimeSpan.FromSeconds(10));
        Assert.NotEmpty(up);
        var viaClient = await client.QueryAsync("up{job=\"exh\"}");
        Assert.Equal(0, Assert.Single(viaClient.Samples).Value);

        var bad = await Assert.ThrowsAsync<PrometheusApiException>(() => client.QueryAsync("sum(rate(up[1m]"));
        Assert.Equal("bad_data", bad.ErrorType);
        Assert.False(bad.IsUnreachable);

        var matrix = await Assert.ThrowsAsync<PrometheusApiException>(() => client.QueryAsync("up[1m]"));
        Assert.Contains("matrix", matrix.Error, StringComparison.Ordinal);

        var range = await client.QueryRangeAsync("vector(2)", DateTimeOffset.UtcNow.AddSeconds(-10), DateTimeOffset.UtcNow, TimeSpan.FromSeconds(2));
        var series = Assert.Single(range);
        Assert.InRange(series.Points.Count, 5, 6);
        Assert.All(series.Points, p => Assert.Equal(2, p.Value));
    }

    [Fact]
    public async Task Query_NothingListening_IsUnreachable()
    {
        int port = LoopbackPort.Free();
        using var client = new PrometheusApiClient(new Uri($"http://127.0.0.1:{port}/"), TimeSpan.FromSeconds(2));
        var e = await Assert.ThrowsAsync<PrometheusApiException>(() => client.QueryAsync("up"));
        Assert.Equal("unreachable", e.ErrorType);
        Assert.True(e.IsUnreachable);
    }
}
