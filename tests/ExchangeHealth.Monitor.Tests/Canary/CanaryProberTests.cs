using System.Collections.Concurrent;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Load;
using ExchangeHealth.Monitor.Canary;
using ExchangeHealth.TestKit;

namespace ExchangeHealth.Monitor.Tests.Canary;

/// <summary>The canary against a real <c>exh engine</c> child process (TCP gateway, journal with fsync, HTTP API).</summary>
[Collection(nameof(CanaryCollection))]
public sealed class CanaryProberTests : IAsyncLifetime
{
    private readonly TempDir _dir = new();
    private readonly ConcurrentQueue<string> _log = new();
    private EngineProcess _engine = null!;
    private EngineApi _api = null!;

    private string EngineData => _dir.Combine("engine");

    public async Task InitializeAsync()
    {
        _engine = await EngineProcess.StartAsync(EngineData);
        _api = new EngineApi(_engine);
    }

    public async Task DisposeAsync()
    {
        _api.Dispose();
        await _engine.DisposeAsync();
        _dir.Dispose();
    }

    private CanaryProber NewProber(TimeSpan? timeout = null, TimeSpan? interval = null, IReadOnlyList<MarketDefinition>? markets = null) => new(new CanaryOptions
    {
        Markets = markets ?? MarketsFile.Default(),
        ResolveTarget = CanaryTargets.FromEngineData(EngineData),
        Timeout = timeout ?? TimeSpan.FromSeconds(2),
        Interval = interval ?? TimeSpan.FromSeconds(5),
        Log = _log.Enqueue,
    });

    private string LogText => string.Join("\n", _log);

    [Fact]
    public async Task ProbeOnce_RealEngine_EveryMarketSucceedsAndExportsSuccessLatencyAndCount()
    {
        using var telemetry = CanaryProber.CreateTelemetry();
        await using (var prober = NewProber())
        {
            for (int round = 0; round < 3; round++)
            {
                var results = await prober.ProbeOnceAsync();
                Assert.Equal(["BTC/USD", "ETH/USD", "ETH/BTC"], results.Select(r => r.Market));
                Assert.All(results, r => Assert.True(r.Succeeded, $"{r.Market}: {r.Outcome} ({r.Detail})\n{LogText}"));
                Assert.All(results, r => Assert.InRange(r.Latency!.Value, TimeSpan.FromTicks(1), TimeSpan.FromSeconds(2)));
            }
            Assert.Equal(EngineCredentials.CanaryAccountId, prober.AccountId);
            Assert.Equal(0, prober.ExecutedFills);

            string text = telemetry.Handler.ScrapeToString();
            foreach (string market in new[] { "BTC/USD", "ETH/USD", "ETH/BTC" })
            {
                Assert.Equal(1, Exposition.Value(text, $"exh_probe_success{{market=\"{market}\"}}"));
                Assert.Equal(3, Exposition.Value(text, $"exh_probe_latency_seconds_count{{market=\"{market}\"}}"));
                Assert.Equal(3, Exposition.Value(text, $"exh_probe_total{{market=\"{market}\",outcome=\"ok\"}}"));
                Assert.Equal(0, Exposition.Value(text, $"exh_probe_total{{market=\"{market}\",outcome=\"timeout\"}}"));
                Assert.Equal(0, Exposition.Value(text, $"exh_probe_total{{market=\"{market}\",outcome=\"disconnected\"}}"));
                // A millisecond-scale histogram: the round trip (two fsynced commands) lands in a finite bucket below the time-out.
                Assert.Equal(3, Exposition.Value(text, $"exh_probe_latency_seconds_bucket{{market=\"{market}\",le=\"2\"}}"));
            }
            Assert.Contains("# TYPE exh_probe_latency_seconds histogram", text, StringComparison.Ordinal);
        }

        // Nothing executed, nothing left in the book.
        Assert.Equal(0, await _api.TradesAsync());
        Assert.Equal(0, await _api.CancelCanaryOrdersAsync(_engine.TcpEndPoint));
    }

