using System.Collections.Concurrent;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Journal;
using ExchangeHealth.Engine.Primitives;
using ExchangeHealth.Engine.Service;

namespace ExchangeHealth.Engine.Tests.Service;

/// <summary>Collects reports on the matcher thread; checks that each was durable when delivered.</summary>
public sealed class RecordingReceiver(Func<SequenceNumber>? durable = null) : IReportReceiver
{
    public ConcurrentQueue<(ExecutionReport Report, ulong Request)> Reports { get; } = new();
    public int NotDurableWhenDelivered;

    public void OnReport(in ExecutionReport report, ulong requestClOrdId, long receivedTimestamp)
    {
        if (durable is not null && report.Sequence.Value > 0 && durable().Value < report.Sequence.Value)
            Interlocked.Increment(ref NotDurableWhenDelivered);
        Reports.Enqueue((report, requestClOrdId));
    }

    public List<ExecutionReport> Of(ReportType type) => Reports.Select(r => r.Report).Where(r => r.Type == type).ToList();

    public async Task WaitForAsync(Func<RecordingReceiver, bool> condition, int timeoutMs = 10_000)
    {
        var deadline = DateTime.UtcNow.AddMilliseconds(timeoutMs);
        while (!condition(this))
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException("reports so far: " + string.Join("; ", Reports.Select(r => r.Report.ToString())));
            await Task.Delay(5);
        }
    }
}

