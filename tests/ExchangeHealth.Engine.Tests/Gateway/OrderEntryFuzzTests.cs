using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using ExchangeHealth.Engine.Gateway.Protocol;
using Xunit.Abstractions;
using static ExchangeHealth.Engine.Tests.Gateway.GatewayHarness;

namespace ExchangeHealth.Engine.Tests.Gateway;

/// <summary>
/// Random and mutated frames against a live gateway while a well-behaved session trades: no
/// garbage may take the server, the engine or another session down.
/// </summary>
/// <remarks>The seed is fixed (<see cref="DefaultSeed"/>); set <c>EXH_FUZZ_SEED</c> to try another. A failure prints it.</remarks>
public sealed class OrderEntryFuzzTests(ITestOutputHelper output)
{
    private const int DefaultSeed = 20261121;
    private const int Cases = 300;
    private const int Concurrency = 6;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(20);

    private static readonly MessageType[] ClientTypes =
        [MessageType.Logon, MessageType.NewOrder, MessageType.Cancel, MessageType.Amend, MessageType.CancelAll, MessageType.Heartbeat, MessageType.Logout];

    [Fact]
    public async Task Fuzz_RandomAndMutatedFrames_ServerEngineAndOtherSessionsUnharmed()
    {
        string? env = Environment.GetEnvironmentVariable("EXH_FUZZ_SEED");
        int seed = env is null ? DefaultSeed : int.Parse(env, CultureInfo.InvariantCulture);
        try
        {
            await RunAsync(seed);
        }
        catch (Exception e)
        {
            Assert.Fail($"fuzz failed with EXH_FUZZ_SEED={seed}: {e}");
        }
    }

    private async Task RunAsync(int seed)
    {
        var clock = Stopwatch.StartNew();
        await using var h = await StartAsync(o => o with { CloseTimeout = TimeSpan.FromSeconds(2) });
        await using var trader = await h.LogonAsync(1);
        using var stop = new CancellationTokenSource();
        var acks = new ConcurrentDictionary<ulong, int>();
        var trading = TradeAsync(trader, stop.Token);
        var reading = ReadAcksAsync(trader, acks);

        var rng = new Random(seed);
        var plans = new List<(int Seed, int Kind)>();
        for (int i = 0; i < Cases; i++) plans.Add((rng.Next(), i % 8));
        var serverFrames = 0L;
        using var gate = new SemaphoreSlim(Concurrency);
        var cases = new List<Task>();
        foreach (var (caseSeed, kind) in plans)
        {
            await gate.WaitAsync();
            cases.Add(Task.Run(async () =>
            {
                try
                {
                    Interlocked.Add(ref serverFrames, await RunCaseAsync(h, new Random(caseSeed), kind));
                }
                catch (Exception e)
                {
                    throw new InvalidOperationException($"case kind {kind} (case seed {caseSeed}): {e.Message}", e);
                }
                finally
                {
                    gate.Release();
                }
            }));
        }
        await Task.WhenAll(cases);
        var fuzzTime = clock.Elapsed;

        await stop.CancelAsync();
        ulong sent = await trading;
        Assert.True(h.Engine.Fatal is null, $"the engine failed: {h.Engine.Fatal}");
        if (reading.IsFaulted) await reading;
        await EventuallyAsync(() => acks.Count == (int)sent, $"an acknowledgement for each of the trader's {sent} requests (have {acks.Count})");
        await trader.HeartbeatAsync(99); // the reader stops at the echo
        await reading;
        foreach (var (id, count) in acks) Assert.True(count == 1, $"request {id} acknowledged {count} times");

        Assert.Null(h.Engine.Fatal);
        Assert.True(h.Engine.IsReady);
        await EventuallyAsync(() => h.Server.SessionCount == 1, $"every fuzz session to close (open: {h.Server.SessionCount})");
        await using (var fresh = await h.LogonAsync(2))
        {
            await fresh.NewOrderAsync(OrderEntryProtocol.MaxClOrdId, Side.Buy, Px - 100 * Tick, Qty);
            Assert.Equal(OrderEntryProtocol.MaxClOrdId, (await fresh.ReadReportAsync()).RequestClOrdId);
        }
        Assert.True(clock.Elapsed < Budget, $"the fuzz run took {clock.Elapsed.TotalSeconds:F1} s");
        output.WriteLine($"seed {seed}: {Cases} cases in {fuzzTime.TotalSeconds:F2} s, {serverFrames} frames back, trader {sent} requests acknowledged, " +
            $"errors: malformed {h.Server.ProtocolErrors(ProtocolErrorCode.MalformedFrame)}, too large {h.Server.ProtocolErrors(ProtocolErrorCode.FrameTooLarge)}, " +
            $"unknown type {h.Server.ProtocolErrors(ProtocolErrorCode.UnknownMessageType)}, not logged on {h.Server.ProtocolErrors(ProtocolErrorCode.NotLoggedOn)}, " +
            $"invalid field {h.Server.ProtocolErrors(ProtocolErrorCode.InvalidField)}, auth {h.Engine.Metrics.AuthFailures}");
    }

