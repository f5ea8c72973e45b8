using System.Collections.Concurrent;
using System.Net;
using ExchangeHealth.TestKit;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Load.Client;
using ExchangeHealth.Load.Tests.Support;

namespace ExchangeHealth.Load.Tests;

[Collection(nameof(EngineCollection))]
public sealed class OrderEntryClientTests
{
    // BTC/USD: tick 0.01 (10^6 units), lot 0.0001 (10^4 units), reference 60,000.
    private const long Px = 60_000L * 100_000_000;
    private const long Qty = 1_000_000;

    private static NewOrderMessage Limit(ulong clOrdId, Side side, long price = Px, long quantity = Qty) =>
        new(clOrdId, 1, side, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, price, quantity);

    [Fact]
    public async Task ConnectAsync_ValidKey_LogsOnAndRequestsAreAcknowledged()
    {
        await using var engine = await TestEngine.StartAsync();
        await using var client = new OrderEntryClient();
        var acks = new ConcurrentQueue<(OutstandingRequest Request, ExecutionReport Report)>();
        client.Acknowledged += (OrderEntryClient _, in OutstandingRequest request, in ExecutionReport report, long _) => acks.Enqueue((request, report));
        await client.ConnectAsync(engine.EndPoint, engine.ApiKeys[0]);

        Assert.True(client.IsConnected);
        Assert.Equal(1, client.AccountId);
        var accepted = await client.NewOrderAsync(Limit(10, Side.Buy, Px - 1_000_000));
        Assert.Equal(ReportType.Accepted, accepted.Type);
        Assert.Equal(OrderEntryProtocol.OrderIdOf(1, 10), accepted.OrderId);
        Assert.True(accepted.Sequence.Value > 0);

        var amended = await client.AmendAsync(new AmendMessage(11, 1, 10, Px - 2_000_000, Qty));
        Assert.Equal(ReportType.Amended, amended.Type);
        var cancelled = await client.CancelAsync(new CancelMessage(12, 1, 10));
        Assert.Equal(ReportType.Cancelled, cancelled.Type);
        var unknown = await client.CancelAsync(new CancelMessage(13, 1, 10));
        Assert.Equal(ReportType.Rejected, unknown.Type);
        Assert.Equal(RejectReason.UnknownOrder, unknown.RejectReason);
        var all = await client.CancelAllAsync(new CancelAllMessage(14, 0));
        Assert.Equal(ReportType.CancelAllDone, all.Type);

        Assert.Equal([10UL, 11, 12, 13, 14], acks.Select(a => a.Request.ClOrdId).ToArray());
        Assert.Equal(MessageType.Amend, acks.ElementAt(1).Request.Type);
        Assert.Equal(0, client.OutstandingCount);
        Assert.True(await client.PingAsync() > TimeSpan.Zero);
        await client.LogoutAsync();
        Assert.Equal(OrderEntryClientState.Closed, client.State);
        Assert.Null(client.CloseReason);
    }