public sealed class EngineServiceTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private EngineService Start(Action<EngineServiceOptions>? _ = null, int ring = 1 << 12) =>
        EngineService.Start(new EngineServiceOptions { DataDirectory = _dir.Path, RingCapacity = ring, FlushToDisk = false });

    private static Command Limit(long account, ulong clOrdId, Side side, long price, long qty, ushort market = 1) =>
        Command.Limit(market, account, OrderEntryProtocol.OrderIdOf(account, clOrdId), side, price, qty);

    // BTC/USD: tick 0.01 (10^6 units), lot 0.0001 (10^4 units).
    private const long Px = 60_000L * 100_000_000;
    private const long Qty = 1_000_000;

    [Fact]
    public async Task Submit_CrossingOrders_AcknowledgesAfterDurableAndRoutesMakerFill()
    {
        await using var service = Start();
        var maker = new RecordingReceiver(() => service.DurableSequence);
        var taker = new RecordingReceiver(() => service.DurableSequence);
        service.RegisterAccount(1, maker);

        var sell = Limit(1, 1, Side.Sell, Px, Qty);
        Assert.Equal(SubmitStatus.Enqueued, service.Submit(ref sell, maker, 1, 1));
        await maker.WaitForAsync(r => r.Of(ReportType.Accepted).Count == 1);
        var buy = Limit(2, 7, Side.Buy, Px, Qty);
        Assert.Equal(SubmitStatus.Enqueued, service.Submit(ref buy, taker, 7, 1));
        await taker.WaitForAsync(r => r.Of(ReportType.Fill).Count == 1);
        await maker.WaitForAsync(r => r.Of(ReportType.Fill).Count == 1);

        var takerFill = taker.Of(ReportType.Fill).Single();
        Assert.Equal(Liquidity.Taker, takerFill.Liquidity);
        Assert.Equal(7UL, taker.Reports.First(r => r.Report.Type == ReportType.Fill).Request);
        var makerFill = maker.Of(ReportType.Fill).Single();
        Assert.Equal(Liquidity.Maker, makerFill.Liquidity);
        Assert.Equal(0UL, maker.Reports.First(r => r.Report.Type == ReportType.Fill).Request);
        Assert.Equal(OrderEntryProtocol.OrderIdOf(1, 1), makerFill.OrderId);
        Assert.Equal(0, maker.NotDurableWhenDelivered + taker.NotDurableWhenDelivered);
        Assert.Equal(2, service.DurableSequence.Value);
        var trades = await service.RecentTradesAsync(1, 10);
        Assert.Single(trades);
    }

    [Fact]
    public async Task Restart_RecoversStateAndRejectsResentClientOrderId()
    {
        string hash;
        await using (var service = Start())
        {
            var rx = new RecordingReceiver();
            for (ulong i = 1; i <= 50; i++)
            {
                var c = Limit(3, i, i % 2 == 0 ? Side.Buy : Side.Sell, Px + (long)(i % 5) * 1_000_000, Qty);
                Assert.Equal(SubmitStatus.Enqueued, service.Submit(ref c, rx, i, 0));
            }
            await rx.WaitForAsync(r => r.Reports.Count(x => x.Report.Type is ReportType.Accepted or ReportType.Rejected) == 50);
            hash = await service.ComputeStateHashAsync();
            await service.StopAsync();
        }
        Assert.NotEmpty(SnapshotStore.List(EngineRecovery.SnapshotDirectory(_dir.Path)));

        await using (var again = Start())
        {
            Assert.Equal(hash, await again.ComputeStateHashAsync());
            Assert.Equal(50, again.DurableSequence.Value);
            var rx = new RecordingReceiver();
            var resend = Limit(3, 1, Side.Sell, Px, Qty);
            again.Submit(ref resend, rx, 1, 0);
            var fresh = Limit(3, 51, Side.Sell, Px, Qty);
            again.Submit(ref fresh, rx, 51, 0);
            await rx.WaitForAsync(r => r.Reports.Count == 2);
            var first = rx.Reports.First().Report;
            Assert.Equal(RejectReason.DuplicateClientOrderId, first.RejectReason);
            Assert.Equal(OrderEntryProtocol.OrderIdOf(3, 1), first.OrderId);
            Assert.Equal(ReportType.Accepted, rx.Reports.Last().Report.Type);
            Assert.Equal(51, again.DurableSequence.Value); // the duplicate was never journaled
        }
    }

    [Fact]
    public async Task ResendWindow_RemembersTheLastNJournaledIdsAndFailedOnesAreNotRemembered()
    {
        await using var service = EngineService.Start(new EngineServiceOptions { DataDirectory = _dir.Path, FlushToDisk = false, ClientOrderIdWindow = 4 });
        var rx = new RecordingReceiver();
        void Ioc(ulong id)
        {
            var c = Command.Limit(1, 9, OrderEntryProtocol.OrderIdOf(9, id), Side.Buy, Px, Qty, TimeInForce.ImmediateOrCancel); // expires, never rests
            service.Submit(ref c, rx, id, 0);
        }
        service.Faults.Inject(FaultKind.JournalWriteFailure, TimeSpan.FromMinutes(1));
        Ioc(1); // not journaled: must not be remembered
        await rx.WaitForAsync(r => r.Reports.Count == 1);
        service.Faults.Clear(FaultKind.JournalWriteFailure);
        for (ulong id = 1; id <= 6; id++) Ioc(id);
        await rx.WaitForAsync(r => r.Of(ReportType.Accepted).Count == 6);
        Ioc(6); // in the window (ids 3..6)
        Ioc(2); // evicted: the window is bounded
        await rx.WaitForAsync(r => r.Reports.Count(x => x.Report.Type is ReportType.Accepted or ReportType.Rejected) == 9);
        var last = rx.Reports.Where(x => x.Report.Type is ReportType.Accepted or ReportType.Rejected).TakeLast(2).ToList();
        Assert.Equal(RejectReason.DuplicateClientOrderId, last[0].Report.RejectReason);
        Assert.Equal(ReportType.Accepted, last[1].Report.Type);
    }

    [Fact]
    public async Task MatcherStall_StopsTheHeartbeat_UntilItEnds()
    {
        await using var service = Start();
        var gauges = (IEngineGaugeSource)service;
        service.Faults.Inject(FaultKind.MatcherStall, TimeSpan.FromSeconds(30));
        await Task.Delay(100); // let the matcher enter the stall
        double during = gauges.HeartbeatUnixSeconds;
        await Task.Delay(600); // an idle or busy matcher beats at least every few ms; a stalled one must not
        Assert.Equal(during, gauges.HeartbeatUnixSeconds);
        service.Faults.Clear(FaultKind.MatcherStall);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (gauges.HeartbeatUnixSeconds == during && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.True(gauges.HeartbeatUnixSeconds > during, "the heartbeat did not resume after the stall");
    }

    [Fact]
    public async Task Submit_RingFull_ReturnsOverloadAndCountsIt()
    {
        await using var service = Start(ring: 16);
        service.Faults.Inject(FaultKind.MatcherStall, TimeSpan.FromSeconds(1));
        await Task.Delay(100); // let the matcher enter the stall
        var rx = new RecordingReceiver();
        int enqueued = 0, overload = 0;
        for (ulong i = 1; i <= 40; i++)
        {
            var c = Limit(4, i, Side.Buy, Px, Qty);
            switch (service.Submit(ref c, rx, i, 0))
            {
                case SubmitStatus.Enqueued: enqueued++; break;
                case SubmitStatus.Overload: overload++; break;
            }
        }
        Assert.Equal(16, enqueued);
        Assert.Equal(24, overload);
        Assert.Equal(24, service.Metrics.RejectedTotal(RejectCategory.Overload));
        service.Faults.Clear(FaultKind.MatcherStall);
        await rx.WaitForAsync(r => r.Reports.Count == 16);
        Assert.Equal(0, service.QueueDepth);
    }

    [Fact]
    public async Task JournalWriteFailure_RejectsInternalWithoutJournalingThenResumes()
    {
        await using var service = Start();
        var rx = new RecordingReceiver();
        var a = Limit(5, 1, Side.Buy, Px, Qty);
        service.Submit(ref a, rx, 1, 0);
        await rx.WaitForAsync(r => r.Reports.Count == 1);

        service.Faults.Inject(FaultKind.JournalWriteFailure, TimeSpan.FromMinutes(1));
        var b = Limit(5, 2, Side.Buy, Px, Qty);
        service.Submit(ref b, rx, 2, 0);
        await rx.WaitForAsync(r => r.Reports.Count == 2);
        Assert.Equal(RejectReason.Internal, rx.Reports.Last().Report.RejectReason);
        Assert.False(service.IsReady);
        Assert.Equal(1, service.DurableSequence.Value);

        service.Faults.Clear(FaultKind.JournalWriteFailure);
        var c = Limit(5, 2, Side.Buy, Px, Qty); // the same client order id: the failed one was never journaled
        service.Submit(ref c, rx, 2, 0);
        await rx.WaitForAsync(r => r.Reports.Count == 3);
        Assert.Equal(ReportType.Accepted, rx.Reports.Last().Report.Type);
        Assert.True(service.IsReady);
        Assert.Equal(2, service.DurableSequence.Value);
        Assert.Contains(service.Events.Recent(), e => e.Kind == "journal.write_failed");
        Assert.Contains(service.Events.Recent(), e => e.Kind == "journal.resumed");
        Assert.Equal(1, service.Metrics.RejectedTotal(RejectCategory.Internal));

        await service.StopAsync();
        var scan = JournalReader.Read(EngineRecovery.JournalDirectory(_dir.Path), default, null, repairTornTail: false);
        Assert.Equal(2, scan.LastSequence.Value);
    }

    [Fact]
    public async Task JournalWriteFailure_ReadyReturnsWithoutTrafficOnceTheDiskTakesWrites()
    {
        await using var service = Start();
        var rx = new RecordingReceiver();
        service.Faults.Inject(FaultKind.JournalWriteFailure, TimeSpan.FromMinutes(1));
        var a = Limit(8, 1, Side.Buy, Px, Qty);
        service.Submit(ref a, rx, 1, 0);
        await rx.WaitForAsync(r => r.Reports.Count == 1);
        Assert.False(service.IsReady);
        await Task.Delay(1500);
        Assert.False(service.IsReady); // the probe keeps failing while the fault is on
        service.Faults.Clear(FaultKind.JournalWriteFailure);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!service.IsReady && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.True(service.IsReady);
        Assert.False(File.Exists(Path.Combine(EngineRecovery.JournalDirectory(_dir.Path), ".write-probe")));
    }

    [Fact]
    public async Task InternalRejectsFault_RejectsTheShareBeforeJournalingAndExpires()
    {
        var time = new ManualTime(DateTimeOffset.UtcNow);
        await using var service = EngineService.Start(new EngineServiceOptions { DataDirectory = _dir.Path, FlushToDisk = false, TimeProvider = time });
        service.Faults.Inject(FaultKind.InternalRejects, TimeSpan.FromSeconds(30), 1.0);
        Assert.Contains(service.Faults.Active, f => f.Name == "internal_rejects");
        var rx = new RecordingReceiver();
        for (ulong i = 1; i <= 5; i++)
        {
            var c = Limit(6, i, Side.Buy, Px, Qty);
            service.Submit(ref c, rx, i, 0);
        }
        await rx.WaitForAsync(r => r.Reports.Count == 5);
        Assert.All(rx.Reports, r => Assert.Equal(RejectReason.Internal, r.Report.RejectReason));
        Assert.Equal(0, service.DurableSequence.Value);

        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Empty(service.Faults.Active);
        Assert.Contains(service.Events.Recent(), e => e.Kind == "fault.expired");
        var d = Limit(6, 9, Side.Buy, Px, Qty);
        service.Submit(ref d, rx, 9, 0);
        await rx.WaitForAsync(r => r.Reports.Count == 6);
        Assert.Equal(ReportType.Accepted, rx.Reports.Last().Report.Type);
    }

    [Fact]
    public async Task Faults_RejectDurationsAndValuesOutOfRange()
    {
        await using var service = Start();
        Assert.Throws<ArgumentOutOfRangeException>(() => service.Faults.Inject(FaultKind.MatcherStall, TimeSpan.FromHours(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => service.Faults.Inject(FaultKind.InternalRejects, TimeSpan.FromSeconds(1), 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => service.Faults.Inject(FaultKind.SlowFsync, TimeSpan.FromSeconds(1), 0));
        Assert.Empty(service.Faults.Active);
    }

    [Fact]
    public async Task Submit_MarketIdAndTypeOutOfRange_RejectedAndTheMatcherLives()
    {
        // Found by the order-entry fuzz test: a wire market id above MaxMarketId crashed the matcher in CountReceived.
        await using var service = Start();
        var rx = new RecordingReceiver();
        var farMarket = Limit(8, 1, Side.Buy, Px, Qty, market: ushort.MaxValue);
        Assert.Equal(SubmitStatus.Enqueued, service.Submit(ref farMarket, rx, 1, 0));
        var badType = Limit(8, 2, Side.Buy, Px, Qty);
        badType.Type = (CommandType)200;
        Assert.Equal(SubmitStatus.Enqueued, service.Submit(ref badType, rx, 2, 0));
        var fine = Limit(8, 3, Side.Buy, Px, Qty);
        Assert.Equal(SubmitStatus.Enqueued, service.Submit(ref fine, rx, 3, 0));
        await rx.WaitForAsync(r => r.Reports.Count == 3);
        var reports = rx.Reports.Select(r => r.Report).ToList();
        Assert.Equal(RejectReason.UnknownMarket, reports[0].RejectReason);
        Assert.Equal(RejectReason.MalformedCommand, reports[1].RejectReason);
        Assert.Equal(ReportType.Accepted, reports[2].Type);
        Assert.Null(service.Fatal);
        Assert.True(service.IsReady);
    }

    [Fact]
    public async Task Stop_DrainsEverythingEnqueued()
    {
        var service = Start();
        var rx = new RecordingReceiver();
        for (ulong i = 1; i <= 2000; i++)
        {
            var c = Limit(7, i, i % 2 == 0 ? Side.Buy : Side.Sell, Px, Qty);
            while (service.Submit(ref c, rx, i, 0) == SubmitStatus.Overload) Thread.Yield();
        }
        await service.StopAsync();
        Assert.Equal(2000, rx.Reports.Count(r => r.Report.Type is ReportType.Accepted or ReportType.Rejected));
        var c2 = Limit(7, 5000, Side.Buy, Px, Qty);
        Assert.Equal(SubmitStatus.Stopping, service.Submit(ref c2, rx, 1, 0));
        await service.DisposeAsync();
    }
}

/// <summary>A settable clock for fault expiry.</summary>
public sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;
    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);
    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}
