using System.Diagnostics;
using System.Net.Sockets;
using ExchangeHealth.Chaos.Faults;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Load.Client;
using ExchangeHealth.TestKit;
using Xunit.Abstractions;

namespace ExchangeHealth.Chaos.Tests.Faults;

/// <summary>The toxics proxy between real order-entry clients and a real <c>exh engine</c> gateway.</summary>
public sealed class ToxicProxyEngineTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _root = Directory.CreateTempSubdirectory("exh-proxy-").FullName;
    private EngineProcess _engine = null!;
    private ToxicProxy _proxy = null!;

    private string Data => Path.Combine(_root, "engine");

    public async Task InitializeAsync()
    {
        _engine = await EngineProcess.StartAsync(Data);
        _proxy = ToxicProxy.Start(_engine.TcpEndPoint);
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _engine.DisposeAsync();
        try { Directory.Delete(_root, recursive: true); }
        catch (IOException) { }
    }

    [Fact]
    public async Task OrderEntryClient_LogsOnThroughTheProxy_AndItsSessionFailsUnderResetPeer()
    {
        var credentials = EngineCredentials.Load(Path.Combine(Data, EngineCredentials.FileName));
        await using var client = new OrderEntryClient();
        await client.ConnectAsync(_proxy.EndPoint, credentials.ApiKeys[0].Key);
        var ack = await client.NewOrderAsync(new NewOrderMessage(1, 1, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None,
            60_000L * 100_000_000, 10_000));
        Assert.Equal(ReportType.Accepted, ack.Type);
        Assert.True(ack.Sequence.Value > 0);

        // Latency through the proxy: a heartbeat round trip takes at least the added delay.
        _proxy.AddToxic(new LatencyToxic { Name = "lat", LatencyMs = 100, Direction = ToxicDirection.Upstream });
        var rtt = await client.PingAsync();
        Assert.True(rtt >= TimeSpan.FromMilliseconds(100), $"heartbeat round trip {rtt.TotalMilliseconds:0} ms with 100 ms upstream latency");
        _proxy.RemoveToxic("lat");

        _proxy.AddToxic(new ResetPeerToxic { Name = "rst", AfterMs = 100 });
        await client.Closed.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(OrderEntryClientState.Closed, client.State);
        var reason = Assert.IsType<OrderEntryException>(client.CloseReason);
        output.WriteLine($"session ended: {reason.Message}");
        Assert.True(reason.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionReset }
            || reason.Message.Contains("reset", StringComparison.OrdinalIgnoreCase), $"not a reset: {reason}");
    }

    [Fact]
    public async Task LedgerThroughResetsAndLatency_ReconnectsAndLosesNothing()
    {
        var options = OrderLedgerOptions.ForEngine(Data, sessions: 2, ordersPerSecond: 200) with
        {
            Endpoint = () => _proxy.EndPoint,
            FirstClOrdId = 1,
        };
        await using var ledger = OrderLedger.Start(options);
        Assert.True(await ledger.WaitForAcknowledgedAsync(50, TimeSpan.FromSeconds(15)), $"no order flow: {ledger.LastError}");
        _proxy.AddToxic(new LatencyToxic { Name = "lat", LatencyMs = 20, JitterMs = 10 });
        _proxy.AddToxic(new ResetPeerToxic { Name = "rst", AfterMs = 400 });
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(2.5)) await Task.Delay(100);
        _proxy.ClearToxics();
        long acked = ledger.Counts.Acknowledged;
        Assert.True(await ledger.WaitForAcknowledgedAsync(acked + 100, TimeSpan.FromSeconds(15)), $"no flow after the faults: {ledger.LastError}");
        await ledger.StopAsync();
        var counts = ledger.Counts;
        var stats = _proxy.Stats;
        output.WriteLine($"sent {counts.Sent}, acknowledged {counts.Acknowledged}, rejected {counts.Rejected}, unanswered {counts.Pending}, resends {counts.Resends} ({counts.AcceptedBefore} answered as already journaled), logons {counts.Connects}; proxy: {stats}");
        Assert.True(counts.Connects >= 6, $"resets every 400 ms for 2.5 s should force reconnects; saw {counts.Connects} logons");
        Assert.True(stats.ConnectionsReset >= 4);
        Assert.Equal(0, counts.Pending);
        // The ledger logged out: the logout's half-closes pass through and every proxied connection ends.
        for (int i = 0; i < 100 && _proxy.Stats.ActiveConnections > 0; i++) await Task.Delay(50);
        Assert.Equal(0, _proxy.Stats.ActiveConnections);

        var durable = LossChecks.AcknowledgedOrdersDurable(ledger, Data);
        var gapless = LossChecks.GaplessSequence(Data);
        var token = EngineCredentials.Load(Path.Combine(Data, EngineCredentials.FileName)).AdminToken;
        var hash = await LossChecks.StateHashMatchesReplayAsync(Data, _engine.HttpAddress, token);
        foreach (var r in new[] { durable, gapless, hash }) output.WriteLine(r.ToString());
        Assert.True(durable.Passed, durable.Summary);
        Assert.True(gapless.Passed, gapless.Summary);
        Assert.True(hash.Passed, hash.Summary);
    }
}
