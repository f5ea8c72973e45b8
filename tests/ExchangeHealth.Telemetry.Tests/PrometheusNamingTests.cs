namespace ExchangeHealth.Telemetry.Tests;

public sealed class PrometheusNamingTests
{
    [Theory]
    // dots and other invalid characters, runs of underscores, a leading digit
    [InlineData("exh.trades", null, PrometheusMetricType.Counter, "exh_trades_total")]
    [InlineData("exh.inbound_queue.depth", "{command}", PrometheusMetricType.Gauge, "exh_inbound_queue_depth")]
    [InlineData("exh..weird-name/x", null, PrometheusMetricType.Gauge, "exh_weird_name_x")]
    [InlineData("2xx.responses", "{response}", PrometheusMetricType.Counter, "_2xx_responses_total")]
    [InlineData("job:rate:sum", null, PrometheusMetricType.Gauge, "job:rate:sum")]
    [InlineData("exh.trailing.", "s", PrometheusMetricType.Gauge, "exh_trailing_seconds")]
    // time units
    [InlineData("exh.order_ack.latency", "s", PrometheusMetricType.Histogram, "exh_order_ack_latency_seconds")]
    [InlineData("exh.engine.heartbeat.timestamp", "s", PrometheusMetricType.Gauge, "exh_engine_heartbeat_timestamp_seconds")]
    [InlineData("http.client.duration", "ms", PrometheusMetricType.Histogram, "http_client_duration_milliseconds")]
    [InlineData("dotnet.gc.pause.time", "s", PrometheusMetricType.Counter, "dotnet_gc_pause_time_seconds_total")]
    [InlineData("uptime", "d", PrometheusMetricType.Gauge, "uptime_days")]
    // bytes
    [InlineData("dotnet.gc.heap.total_allocated", "By", PrometheusMetricType.Counter, "dotnet_gc_heap_total_allocated_bytes_total")]
    [InlineData("process.memory.usage", "By", PrometheusMetricType.Gauge, "process_memory_usage_bytes")]
    [InlineData("cache.size", "MiBy", PrometheusMetricType.Gauge, "cache_size_mebibytes")]
    [InlineData("network.io", "By/s", PrometheusMetricType.Gauge, "network_io_bytes_per_second")]
    // annotations give no suffix; "per" forms
    [InlineData("exh.orders.received", "{order}", PrometheusMetricType.Counter, "exh_orders_received_total")]
    [InlineData("exh.orders.rate", "{order}/s", PrometheusMetricType.Gauge, "exh_orders_rate_per_second")]
    [InlineData("exh.things", "{thing}.{other}", PrometheusMetricType.Gauge, "exh_things")]
    // ratio: gauges only
    [InlineData("exh.probe.availability", "1", PrometheusMetricType.Gauge, "exh_probe_availability_ratio")]
    [InlineData("exh.cache.hits", "1", PrometheusMetricType.Counter, "exh_cache_hits_total")]
    [InlineData("exh.fill.ratio", "1", PrometheusMetricType.Histogram, "exh_fill_ratio")]
    // unknown units are sanitized and appended
    [InlineData("system.network.dropped", "packets", PrometheusMetricType.Counter, "system_network_dropped_packets_total")]
    // suffixes already in the name are not repeated; an existing _total goes after the unit
    [InlineData("exh.order_ack.latency_seconds", "s", PrometheusMetricType.Histogram, "exh_order_ack_latency_seconds")]
    [InlineData("exh_orders_received_total", "{order}", PrometheusMetricType.Counter, "exh_orders_received_total")]
    [InlineData("exh.cpu.seconds.total", "s", PrometheusMetricType.Counter, "exh_cpu_seconds_total")]
    [InlineData("exh.busy.total", "s", PrometheusMetricType.Counter, "exh_busy_seconds_total")]
    [InlineData("exh.utilization_ratio", "1", PrometheusMetricType.Gauge, "exh_utilization_ratio")]
    [InlineData("seconds", "s", PrometheusMetricType.Gauge, "seconds")]
    public void GetMetricName_ConvertsPerCompatibilitySpec(string instrument, string? unit, PrometheusMetricType type, string expected)
    {
        Assert.Equal(expected, PrometheusNaming.GetMetricName(instrument, unit, type));
    }

