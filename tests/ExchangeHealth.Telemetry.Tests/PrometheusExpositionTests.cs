using System.Diagnostics.Metrics;

namespace ExchangeHealth.Telemetry.Tests;

/// <summary>Exact text exposition for each instrument kind, through the real OpenTelemetry SDK.</summary>
public sealed class PrometheusExpositionTests : IDisposable
{
    private readonly MeterScope _scope = new(
    [
        ("exh.order_ack.latency", [0.25, 1, 4]),
        ("exh.match.latency", TestBuckets.Latency),
    ]);

    public void Dispose() => _scope.Dispose();

    private static KeyValuePair<string, object?> Tag(string key, object? value) => new(key, value);

    [Fact]
    public void Scrape_NoInstruments_IsEmpty()
    {
        Assert.Equal(string.Empty, _scope.Scrape());
    }

    [Fact]
    public void Scrape_CounterWithTags_WritesTotalWithSortedLabels()
    {
        var counter = _scope.Meter.CreateCounter<long>("exh.orders.received", "{order}", "Commands accepted for processing.");
        counter.Add(2, Tag("type", "limit"), Tag("market", "BTC-USD"));
        counter.Add(1, Tag("market", "ETH-USD"), Tag("type", "market"));
        counter.Add(3, Tag("type", "limit"), Tag("market", "BTC-USD"));

        Assert.Equal(
            """
            # HELP exh_orders_received_total Commands accepted for processing.
            # TYPE exh_orders_received_total counter
            exh_orders_received_total{market="BTC-USD",type="limit"} 5
            exh_orders_received_total{market="ETH-USD",type="market"} 1

            """,
            _scope.Scrape());
    }

    [Fact]
    public void Scrape_DoubleCounterWithoutTagsOrDescription_WritesNoHelp()
    {
        var counter = _scope.Meter.CreateCounter<double>("exh.busy.time", "s");
        counter.Add(0.25);
        counter.Add(0.5);

        Assert.Equal(
            """
            # TYPE exh_busy_time_seconds_total counter
            exh_busy_time_seconds_total 0.75

            """,
            _scope.Scrape());
    }

    [Fact]
    public void Scrape_UpDownCounter_IsGauge()
    {
        var depth = _scope.Meter.CreateUpDownCounter<long>("exh.inbound_queue.depth", "{command}", "Commands waiting for the matcher.");
        depth.Add(5);
        depth.Add(-2);

        Assert.Equal(
            """
            # HELP exh_inbound_queue_depth Commands waiting for the matcher.
            # TYPE exh_inbound_queue_depth gauge
            exh_inbound_queue_depth 3

            """,
            _scope.Scrape());
    }

    [Fact]
    public void Scrape_ObservableGauge_WritesCallbackValues()
    {
        _scope.Meter.CreateObservableGauge(
            "exh.engine.heartbeat.timestamp",
            () => 1700000000.5,
            "s",
            "Last time the matcher loop ran.");
        _scope.Meter.CreateObservableGauge(
            "exh.market.state",
            () => new[]
            {
                new Measurement<int>(1, Tag("market", "BTC-USD"), Tag("state", "open")),
                new Measurement<int>(0, Tag("market", "BTC-USD"), Tag("state", "halted")),
            },
            description: "1 for the market's current state.");

        Assert.Equal(
            """
            # HELP exh_engine_heartbeat_timestamp_seconds Last time the matcher loop ran.
            # TYPE exh_engine_heartbeat_timestamp_seconds gauge
            exh_engine_heartbeat_timestamp_seconds 1700000000.5
            # HELP exh_market_state 1 for the market's current state.
            # TYPE exh_market_state gauge
            exh_market_state{market="BTC-USD",state="open"} 1
            exh_market_state{market="BTC-USD",state="halted"} 0

            """,
            _scope.Scrape());
    }

    [Fact]
    public void Scrape_HistogramWithExplicitBuckets_WritesCumulativeBucketsSumAndCount()
    {
        var latency = _scope.Meter.CreateHistogram<double>("exh.order_ack.latency", "s", "Gateway receipt to acknowledgement.");
        var market = Tag("market", "BTC-USD");
        latency.Record(0.125, market);
        latency.Record(0.5, market);
        latency.Record(1, market); // on a bound: counts in le="1" (upper bounds are inclusive)
        latency.Record(8, market);

        Assert.Equal(
            """
            # HELP exh_order_ack_latency_seconds Gateway receipt to acknowledgement.
            # TYPE exh_order_ack_latency_seconds histogram
            exh_order_ack_latency_seconds_bucket{market="BTC-USD",le="0.25"} 1
            exh_order_ack_latency_seconds_bucket{market="BTC-USD",le="1"} 3
            exh_order_ack_latency_seconds_bucket{market="BTC-USD",le="4"} 3
            exh_order_ack_latency_seconds_bucket{market="BTC-USD",le="+Inf"} 4
            exh_order_ack_latency_seconds_sum{market="BTC-USD"} 9.625
            exh_order_ack_latency_seconds_count{market="BTC-USD"} 4

            """,
            _scope.Scrape());
    }

