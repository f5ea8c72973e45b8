using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Load.Tests.Support;
using Xunit.Abstractions;

namespace ExchangeHealth.Load.Tests;

/// <summary>End-to-end runs of the driver against a real engine behind an order-entry server on 127.0.0.1.</summary>
[Collection(nameof(EngineCollection))]
public sealed class LoadRunnerTests(ITestOutputHelper output)
{
    private static string Repo(params string[] parts)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ExchangeHealth.sln"))) dir = dir.Parent;
        return Path.Combine([dir!.FullName, .. parts]);
    }

    [Fact]
    public async Task RunAsync_OpenModel2000PerSecondTwoConnections_EverythingAcknowledgedNoErrors()
    {
        await using var engine = await TestEngine.StartAsync();
        var progress = new List<LoadProgress>();
        var options = engine.Options() with
        {
            Connections = 2,
            Rate = RateSchedule.Constant(2000),
            Duration = TimeSpan.FromSeconds(2),
            Thresholds = [LoadThreshold.Parse("errors<=0"), LoadThreshold.Parse("p99<1s")],
        };
        var report = await LoadRunner.RunAsync(options, new SyncProgress(progress.Add));
        output.WriteLine(LoadReportWriter.ToMarkdown(report));

        Assert.Equal(LoadStopReason.Duration, report.StopReason);
        Assert.Equal(4000, report.Scheduled);
        Assert.Equal(4000, report.Sent);
        Assert.Equal(report.Sent, report.Acknowledged);
        Assert.Equal(0, report.Errors);
        Assert.Equal(0, report.Unacknowledged);
        Assert.Equal(0, report.Dropped);
        Assert.Empty(report.ConnectionErrors);
        Assert.Equal([1L, 2L], report.Accounts);
        Assert.Equal(4000, report.ResponseTime.Count);
        Assert.Equal(4000, report.ServiceTime.Count);
        Assert.Equal(2000, report.OfferedRate!.Value, 1);
        Assert.InRange(report.AchievedRate, 1900, 2000.001);
        Assert.True(report.ResponseTime.ValueAtPercentile(50) >= report.ServiceTime.ValueAtPercentile(50) * 0.9);
        Assert.NotNull(report.PreFill);
        Assert.Equal(1000, report.PreFill!.Commands);
        Assert.Equal(1000, report.PreFill.Acknowledged);
        Assert.True(report.ThresholdsPassed, string.Join("; ", report.Thresholds.Select(t => $"{t.Threshold.Text}: {t.ActualText}")));
        // The timeline covers the run, one point per second, and adds up.
        Assert.InRange(report.Timeline.Count, 2, 3);
        Assert.Equal(report.Sent, report.Timeline.Sum(p => p.Sent));
        Assert.Equal(report.Acknowledged, report.Timeline.Sum(p => p.Acknowledged));
        Assert.Equal(4000, report.Timeline.Sum(p => p.Offered), 0);
        Assert.NotEmpty(progress);
        Assert.All(progress, p => Assert.InRange(p.OfferedRate, 1900, 2100));
        // The generator's moves and cancels are sent on the connection that placed the order; a few
        // may race with fills across the two sessions and be rejected unknown_order, nothing else.
        Assert.All(report.RejectsByReason, r => Assert.Contains(r.Reason, new[] { RejectReason.UnknownOrder, RejectReason.PostOnlyWouldTake, RejectReason.NothingToAmend }));
        Assert.True(report.RejectShare < 0.05, $"reject share {report.RejectShare:P2}");
    }

    [Fact]
    public async Task RunAsync_ClosedModelAfterPreFill_PreFillAcksDoNotWidenTheWindow()
    {
        // Regression: pre-fill acknowledgements released closed-model slots they never took, so
        // "1 in flight" became 1 + the pre-fill size (1,000) in flight.
        await using var engine = await TestEngine.StartAsync();
        var options = engine.Options() with
        {
            Connections = 1,
            Model = LoadModel.Closed,
            Concurrency = 1,
            Duration = TimeSpan.FromSeconds(2),
            Count = null,
            PreFill = true,
            TargetRestingOrders = 200,
        };
        var report = await LoadRunner.RunAsync(options);

        Assert.Equal(0, report.Errors);
        Assert.NotNull(report.PreFill);
        Assert.All(report.Timeline, p => Assert.InRange(p.InFlight, 0, 1));
    }

    [Fact]
    public async Task RunAsync_ClosedModel_KeepsConcurrencyAndRecordsAcknowledgedOrders()
    {
        await using var engine = await TestEngine.StartAsync();
        var options = engine.Options() with
        {
            Connections = 2,
            Model = LoadModel.Closed,
            Concurrency = 4,
            Duration = null,
            Count = 3000,
            PreFill = false,
            TargetRestingOrders = 200,
            RecordAcknowledged = true,
        };
        var report = await LoadRunner.RunAsync(options);

        Assert.Equal(LoadStopReason.Count, report.StopReason);
        Assert.Equal(3000, report.Sent);
        Assert.Equal(3000, report.Acknowledged);
        Assert.Equal(0, report.Errors);
        Assert.Null(report.OfferedRate);
        Assert.Equal(0, report.Late);
        Assert.True(report.AchievedRate > 0);
        Assert.All(report.Timeline, p => Assert.InRange(p.InFlight, 0, 8));
        Assert.Null(report.PreFill);

        var orders = report.AcknowledgedOrders;
        Assert.NotEmpty(orders);
        Assert.All(orders, o =>
        {
            Assert.Equal(OrderEntryProtocol.OrderIdOf(o.AccountId, o.ClOrdId), o.OrderId);
            Assert.Contains(o.AccountId, new long[] { 1, 2 });
            Assert.True(o.Sequence > 0);
        });
        Assert.Equal(orders.Count, orders.Select(o => o.Sequence).Distinct().Count());
        Assert.Equal(orders.Count, orders.Select(o => (o.AccountId, o.ClOrdId)).Distinct().Count());
        // Every accepted order is in the journal: the engine's durable sequence covers them all.
        Assert.True(orders.Max(o => o.Sequence) <= engine.Service.DurableSequence.Value);
    }

    [Fact]
    public async Task RunAsync_ReplayOfTheSampleCsv_SendsEveryOrderEntryCommand()
    {
        await using var engine = await TestEngine.StartAsync();
        var options = engine.Options() with
        {
            Connections = 2,
            Workload = LoadWorkloadKind.Replay,
            ReplayFile = Repo("examples", "orderflow-sample.csv"),
            Rate = RateSchedule.Constant(200),
        };
        var report = await LoadRunner.RunAsync(options);

        Assert.Equal(LoadStopReason.EndOfInput, report.StopReason);
        // 23 commands in the file; the 4 set_state lines are administrative and skipped.
        Assert.Equal(19, report.Sent);
        Assert.Equal(19, report.Acknowledged);
        Assert.Equal(4, report.Skipped);
        Assert.Equal(4, report.WorkloadCounters.Single(c => c.Name == "skipped_admin_commands").Value);
        Assert.Equal(0, report.Errors);
        Assert.Contains("orderflow-sample.csv", report.Workload, StringComparison.Ordinal);
        Assert.Equal(19 / 200.0, report.SendWindow.TotalSeconds, 3);
    }

    [Fact]
    public async Task RunAsync_MaxInFlightBound_DropsAndCountsSends()
    {
        await using var engine = await TestEngine.StartAsync(flushToDisk: true);
        var options = engine.Options() with
        {
            Rate = RateSchedule.Constant(20_000),
            Duration = TimeSpan.FromMilliseconds(500),
            MaxInFlightPerConnection = 1,
            PreFill = false,
            TargetRestingOrders = 100,
        };
        var report = await LoadRunner.RunAsync(options);

        Assert.Equal(10_000, report.Scheduled);
        Assert.True(report.Dropped > 0, "with one request in flight allowed, a 20,000/s schedule must drop sends");
        Assert.Equal(report.Scheduled, report.Sent + report.Dropped + report.NotSent);
        Assert.Equal(report.Sent, report.Acknowledged);
        Assert.Equal(0, report.Errors);
        Assert.True(LoadThreshold.Parse("dropped<=0").Evaluate(report).Passed is false);
    }

    [Fact]
    public async Task RunAsync_ConnectionsCut_CountsConnectionErrorsAndUnacknowledged()
    {
        await using var engine = await TestEngine.StartAsync();
        await using var proxy = new TcpCutProxy(engine.EndPoint);
        var options = engine.Options() with
        {
            Port = proxy.EndPoint.Port,
            Connections = 2,
            Rate = RateSchedule.Constant(1000),
            Duration = TimeSpan.FromSeconds(3),
            PreFill = false,
            TargetRestingOrders = 100,
            DrainTimeout = TimeSpan.FromMilliseconds(500),
        };
        var run = LoadRunner.RunAsync(options);
        await Task.Delay(600);
        proxy.BlackholeToServer = true;   // requests sent from now on are never answered
        await Task.Delay(100);
        proxy.CutAll();
        var report = await run.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(LoadStopReason.ConnectionsLost, report.StopReason);
        Assert.Equal(2, report.ConnectionErrors.Count);
        Assert.All(report.ConnectionErrors, e => Assert.Contains("lost", e.Message, StringComparison.Ordinal));
        Assert.All(report.ConnectionErrors, e => Assert.InRange(e.ElapsedSeconds, 0.5, 5));
        Assert.InRange(report.Unacknowledged, 20, report.Sent);  // about 0.1 s of requests went into the black hole
        Assert.Equal(report.Sent - report.Acknowledged, report.Unacknowledged);
        Assert.Equal(report.Unacknowledged + report.NotSent + 2, report.Errors);
        Assert.InRange(report.SendWindow.TotalSeconds, 0.6, 5);
        Assert.False(LoadThreshold.Parse("errors<0.1%").Evaluate(report).Passed);
    }

    [Fact]
    public async Task RunAsync_ServerShutsDown_SessionErrorsAndLostConnectionsReported()
    {
        await using var engine = await TestEngine.StartAsync();
        var options = engine.Options() with
        {
            Connections = 2,
            Rate = RateSchedule.Constant(1000),
            Duration = TimeSpan.FromSeconds(3),
            PreFill = false,
            TargetRestingOrders = 100,
        };
        var run = LoadRunner.RunAsync(options);
        await Task.Delay(700);
        await engine.Server.StopAsync();
        var report = await run.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(LoadStopReason.ConnectionsLost, report.StopReason);
        var shutdown = Assert.Single(report.SessionErrors);
        Assert.Equal("server_shutting_down", shutdown.Name);
        Assert.True(shutdown.Count >= 2, "each session is told before it is closed");
        Assert.Equal(2, report.ConnectionErrors.Count);
        Assert.All(report.ConnectionErrors, e => Assert.Contains("server_shutting_down", e.Message, StringComparison.Ordinal));
        // The server answers every command it took before closing; the few sent after it stopped
        // reading are unacknowledged (at 1000/s, up to 200 ms of scheduling delay on a loaded 2-core
        // machine between the server's stop and the client seeing the close), and a command it
        // refused is named by a session error.
        Assert.InRange(report.Unacknowledged, 0, 200);
        Assert.InRange(report.Sent - report.Acknowledged - report.Unacknowledged, 0, shutdown.Count);
        Assert.Equal(report.Unacknowledged + report.NotSent + shutdown.Count + 2, report.Errors);
    }

    [Fact]
    public async Task RunAsync_Cancelled_StopsEarlyAndStillReports()
    {
        await using var engine = await TestEngine.StartAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(700));
        var options = engine.Options() with { Rate = RateSchedule.Constant(1000), Duration = TimeSpan.FromSeconds(30), PreFill = false };
        var started = DateTime.UtcNow;
        var report = await LoadRunner.RunAsync(options, null, cts.Token);

        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(10));
        Assert.Equal(LoadStopReason.Cancelled, report.StopReason);
        Assert.True(report.Sent > 100);
        Assert.Equal(report.Sent, report.Acknowledged);
        Assert.InRange(report.OfferedRate!.Value, 900, 1100);
    }

    [Fact]
    public async Task RunAsync_WrongKey_ConnectFailedNothingSent()
    {
        await using var engine = await TestEngine.StartAsync();
        var options = engine.Options() with { ApiKeys = [engine.ApiKeys[0], "0000000000000000-wrong"], Connections = 2 };
        var report = await LoadRunner.RunAsync(options);
        Assert.Equal(LoadStopReason.ConnectFailed, report.StopReason);
        Assert.Equal(0, report.Sent);
        var error = Assert.Single(report.ConnectionErrors);
        Assert.Equal(1, error.Connection);
        Assert.Contains("authentication_failed", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_SecondRunOnTheSameEngine_UsesFreshClientOrderIds()
    {
        await using var engine = await TestEngine.StartAsync();
        var options = engine.Options() with { Rate = RateSchedule.Constant(1000), Duration = TimeSpan.FromMilliseconds(500), PreFill = false, TargetRestingOrders = 50 };
        var first = await LoadRunner.RunAsync(options);
        var second = await LoadRunner.RunAsync(options);
        Assert.Equal(0, first.Errors);
        Assert.Equal(0, second.Errors);
        Assert.DoesNotContain(second.RejectsByReason, r => r.Reason == RejectReason.DuplicateClientOrderId);
    }

    [Fact]
    public async Task RunAsync_RemoteTargetOrBadOptions_Throws()
    {
        var options = new LoadOptions { Host = "192.0.2.10", ApiKeys = ["0123456789abcdef"] };
        var e = await Assert.ThrowsAsync<ArgumentException>(() => LoadRunner.RunAsync(options));
        Assert.Contains("127.0.0.1 only", e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => LoadRunner.RunAsync(new LoadOptions()));
        await Assert.ThrowsAsync<ArgumentException>(() => LoadRunner.RunAsync(new LoadOptions { ApiKeys = ["k"], GeneratorMarketIds = [99] }));
    }

    private sealed class SyncProgress(Action<LoadProgress> action) : IProgress<LoadProgress>
    {
        public void Report(LoadProgress value)
        {
            lock (this) action(value);
        }
    }
}
