using System.Diagnostics.Metrics;
using System.Text;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace ExchangeHealth.Telemetry.Tests;

public sealed class PrometheusScrapeHandlerTests
{
    [Fact]
    public void ContentType_IsPrometheusTextFormat004()
    {
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", PrometheusScrapeHandler.ContentType);
    }

    [Fact]
    public async Task WriteAsync_WritesTheScrapeAsUtf8WithoutBom()
    {
        using var scope = new MeterScope();
        scope.Meter.CreateCounter<long>("exh.trades").Add(2, new KeyValuePair<string, object?>("unit", "µs"));

        using var stream = new MemoryStream();
        await scope.Handler.WriteAsync(stream);

        byte[] bytes = stream.ToArray();
        Assert.NotEqual(0xEF, bytes[0]);
        Assert.Equal("# TYPE exh_trades_total counter\nexh_trades_total{unit=\"µs\"} 2\n", Encoding.UTF8.GetString(bytes));
    }

    [Fact]
    public async Task WriteAsync_CancelledToken_Throws()
    {
        using var scope = new MeterScope();
        using var stream = new MemoryStream();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => scope.Handler.WriteAsync(stream, new CancellationToken(canceled: true)));
    }

    [Fact]
    public async Task ScrapeToString_ConcurrentScrapesWhileRecording_EachIsCompleteAndMonotonic()
    {
        using var scope = new MeterScope([("exh.order_ack.latency", [0.001, 0.01])]);
        var counter = scope.Meter.CreateCounter<long>("exh.trades");
        var latency = scope.Meter.CreateHistogram<double>("exh.order_ack.latency", "s");
        int observableCalls = 0;
        scope.Meter.CreateObservableGauge("exh.observed", () => Interlocked.Increment(ref observableCalls));
        const int Increments = 20_000;
        const int Scrapers = 6;
        const int ScrapesEach = 40;

        var writer = Task.Run(() =>
        {
            for (int i = 0; i < Increments; i++)
            {
                counter.Add(1);
                latency.Record(0.005);
            }
        });
        var scrapers = Enumerable.Range(0, Scrapers).Select(_ => Task.Run(() =>
        {
            long previous = 0;
            for (int i = 0; i < ScrapesEach; i++)
            {
                string text = scope.Scrape();
                if (text.Length == 0)
                    continue; // before the first measurement
                var lines = text.Split('\n');
                Assert.Equal(string.Empty, lines[^1]);
                Assert.InRange(lines.Count(l => l == "# TYPE exh_trades_total counter"), 0, 1);
                Assert.InRange(lines.Count(l => l == "# TYPE exh_order_ack_latency_seconds histogram"), 0, 1);
                Assert.Single(lines, l => l == "# TYPE exh_observed gauge");
                string? total = lines.SingleOrDefault(l => l.StartsWith("exh_trades_total ", StringComparison.Ordinal));
                if (total is null)
                    continue;
                long value = long.Parse(total["exh_trades_total ".Length..], System.Globalization.CultureInfo.InvariantCulture);
                Assert.True(value >= previous, $"counter went back from {previous} to {value}");
                previous = value;
            }
        })).ToArray();

        await Task.WhenAll([writer, .. scrapers]).WaitAsync(TimeSpan.FromSeconds(60));

        string final = scope.Scrape();
        Assert.Contains($"exh_trades_total {Increments}\n", final, StringComparison.Ordinal);
        Assert.Contains($"exh_order_ack_latency_seconds_count {Increments}\n", final, StringComparison.Ordinal);
        Assert.Contains($"exh_order_ack_latency_seconds_bucket{{le=\"0.01\"}} {Increments}\n", final, StringComparison.Ordinal);
        // one collection per scrape: the observable callback ran once for each of them
        Assert.Equal(Scrapers * ScrapesEach + 1, Volatile.Read(ref observableCalls));
    }

    [Fact]
    public void ScrapeToString_ReaderNotRegistered_Throws()
    {
        var handler = new PrometheusScrapeHandler();
        Assert.Throws<InvalidOperationException>(() => handler.ScrapeToString());
    }

    [Fact]
    public void ScrapeToString_AfterProviderDisposed_Throws()
    {
        var scope = new MeterScope();
        scope.Meter.CreateCounter<long>("exh.trades").Add(1);
        Assert.Contains("exh_trades_total 1", scope.Scrape(), StringComparison.Ordinal);
        scope.Dispose();
        Assert.Throws<ObjectDisposedException>(() => scope.Handler.ScrapeToString());
    }

    [Fact]
    public void Handler_RegisteredWithOwnProvider_Works()
    {
        string meterName = "ExchangeHealth.Tests." + Guid.NewGuid().ToString("N");
        var handler = new PrometheusScrapeHandler(collectTimeout: TimeSpan.FromSeconds(5));
        using var meter = new Meter(meterName);
        using var provider = Sdk.CreateMeterProviderBuilder().AddMeter(meterName).AddReader(handler.Reader).Build();
        meter.CreateCounter<long>("exh.trades").Add(5);

        Assert.Equal("# TYPE exh_trades_total counter\nexh_trades_total 5\n", handler.ScrapeToString());
    }

    [Fact]
    public void Create_Deconstructs_IntoProviderAndHandler()
    {
        string meterName = "ExchangeHealth.Tests." + Guid.NewGuid().ToString("N");
        using var meter = new Meter(meterName);
        var (provider, handler) = PrometheusTelemetry.Create([meterName]);
        using (provider)
        {
            meter.CreateUpDownCounter<int>("exh.journal.sequence").Add(42);
            Assert.Equal("# TYPE exh_journal_sequence gauge\nexh_journal_sequence 42\n", handler.ScrapeToString());
        }
    }

    [Theory]
    [InlineData(new[] { 0.1, 0.1 })]
    [InlineData(new[] { 1.0, 0.5 })]
    [InlineData(new[] { 0.1, double.PositiveInfinity })]
    [InlineData(new[] { double.NaN })]
    public void Create_InvalidBuckets_Throws(double[] bounds)
    {
        var e = Assert.Throws<ArgumentException>(() => PrometheusTelemetry.Create(["x"], [("exh.match.latency", bounds)]));
        Assert.Equal("histogramBuckets", e.ParamName);
        Assert.Contains("exh.match.latency", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Scrape_RuntimeMetricsEnabled_IncludesSystemRuntimeMeter()
    {
        using var scope = new MeterScope(includeRuntimeMetrics: true);
        GC.Collect();
        ThrowAndCatch();

        string text = scope.Scrape();
        Assert.Contains("# TYPE dotnet_gc_collections_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("dotnet_gc_collections_total{gc_heap_generation=\"gen0\"} ", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_gc_pause_time_seconds_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_process_cpu_time_seconds_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_process_memory_working_set_bytes gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_gc_heap_total_allocated_bytes_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_exceptions_total counter\n", text, StringComparison.Ordinal);
        Assert.Contains("dotnet_exceptions_total{error_type=\"InvalidOperationException\"} ", text, StringComparison.Ordinal);
        // corrected: the runtime creates these two as monotonic counters, and the *.count ones would end in _count
        Assert.Contains("# TYPE dotnet_thread_pool_threads gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_thread_pool_queue_length gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_timers gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_assemblies gauge\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_process_cpus gauge\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("dotnet_thread_pool_thread_count", text, StringComparison.Ordinal);
        Assert.DoesNotContain("dotnet_thread_pool_queue_length_total", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Scrape_RuntimeMetricsDisabled_HasNoDotnetFamilies()
    {
        using var scope = new MeterScope(includeRuntimeMetrics: false);
        scope.Meter.CreateCounter<long>("exh.trades").Add(1);
        Assert.DoesNotContain("dotnet_", scope.Scrape(), StringComparison.Ordinal);
    }

    private static void ThrowAndCatch()
    {
        try
        {
            throw new InvalidOperationException("counted by dotnet.exceptions");
        }
        catch (InvalidOperationException)
        {
        }
    }
}