    [Fact]
    public async Task EngineTerminatedThenRestarted_ProbesFailDisconnectedThenRecoverOnTheNewPorts()
    {
        using var telemetry = CanaryProber.CreateTelemetry();
        await using var prober = NewProber(timeout: TimeSpan.FromSeconds(1));
        Assert.All(await prober.ProbeOnceAsync(), r => Assert.True(r.Succeeded, r.Detail));
        var firstPort = _engine.TcpEndPoint.Port;

        Assert.Equal(0, await _engine.TerminateAsync());
        for (int i = 0; i < 2; i++)
        {
            var down = await prober.ProbeOnceAsync();
            Assert.All(down, r => Assert.Equal(ProbeOutcomes.Disconnected, r.Outcome));
        }
        string text = telemetry.Handler.ScrapeToString();
        Assert.Equal(0, Exposition.Value(text, "exh_probe_success{market=\"BTC/USD\"}"));
        Assert.Equal(2, Exposition.Value(text, "exh_probe_total{market=\"BTC/USD\",outcome=\"disconnected\"}"));
        Assert.Equal(1, Exposition.Value(text, "exh_probe_total{market=\"BTC/USD\",outcome=\"ok\"}"));
        Assert.Contains("BTC/USD: probe failed: disconnected", LogText, StringComparison.Ordinal);

        await RestartEngineAsync(); // ports 0: most likely new ones, found through engine.json
        var up = await prober.ProbeOnceAsync();
        Assert.All(up, r => Assert.True(r.Succeeded, $"{r.Market}: {r.Outcome} ({r.Detail}); first port {firstPort}\n{LogText}"));
        text = telemetry.Handler.ScrapeToString();
        Assert.Equal(1, Exposition.Value(text, "exh_probe_success{market=\"ETH/BTC\"}"));
        Assert.Equal(2, Exposition.Value(text, "exh_probe_total{market=\"ETH/BTC\",outcome=\"ok\"}"));
    }

    [Fact]
    public async Task EngineKilledWhileRunning_CanaryKeepsRunningCountsFailuresAndLeavesNothingAfterRestart()
    {
        using var telemetry = CanaryProber.CreateTelemetry();
        using var stop = new CancellationTokenSource();
        await using var prober = NewProber(timeout: TimeSpan.FromSeconds(1), interval: TimeSpan.FromMilliseconds(50));
        var run = prober.RunAsync(stop.Token);
        await WaitForAsync(() => Exposition.Value(telemetry.Handler.ScrapeToString(), "exh_probe_total{market=\"BTC/USD\",outcome=\"ok\"}") >= 5);

        await _engine.KillAsync(); // SIGKILL in the middle of probing: engine.json stays behind, stale
        await WaitForAsync(() => Exposition.Value(telemetry.Handler.ScrapeToString(), "exh_probe_total{market=\"BTC/USD\",outcome=\"disconnected\"}") >= 3);
        Assert.False(run.IsCompleted, run.Exception?.ToString());
        Assert.Equal(0, Exposition.Value(telemetry.Handler.ScrapeToString(), "exh_probe_success{market=\"BTC/USD\"}"));

        await RestartEngineAsync();
        double okBefore = Exposition.Value(telemetry.Handler.ScrapeToString(), "exh_probe_total{market=\"BTC/USD\",outcome=\"ok\"}")!.Value;
        await WaitForAsync(() => Exposition.Value(telemetry.Handler.ScrapeToString(), "exh_probe_total{market=\"BTC/USD\",outcome=\"ok\"}") >= okBefore + 3);
        Assert.Equal(1, Exposition.Value(telemetry.Handler.ScrapeToString(), "exh_probe_success{market=\"BTC/USD\"}"));

        await stop.CancelAsync();
        await run; // returns normally when cancelled
        await prober.DisposeAsync();
        // An order acknowledged just before the kill survives in the journal; the sweep after reconnecting removed it.
        Assert.Equal(0, await _api.CancelCanaryOrdersAsync(_engine.TcpEndPoint));
        Assert.Equal(0, await _api.TradesAsync());
    }