    /// <summary>New order, amend, cancel, again and again (at least 200 times), without waiting for answers.</summary>
    private static async Task<ulong> TradeAsync(OrderEntryTestClient trader, CancellationToken stop)
    {
        ulong id = 0;
        for (long i = 0; i < 200 || !stop.IsCancellationRequested; i++)
        {
            ulong order = ++id;
            await trader.NewOrderAsync(order, Side.Buy, Px - (i % 20 + 1) * Tick, Qty);
            await trader.AmendAsync(++id, order, Px - (i % 20 + 2) * Tick, 2 * Qty);
            await trader.CancelAsync(++id, order);
            if (i % 4 == 0) await Task.Delay(1, CancellationToken.None);
        }
        return id;
    }

    private static async Task ReadAcksAsync(OrderEntryTestClient trader, ConcurrentDictionary<ulong, int> acks)
    {
        while (true)
        {
            var frame = await trader.ReadAsync(TimeSpan.FromSeconds(30));
            if (frame.Type == MessageType.HeartbeatAck) return;
            if (frame.Type != MessageType.ExecutionReport) throw new InvalidOperationException($"the trader got {frame.Describe()}");
            var r = frame.AsReport();
            if (r.RequestClOrdId != 0 && OrderEntryProtocol.IsAcknowledgement(r.Report)) acks.AddOrUpdate(r.RequestClOrdId, 1, (_, n) => n + 1);
        }
    }

    /// <summary>One connection of garbage; returns how many frames the server sent back (each checked well-formed).</summary>
    private static async Task<int> RunCaseAsync(GatewayHarness h, Random rng, int kind)
    {
        await using var client = await h.ConnectAsync();
        bool logon = rng.Next(3) != 0;
        var payload = new List<byte>();
        if (logon) payload.AddRange(Frame(b => OrderEntryProtocol.WriteLogon(b, KeyOf(2 + rng.Next(3)), (ushort)rng.Next(3))));
        int pieces = 1 + rng.Next(6);
        for (int p = 0; p < pieces; p++) payload.AddRange(Garbage(rng, kind == 7 ? rng.Next(7) : kind));
        var bytes = payload.ToArray();

        try
        {
            // In one send, or cut at random points (frames spanning reads).
            if (rng.Next(2) == 0)
            {
                await client.SendAsync(bytes);
            }
            else
            {
                int at = 0;
                while (at < bytes.Length)
                {
                    int n = Math.Min(bytes.Length - at, 1 + rng.Next(40));
                    await client.SendAsync(bytes.AsMemory(at, n));
                    at += n;
                }
            }
        }
        catch (SocketException)
        {
            // The server may close first (an invalid length); that is allowed.
        }

        if (rng.Next(10) == 0)
        {
            // Abrupt: reset without reading.
            client.Socket.LingerState = new LingerOption(true, 0);
            client.Socket.Close();
            return 0;
        }
        try { client.Socket.Shutdown(SocketShutdown.Send); }
        catch (SocketException) { }
        var frames = await client.ReadUntilClosedAsync(TimeSpan.FromSeconds(8));
        foreach (var f in frames) AssertWellFormed(f);
        return frames.Count;
    }

    private static void AssertWellFormed(ServerFrame f)
    {
        bool ok = f.Type switch
        {
            MessageType.LogonAccepted => OrderEntryProtocol.TryReadLogonAccepted(f.Body, out _),
            MessageType.ExecutionReport => OrderEntryProtocol.TryReadExecutionReport(f.Body, out _, out _, out _),
            MessageType.SessionError => OrderEntryProtocol.TryReadSessionError(f.Body, out var e) && Enum.IsDefined(e.Code) && e.Code != ProtocolErrorCode.None,
            MessageType.HeartbeatAck => OrderEntryProtocol.TryReadHeartbeat(f.Body, out _),
            MessageType.LogoutAccepted => f.Body.Length == 1,
            _ => false,
        };
        Assert.True(ok, $"the server sent a bad frame: {f.Describe()} [{Convert.ToHexString(f.Body)}]");
    }

