using ExchangeHealth.Cli;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Service;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Engine.Tests.Service;

/// <summary>Tests that read the process-wide engine meter and need no other engine running beside them.</summary>
[CollectionDefinition(nameof(EngineMeterCollection), DisableParallelization = true)]
public sealed class EngineMeterCollection;

/// <summary>
/// The engine's exposition against the metric contract of ARCHITECTURE.md (names, types, labels),
/// so dashboards and rules never drift from the code; and promtool's lint. Runs alone: every
/// engine service in the process reports to the same meter name, so another test's engine running
/// at the same time would add to the exact counts asserted here.
/// </summary>
[Collection(nameof(EngineMeterCollection))]
public sealed class EngineMetricsTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private async Task<string> ScrapeAfterTradingAsync()
    {
        using var telemetry = EngineTelemetry.Create();
        await using var service = EngineService.Start(new EngineServiceOptions { DataDirectory = _dir.Path, FlushToDisk = true, MatchLatencySampleEvery = 1 });
        var rx = new RecordingReceiver();
        const long px = 60_000L * 100_000_000;
        var sell = Command.Limit(1, 1, OrderEntryProtocol.OrderIdOf(1, 1), Side.Sell, px, 1_000_000);
        var buy = Command.Limit(1, 2, OrderEntryProtocol.OrderIdOf(2, 1), Side.Buy, px, 1_000_000);
        var bad = Command.Limit(1, 2, OrderEntryProtocol.OrderIdOf(2, 2), Side.Buy, px + 1, 1_000_000); // off the tick grid
        service.Submit(ref sell, rx, 1, System.Diagnostics.Stopwatch.GetTimestamp());
        service.Submit(ref buy, rx, 1, System.Diagnostics.Stopwatch.GetTimestamp());
        service.Submit(ref bad, rx, 2, System.Diagnostics.Stopwatch.GetTimestamp());
        await rx.WaitForAsync(r => r.Reports.Count(x => OrderEntryProtocol.IsAcknowledgement(x.Report)) == 3);
        foreach (var (report, _) in rx.Reports)
            if (OrderEntryProtocol.IsAcknowledgement(report)) service.Metrics.RecordAckLatency(report.MarketId, System.Diagnostics.Stopwatch.GetTimestamp() - 1000);
        service.Faults.Inject(FaultKind.SlowFsync, TimeSpan.FromMinutes(1), 1);
        return telemetry.Handler.ScrapeToString();
    }

    [Fact]
    public async Task Exposition_HasEveryEngineMetricOfTheContract()
    {
        string text = await ScrapeAfterTradingAsync();
        string[] expected =
        [
            "# TYPE exh_orders_received_total counter",
            "exh_orders_received_total{market=\"BTC/USD\",type=\"new_order\"} 3",
            "# TYPE exh_orders_rejected_total counter",
            "exh_orders_rejected_total{market=\"BTC/USD\",reason=\"validation\"} 1",
            "# TYPE exh_order_ack_latency_seconds histogram",
            "exh_order_ack_latency_seconds_bucket{market=\"BTC/USD\",le=\"0.0001\"}",
            "exh_order_ack_latency_seconds_bucket{market=\"BTC/USD\",le=\"0.00025\"}",
            "exh_order_ack_latency_seconds_bucket{market=\"BTC/USD\",le=\"0.001\"}",
            "exh_order_ack_latency_seconds_count{market=\"BTC/USD\"} 3",
            "# TYPE exh_match_latency_seconds histogram",
            "exh_match_latency_seconds_count{market=\"BTC/USD\"} 3",
            "# TYPE exh_journal_fsync_latency_seconds histogram",
            "exh_trades_total{market=\"BTC/USD\"} 1",
            "# TYPE exh_inbound_queue_depth gauge",
            "# TYPE exh_engine_heartbeat_timestamp_seconds gauge",
            "exh_market_state{market=\"BTC/USD\",state=\"online\"} 1",
            "exh_market_state{market=\"BTC/USD\",state=\"halted\"} 0",
            "# TYPE exh_journal_sequence gauge",
            "exh_journal_sequence 3",
            "exh_fault_active{fault=\"slow_fsync\"} 1",
            "exh_fault_active{fault=\"matcher_stall\"} 0",
            "# TYPE dotnet_gc_collections_total counter",
        ];
        foreach (string line in expected) Assert.Contains(line, text);
    }

    [Fact]
    public void LatencyBuckets_ContainEverySloThresholdAndEveryHistogramUsesThem()
    {
        // Latency SLIs are exact bucket ratios only if each threshold is a bucket bound.
        Assert.Subset(EngineMetrics.LatencyBucketsSeconds.ToHashSet(), new HashSet<double> { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005 });
        Assert.Equal(EngineMetrics.LatencyBucketsSeconds.Order(), EngineMetrics.LatencyBucketsSeconds);
        Assert.Equal(
            [EngineMetrics.AckLatencyInstrument, EngineMetrics.MatchLatencyInstrument, EngineMetrics.FsyncLatencyInstrument],
            EngineMetrics.HistogramViews.Select(v => v.Instrument));
        Assert.All(EngineMetrics.HistogramViews, v => Assert.Same(EngineMetrics.LatencyBucketsSeconds, v.Buckets));
    }

    [Fact]
    public async Task Exposition_PassesPromtoolCheckMetrics()
    {
        string text = await ScrapeAfterTradingAsync();
        var (exitCode, output) = PromTool.CheckMetrics(text);
        Assert.True(exitCode == 0 && output.Trim().Length == 0, $"promtool check metrics: exit {exitCode}\n{output}");
    }
}