    [Fact]
    public async Task MatcherStall_ProbeTimesOut_TheLateOrderIsSweptAndProbingRecovers()
    {
        using var telemetry = CanaryProber.CreateTelemetry();
        var btc = MarketsFile.Default().Where(m => m.Symbol == "BTC/USD").ToList();
        await using var prober = NewProber(timeout: TimeSpan.FromMilliseconds(500), markets: btc);
        Assert.True((await prober.ProbeOnceAsync())[0].Succeeded);

        await _api.InjectFaultAsync("matcher_stall", seconds: 2);
        var stalled = await prober.ProbeOnceAsync();
        Assert.Equal(ProbeOutcomes.Timeout, stalled[0].Outcome);
        Assert.True(prober.IsConnected, "the gateway still echoes heartbeats during a matcher stall: the session is kept");
        Assert.Equal(0, Exposition.Value(telemetry.Handler.ScrapeToString(), "exh_probe_success{market=\"BTC/USD\"}"));

        // Probe until the stall is over: the order the engine accepted late is swept before the next probe.
        ProbeResult last = stalled[0];
        for (int i = 0; i < 20 && !last.Succeeded; i++) last = (await prober.ProbeOnceAsync())[0];
        Assert.True(last.Succeeded, $"{last.Outcome} ({last.Detail})\n{LogText}");
        Assert.Contains("BTC/USD: swept 1 canary order(s) left resting", LogText, StringComparison.Ordinal);
        string text = telemetry.Handler.ScrapeToString();
        Assert.True(Exposition.Value(text, "exh_probe_total{market=\"BTC/USD\",outcome=\"timeout\"}") >= 1);
        Assert.Equal(1, Exposition.Value(text, "exh_probe_success{market=\"BTC/USD\"}"));
        Assert.Equal(0, await _api.CancelCanaryOrdersAsync(_engine.TcpEndPoint));
    }

    [Fact]
    public async Task HaltedMarket_ProbeIsRejectedWithTheEngineReason_OthersStillSucceed()
    {
        using var telemetry = CanaryProber.CreateTelemetry();
        await using var prober = NewProber();
        await _api.SetMarketStateAsync("ETH-USD", "halted");
        var results = await prober.ProbeOnceAsync();
        Assert.Equal("rejected:market_halted", results.Single(r => r.Market == "ETH/USD").Outcome);
        Assert.All(results.Where(r => r.Market != "ETH/USD"), r => Assert.True(r.Succeeded, r.Detail));
        string text = telemetry.Handler.ScrapeToString();
        Assert.Equal(1, Exposition.Value(text, "exh_probe_total{market=\"ETH/USD\",outcome=\"rejected:market_halted\"}"));
        Assert.Equal(0, Exposition.Value(text, "exh_probe_success{market=\"ETH/USD\"}"));
        Assert.Contains("ETH/USD: probe failed: rejected:market_halted", LogText, StringComparison.Ordinal);

        await _api.SetMarketStateAsync("ETH-USD", "online");
        Assert.All(await prober.ProbeOnceAsync(), r => Assert.True(r.Succeeded, r.Detail));
    }

    [Fact]
    public async Task UnderTradingLoad_CanaryOrdersNeverExecuteAndNoneRemain()
    {
        using var telemetry = CanaryProber.CreateTelemetry();
        var btc = MarketsFile.Default().Where(m => m.Symbol == "BTC/USD").ToList();
        await using var prober = NewProber(markets: btc);
        using var stop = new CancellationTokenSource();
        var load = LoadRunner.RunAsync(new LoadOptions
        {
            Host = "127.0.0.1",
            Port = _engine.TcpEndPoint.Port,
            ApiKeys = _api.TraderKeys,
            Connections = 2,
            Rate = RateSchedule.Constant(3000),
            Duration = TimeSpan.FromSeconds(3),
            GeneratorMarketIds = [1],
            TargetRestingOrders = 500,
        });
        int ok = 0, rounds = 0;
        while (!load.IsCompleted)
        {
            var r = (await prober.ProbeOnceAsync())[0];
            rounds++;
            if (r.Succeeded) ok++;
            Assert.NotEqual(ProbeOutcomes.Executed, r.Outcome);
        }
        var report = await load;
        Assert.True(report.Acknowledged > 1000, $"load acknowledged only {report.Acknowledged}");
        long trades = await _api.TradesAsync();
        Assert.True(trades > 0, "the load traded");
        Assert.True(ok >= 10 && ok >= rounds * 9 / 10, $"{ok} of {rounds} probes succeeded under load\n{LogText}");
        Assert.Equal(0, prober.ExecutedFills);
        Assert.Equal(0, Exposition.Value(telemetry.Handler.ScrapeToString(), "exh_probe_total{market=\"BTC/USD\",outcome=\"executed\"}"));
        await prober.DisposeAsync();
        Assert.Equal(0, await _api.CancelCanaryOrdersAsync(_engine.TcpEndPoint));
    }

    private async Task RestartEngineAsync()
    {
        await _engine.DisposeAsync();
        _api.Dispose();
        _engine = await EngineProcess.StartAsync(EngineData);
        _api = new EngineApi(_engine);
    }

    private static async Task WaitForAsync(Func<bool> condition, double seconds = 15)
    {
        var watch = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            if (watch.Elapsed.TotalSeconds > seconds) throw new TimeoutException("condition not met in time");
            await Task.Delay(50);
        }
    }
}