    [Fact]
    public async Task ReportReceived_MakerFill_ArrivesUnsolicitedOnTheMakersSession()
    {
        await using var engine = await TestEngine.StartAsync();
        await using var maker = new OrderEntryClient();
        await using var taker = new OrderEntryClient();
        var makerReports = new ConcurrentQueue<(ExecutionReport Report, ulong ClOrdId, ulong Request)>();
        maker.ReportReceived += (OrderEntryClient _, in ExecutionReport r, ulong id, ulong request, long _) => makerReports.Enqueue((r, id, request));
        await maker.ConnectAsync(engine.EndPoint, engine.ApiKeys[0]);
        await taker.ConnectAsync(engine.EndPoint, engine.ApiKeys[1]);

        Assert.Equal(ReportType.Accepted, (await maker.NewOrderAsync(Limit(1, Side.Sell))).Type);
        Assert.Equal(ReportType.Accepted, (await taker.NewOrderAsync(Limit(1, Side.Buy))).Type);

        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!makerReports.Any(r => r.Report.Type == ReportType.Fill) && DateTime.UtcNow < deadline) await Task.Delay(5);
        var fill = makerReports.Single(r => r.Report.Type == ReportType.Fill);
        Assert.Equal(Liquidity.Maker, fill.Report.Liquidity);
        Assert.Equal(1UL, fill.ClOrdId);
        Assert.Equal(0UL, fill.Request);
        Assert.Equal(2, fill.Report.CounterOrderId >> OrderEntryProtocol.ClOrdIdBits);
    }

    [Fact]
    public async Task ConnectAsync_UnknownKey_ThrowsAuthenticationFailed()
    {
        await using var engine = await TestEngine.StartAsync();
        await using var client = new OrderEntryClient();
        var e = await Assert.ThrowsAsync<OrderEntryException>(() => client.ConnectAsync(engine.EndPoint, "not-a-key-of-this-engine"));
        Assert.Equal(ProtocolErrorCode.AuthenticationFailed, e.Code);
        Assert.Contains("authentication_failed", e.Message, StringComparison.Ordinal);
        Assert.Equal(OrderEntryClientState.Closed, client.State);
    }

    [Fact]
    public async Task ConnectAsync_NothingListening_ThrowsWithTheAddress()
    {
        int port = LoopbackPort.Free();
        await using var client = new OrderEntryClient();
        var e = await Assert.ThrowsAsync<OrderEntryException>(() => client.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), "0123456789abcdef"));
        Assert.Contains($"127.0.0.1:{port}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enqueue_DuplicateOutstandingOrInvalidClOrdId_Throws()
    {
        await using var engine = await TestEngine.StartAsync();
        await using var client = new OrderEntryClient();
        Assert.Throws<InvalidOperationException>(() => client.EnqueueNewOrder(Limit(1, Side.Buy)));
        await client.ConnectAsync(engine.EndPoint, engine.ApiKeys[0]);
        Assert.Throws<ArgumentOutOfRangeException>(() => client.EnqueueNewOrder(Limit(0, Side.Buy)));
        Assert.Throws<ArgumentOutOfRangeException>(() => client.EnqueueNewOrder(Limit(OrderEntryProtocol.MaxClOrdId + 1, Side.Buy)));
        client.EnqueueNewOrder(Limit(5, Side.Buy, Px - 1_000_000));
        Assert.Throws<ArgumentException>(() => client.EnqueueNewOrder(Limit(5, Side.Buy, Px - 1_000_000)));
        Assert.True(client.HasUnflushedData);
        Assert.Equal(5UL, client.GetOutstandingRequests().Single().ClOrdId);
        client.Flush();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (client.OutstandingCount > 0 && DateTime.UtcNow < deadline) await Task.Delay(5);
        Assert.Equal(0, client.OutstandingCount);
    }

    [Fact]
    public async Task Disconnected_ConnectionCut_RaisedOnceAndRequestsStayOutstanding()
    {
        await using var engine = await TestEngine.StartAsync();
        await using var proxy = new TcpCutProxy(engine.EndPoint);
        await using var client = new OrderEntryClient();
        var disconnected = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        int raised = 0;
        client.Disconnected += (_, error) =>
        {
            Interlocked.Increment(ref raised);
            disconnected.TrySetResult(error);
        };
        await client.ConnectAsync(proxy.EndPoint, engine.ApiKeys[0]);
        for (ulong id = 1; id <= 2; id++) await client.NewOrderAsync(Limit(id, Side.Buy, Px - (long)id * 1_000_000));
        proxy.BlackholeToServer = true;
        for (ulong id = 3; id <= 5; id++) client.EnqueueNewOrder(Limit(id, Side.Buy, Px - (long)id * 1_000_000));
        client.Flush();
        var waiter = client.NewOrderAsync(Limit(6, Side.Buy, Px - 6_000_000));
        proxy.CutAll();

        var error = await disconnected.Task.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.IsType<OrderEntryException>(error);
        Assert.Equal(1, raised);
        Assert.False(client.IsConnected);
        Assert.Same(error, client.CloseReason);
        Assert.Equal([3UL, 4, 5, 6], client.GetOutstandingRequests().Select(r => r.ClOrdId).Order().ToArray());
        await Assert.ThrowsAsync<OrderEntryException>(() => waiter);
        Assert.Throws<OrderEntryException>(() => client.SendNewOrder(Limit(9, Side.Buy)));
        await Assert.ThrowsAsync<OrderEntryException>(() => client.NewOrderAsync(Limit(10, Side.Buy)));

        // A new session resends what the old one left outstanding: the engine never saw those orders.
        await using var again = new OrderEntryClient();
        var acks = new ConcurrentQueue<ExecutionReport>();
        again.Acknowledged += (OrderEntryClient _, in OutstandingRequest _, in ExecutionReport r, long _) => acks.Enqueue(r);
        await again.ConnectAsync(engine.EndPoint, engine.ApiKeys[0]);
        foreach (var request in client.GetOutstandingRequests()) again.EnqueueResend(request);
        again.Flush();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (acks.Count < 4 && DateTime.UtcNow < deadline) await Task.Delay(5);
        Assert.All(acks, r => Assert.Equal(ReportType.Accepted, r.Type));
        Assert.Equal([3UL, 4, 5, 6], acks.Select(r => OrderEntryProtocol.ClOrdIdOf(r.OrderId)).Order().ToArray());
        // Resending an order the engine already has: not executed twice.
        var original = await again.NewOrderAsync(Limit(1, Side.Buy, Px - 1_000_000));
        Assert.Equal(ReportType.Rejected, original.Type);
        Assert.Equal(RejectReason.DuplicateClientOrderId, original.RejectReason);
    }

    [Fact]
    public async Task RequestFailed_InvalidOrigClOrdId_SessionErrorNamesTheRequestAndTheSessionStaysOpen()
    {
        await using var engine = await TestEngine.StartAsync();
        await using var client = new OrderEntryClient();
        var failed = new ConcurrentQueue<(OutstandingRequest Request, SessionErrorMessage Error)>();
        client.RequestFailed += (OrderEntryClient _, in OutstandingRequest request, SessionErrorMessage error) => failed.Enqueue((request, error));
        await client.ConnectAsync(engine.EndPoint, engine.ApiKeys[0]);

        var e = await Assert.ThrowsAsync<OrderEntryException>(() => client.CancelAsync(new CancelMessage(7, 1, 0)));
        Assert.Equal(ProtocolErrorCode.InvalidField, e.Code);
        var (request, error) = Assert.Single(failed);
        Assert.Equal(7UL, request.ClOrdId);
        Assert.Equal(MessageType.Cancel, request.Type);
        Assert.Equal(7UL, error.RefClOrdId);
        Assert.Equal(0, client.OutstandingCount);
        Assert.True(client.IsConnected);
        Assert.Equal(ReportType.Accepted, (await client.NewOrderAsync(Limit(8, Side.Buy, Px - 1_000_000))).Type);
    }
}

[CollectionDefinition(nameof(EngineCollection), DisableParallelization = true)]
public sealed class EngineCollection;