    [Fact]
    public void Scrape_HistogramWithLatencyBuckets_WritesEveryBoundInPrometheusForm()
    {
        var latency = _scope.Meter.CreateHistogram<double>("exh.match.latency", "s", "Time inside the matcher.");
        latency.Record(0.0003);

        string text = _scope.Scrape();
        string[] expectedBounds =
            ["5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"];
        var bucketLines = text.Split('\n').Where(l => l.StartsWith("exh_match_latency_seconds_bucket", StringComparison.Ordinal)).ToList();
        Assert.Equal(expectedBounds.Length, bucketLines.Count);
        for (int i = 0; i < expectedBounds.Length; i++)
        {
            string expectedCount = i < 3 ? "0" : "1";
            Assert.Equal($"exh_match_latency_seconds_bucket{{le=\"{expectedBounds[i]}\"}} {expectedCount}", bucketLines[i]);
        }
        Assert.Contains("exh_match_latency_seconds_sum 0.0003\n", text, StringComparison.Ordinal);
        Assert.Contains("exh_match_latency_seconds_count 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Scrape_LabelValuesAndHelp_AreEscaped()
    {
        var counter = _scope.Meter.CreateCounter<long>("exh.escapes", description: "Line one\nback\\slash \"quoted\"");
        counter.Add(1, Tag("reason", "quote\" backslash\\ newline\nend"), Tag("http.request.method", "GET"), Tag("unit", "µs"));

        Assert.Equal(
            """
            # HELP exh_escapes_total Line one\nback\\slash "quoted"
            # TYPE exh_escapes_total counter
            exh_escapes_total{http_request_method="GET",reason="quote\" backslash\\ newline\nend",unit="µs"} 1

            """,
            _scope.Scrape());
    }

    [Fact]
    public void Scrape_AttributeKeysSanitizingToSameLabel_JoinsValuesInKeyOrder()
    {
        var counter = _scope.Meter.CreateCounter<long>("exh.collide");
        counter.Add(1, Tag("a_b", "second"), Tag("a.b", "first"), Tag("flag", true), Tag("level", 3));

        Assert.Contains("exh_collide_total{a_b=\"first;second\",flag=\"true\",level=\"3\"} 1\n", _scope.Scrape(), StringComparison.Ordinal);
    }

    [Fact]
    public void Scrape_TwoInstrumentsWithSamePrometheusName_MergeIntoOneFamily()
    {
        var dotted = _scope.Meter.CreateCounter<long>("exh.trades", "{trade}", "Executions.");
        var underscored = _scope.Meter.CreateCounter<long>("exh_trades_total", description: "Executions (second instrument).");
        dotted.Add(4, Tag("market", "BTC-USD"));
        underscored.Add(7, Tag("market", "ETH-USD"));

        Assert.Equal(
            """
            # HELP exh_trades_total Executions.
            # TYPE exh_trades_total counter
            exh_trades_total{market="BTC-USD"} 4
            exh_trades_total{market="ETH-USD"} 7

            """,
            _scope.Scrape());
    }

    [Fact]
    public void Scrape_NameCollisionWithOtherType_DropsTheLaterInstrument()
    {
        var counter = _scope.Meter.CreateCounter<long>("exh.trades");
        var gauge = _scope.Meter.CreateUpDownCounter<long>("exh.trades.total");
        var histogram = _scope.Meter.CreateHistogram<double>("exh.order_ack.latency", "s");
        var clash = _scope.Meter.CreateUpDownCounter<long>("exh.order_ack.latency_seconds_count");
        counter.Add(1);
        gauge.Add(5);
        histogram.Record(0.5);
        clash.Add(9);

        string text = _scope.Scrape();
        Assert.Single(text.Split('\n'), l => l.StartsWith("# TYPE exh_trades_total", StringComparison.Ordinal));
        Assert.Contains("# TYPE exh_trades_total counter\nexh_trades_total 1\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("exh_trades_total 5", text, StringComparison.Ordinal);
        Assert.Contains("exh_order_ack_latency_seconds_count 1\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" 9\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("# TYPE exh_order_ack_latency_seconds_count", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Scrape_Twice_IsCumulative()
    {
        var counter = _scope.Meter.CreateCounter<long>("exh.trades");
        var latency = _scope.Meter.CreateHistogram<double>("exh.order_ack.latency", "s");
        counter.Add(1);
        latency.Record(0.5);
        string first = _scope.Scrape();
        counter.Add(2);
        latency.Record(2);
        string second = _scope.Scrape();
        string third = _scope.Scrape();

        Assert.Contains("exh_trades_total 1\n", first, StringComparison.Ordinal);
        Assert.Contains("exh_order_ack_latency_seconds_count 1\n", first, StringComparison.Ordinal);
        Assert.Contains("exh_trades_total 3\n", second, StringComparison.Ordinal);
        Assert.Contains("exh_order_ack_latency_seconds_bucket{le=\"1\"} 1\n", second, StringComparison.Ordinal);
        Assert.Contains("exh_order_ack_latency_seconds_bucket{le=\"4\"} 2\n", second, StringComparison.Ordinal);
        Assert.Contains("exh_order_ack_latency_seconds_sum 2.5\n", second, StringComparison.Ordinal);
        Assert.Contains("exh_order_ack_latency_seconds_count 2\n", second, StringComparison.Ordinal);
        Assert.Equal(second, third);
    }

    [Fact]
    public void Scrape_EveryLine_EndsWithNewlineAndHasNoTimestamp()
    {
        _scope.Meter.CreateCounter<long>("exh.trades").Add(1, Tag("market", "BTC-USD"));
        _scope.Meter.CreateHistogram<double>("exh.order_ack.latency", "s").Record(0.5);

        string text = _scope.Scrape();
        Assert.EndsWith("\n", text, StringComparison.Ordinal);
        foreach (string line in text.TrimEnd('\n').Split('\n'))
        {
            if (line.StartsWith('#'))
                continue;
            // "name{labels} value": one value after the label set (or the name), no timestamp
            int afterLabels = line.LastIndexOf('}') + 1;
            string rest = afterLabels > 0 ? line[afterLabels..] : line[line.IndexOf(' ', StringComparison.Ordinal)..];
            Assert.Matches(@"^ [^ ]+$", rest);
        }
    }
}
