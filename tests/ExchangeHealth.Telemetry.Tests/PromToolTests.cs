using System.Diagnostics.Metrics;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Telemetry.Tests;

/// <summary>The real <c>promtool check metrics</c> parses and lints our exposition.</summary>
public sealed class PromToolTests
{
    private static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);

    [Fact]
    public void CheckMetrics_EveryInstrumentKindAndRuntimeMeter_HasNoProblems()
    {
        using var scope = new MeterScope(
            [("exh.order_ack.latency", TestBuckets.Latency), ("exh.journal.fsync.latency", [0.001, 0.01, 0.1])],
            includeRuntimeMetrics: true);
        var meter = scope.Meter;
        meter.CreateCounter<long>("exh.orders.received", "{order}", "Commands accepted for processing.")
            .Add(3, Tag("market", "BTC-USD"), Tag("type", "limit"));
        meter.CreateCounter<double>("exh.busy.time", "s", "Time the matcher spent busy.").Add(0.25);
        meter.CreateUpDownCounter<long>("exh.inbound_queue.depth", "{command}", "Commands waiting for the matcher.").Add(4);
        meter.CreateObservableCounter("exh.journal.bytes_written", () => 4096L, "By", "Bytes appended to the journal.");
        meter.CreateObservableUpDownCounter("exh.incidents.open", () => new Measurement<int>(2, Tag("severity", "page")), "{incident}", "Open incidents.");
        meter.CreateObservableGauge("exh.engine.heartbeat.timestamp", () => 1700000000.5, "s", "Last time the matcher loop ran.");
        meter.CreateObservableGauge("exh.probe.availability", () => 0.999, "1", "Canary success share.");
        meter.CreateGauge<int>("exh.market.state", description: "1 for the market's current state.")
            .Record(1, Tag("market", "BTC-USD"), Tag("state", "open"));
        var ack = meter.CreateHistogram<double>("exh.order_ack.latency", "s", "Gateway receipt to acknowledgement.");
        ack.Record(0.0003, Tag("market", "BTC-USD"));
        ack.Record(0.002, Tag("market", "ETH-USD"));
        meter.CreateHistogram<double>("exh.journal.fsync.latency", "s", "One durable flush of the journal.").Record(0.004);
        meter.CreateCounter<long>("exh.orders.rejected", "{order}", "Commands rejected \\ with \"odd\"\ntext.")
            .Add(1, Tag("reason", "risk \"limit\"\\\n"), Tag("market", "BTC-USD"));
        ThrowAndCatch(); // dotnet.exceptions gets a point

        string text = scope.Scrape();
        var (exitCode, output) = PromTool.CheckMetrics(text);

        Assert.True(exitCode == 0 && output.Length == 0, $"promtool exit code {exitCode}, output:\n{output}\n--- exposition ---\n{text}");
        Assert.Contains("# TYPE exh_probe_availability_ratio gauge", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE exh_journal_bytes_written_bytes_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE dotnet_gc_collections_total counter", text, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckMetrics_LintProblem_IsReported()
    {
        // The helper must not be vacuous: a gauge ending in _count is a known lint problem.
        var (exitCode, output) = PromTool.CheckMetrics("# HELP x_count A gauge.\n# TYPE x_count gauge\nx_count 1\n");

        Assert.NotEqual(0, exitCode);
        Assert.Contains("x_count non-histogram and non-summary metrics should not have \"_count\" suffix", output, StringComparison.Ordinal);
    }

    [Fact]
    public void CheckMetrics_UnparsableText_Fails()
    {
        var (exitCode, output) = PromTool.CheckMetrics("# TYPE x gauge\nx{le=\"1\" 1\n");

        Assert.NotEqual(0, exitCode);
        Assert.NotEmpty(output);
    }

    [Fact]
    public void CheckMetrics_RuntimeMeterWithStandardNamesOnly_WouldBeFlagged()
    {
        // Documents why RuntimeMetricCorrections exists: the standard conversion of the runtime's
        // *.count up-down counters ends in _count, which promtool rejects.
        string standard = PrometheusNaming.GetMetricName("dotnet.timer.count", "{timer}", PrometheusMetricType.Gauge);
        Assert.Equal("dotnet_timer_count", standard);
        var (exitCode, _) = PromTool.CheckMetrics($"# HELP {standard} Timers.\n# TYPE {standard} gauge\n{standard} 2\n");
        Assert.NotEqual(0, exitCode);
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