    private static byte[] Garbage(Random rng, int kind)
    {
        switch (kind)
        {
            case 0: // random bytes
            {
                var b = new byte[1 + rng.Next(400)];
                rng.NextBytes(b);
                return b;
            }
            case 1: // a valid frame with flipped bytes
            {
                var b = ValidFrame(rng);
                int flips = 1 + rng.Next(3);
                for (int i = 0; i < flips; i++) b[rng.Next(b.Length)] ^= (byte)(1 + rng.Next(255));
                return b;
            }
            case 2: // a truncated valid frame
            {
                var b = ValidFrame(rng);
                return b[..rng.Next(1, b.Length)];
            }
            case 3: // a huge or zero length
            {
                var b = new byte[8 + rng.Next(64)];
                rng.NextBytes(b);
                uint length = rng.Next(4) == 0 ? 0u : (uint)rng.NextInt64(OrderEntryProtocol.MaxBodyLength + 1, uint.MaxValue + 1L);
                BinaryPrimitives.WriteUInt32LittleEndian(b, length);
                return b;
            }
            case 4: // a random type with a random (valid) length
            {
                int length = 1 + rng.Next(OrderEntryProtocol.MaxBodyLength);
                var b = new byte[4 + length];
                rng.NextBytes(b);
                BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)length);
                return b;
            }
            case 5: // a known type with the wrong length
            {
                int length = 1 + rng.Next(60);
                var b = new byte[4 + length];
                rng.NextBytes(b);
                BinaryPrimitives.WriteUInt32LittleEndian(b, (uint)length);
                b[4] = (byte)ClientTypes[rng.Next(ClientTypes.Length)];
                return b;
            }
            default: // a valid frame with random field values
                return ValidFrame(rng);
        }
    }

    private static byte[] ValidFrame(Random rng)
    {
        ulong Id() => rng.Next(4) switch
        {
            0 => 0,
            1 => (ulong)rng.NextInt64(),
            _ => (ulong)rng.Next(1, 1000),
        };
        ushort market = (ushort)rng.Next(5);
        long price = rng.Next(2) == 0 ? Px + rng.Next(-50, 50) * Tick : rng.NextInt64(long.MinValue, long.MaxValue);
        long qty = rng.Next(2) == 0 ? Qty * rng.Next(1, 5) : rng.NextInt64(long.MinValue, long.MaxValue);
        return rng.Next(8) switch
        {
            0 => Frame(b => OrderEntryProtocol.WriteNewOrder(b, new NewOrderMessage(Id(), market, (Side)rng.Next(4), (OrderType)rng.Next(4),
                (TimeInForce)rng.Next(5), (OrderFlags)rng.Next(3), price, qty))),
            1 => Frame(b => OrderEntryProtocol.WriteCancel(b, new CancelMessage(Id(), market, Id()))),
            2 => Frame(b => OrderEntryProtocol.WriteAmend(b, new AmendMessage(Id(), market, Id(), price, qty))),
            3 => Frame(b => OrderEntryProtocol.WriteCancelAll(b, new CancelAllMessage(Id(), market))),
            4 => Frame(b => OrderEntryProtocol.WriteHeartbeat(b, (ulong)rng.NextInt64())),
            5 => Frame(b => OrderEntryProtocol.WriteLogon(b, rng.Next(2) == 0 ? KeyOf(3) : "wrong-key-" + rng.Next(), (ushort)rng.Next(5), (ushort)rng.Next(3))),
            6 => Frame(b => OrderEntryProtocol.WriteEmpty(b, MessageType.Logout)),
            _ => Frame(b => OrderEntryProtocol.WriteNewOrder(b, new NewOrderMessage(Id(), 1, Side.Sell, OrderType.Limit, TimeInForce.ImmediateOrCancel,
                OrderFlags.None, Px - 30 * Tick, Qty))), // may hit the trader's bids
        };
    }

    private static byte[] Frame(Func<byte[], int> write)
    {
        var b = new byte[OrderEntryProtocol.MaxFrameLength];
        int n = write(b);
        return b[..n];
    }
}