    [Theory]
    [InlineData("s", PrometheusMetricType.Gauge, "seconds")]
    [InlineData("{order}", PrometheusMetricType.Counter, "")]
    [InlineData("", PrometheusMetricType.Counter, "")]
    [InlineData(null, PrometheusMetricType.Counter, "")]
    [InlineData("1", PrometheusMetricType.Gauge, "ratio")]
    [InlineData("1", PrometheusMetricType.Counter, "")]
    [InlineData("1/s", PrometheusMetricType.Gauge, "per_second")]
    [InlineData("{request}/min", PrometheusMetricType.Gauge, "per_minute")]
    [InlineData("m/s", PrometheusMetricType.Gauge, "meters_per_second")]
    [InlineData("%", PrometheusMetricType.Gauge, "percent")]
    public void GetUnitSuffix_MapsUcumUnits(string? unit, PrometheusMetricType type, string expected)
    {
        Assert.Equal(expected, PrometheusNaming.GetUnitSuffix(unit, type));
    }

    [Theory]
    [InlineData("market", "market")]
    [InlineData("http.request.method", "http_request_method")]
    [InlineData("error.type", "error_type")]
    [InlineData("a..b--c", "a_b_c")]
    [InlineData("9lives", "_9lives")]
    [InlineData("ns:key", "ns_key")]
    [InlineData("", "_")]
    public void GetLabelName_SanitizesAttributeKeys(string key, string expected)
    {
        Assert.Equal(expected, PrometheusNaming.GetLabelName(key));
    }

    [Fact]
    public void FormatDouble_UsesShortestRoundTripFormThatPrometheusParses()
    {
        Assert.Equal("0.0001", PrometheusTextSerializer.FormatDouble(0.0001));
        Assert.Equal("5e-05", PrometheusTextSerializer.FormatDouble(0.00005));
        Assert.Equal("2.5", PrometheusTextSerializer.FormatDouble(2.5));
        Assert.Equal("1", PrometheusTextSerializer.FormatDouble(1.0));
        Assert.Equal("0", PrometheusTextSerializer.FormatDouble(0.0));
        Assert.Equal("1234567", PrometheusTextSerializer.FormatDouble(1234567.0));
        Assert.Equal("1700000000.5", PrometheusTextSerializer.FormatDouble(1700000000.5));
        Assert.Equal("0.30000000000000004", PrometheusTextSerializer.FormatDouble(0.1 + 0.2));
        Assert.Equal("1e+21", PrometheusTextSerializer.FormatDouble(1e21));
        Assert.Equal("-3.25", PrometheusTextSerializer.FormatDouble(-3.25));
        Assert.Equal("+Inf", PrometheusTextSerializer.FormatDouble(double.PositiveInfinity));
        Assert.Equal("-Inf", PrometheusTextSerializer.FormatDouble(double.NegativeInfinity));
        Assert.Equal("NaN", PrometheusTextSerializer.FormatDouble(double.NaN));
    }

    [Fact]
    public void FormatAttributeValue_ConvertsNonStringAttributes()
    {
        Assert.Equal("true", PrometheusTextSerializer.FormatAttributeValue(true));
        Assert.Equal("42", PrometheusTextSerializer.FormatAttributeValue(42L));
        Assert.Equal("0.5", PrometheusTextSerializer.FormatAttributeValue(0.5));
        Assert.Equal("", PrometheusTextSerializer.FormatAttributeValue(null));
        Assert.Equal("[\"a\",\"b\\\"c\"]", PrometheusTextSerializer.FormatAttributeValue(new[] { "a", "b\"c" }));
        Assert.Equal("[1,2]", PrometheusTextSerializer.FormatAttributeValue(new[] { 1, 2 }));
    }
}
