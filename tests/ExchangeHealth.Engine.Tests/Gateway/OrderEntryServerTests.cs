using ExchangeHealth.TestKit;
using System.Buffers.Binary;
using System.Net;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Gateway.Tcp;
using ExchangeHealth.Engine.Service;
using static ExchangeHealth.Engine.Tests.Gateway.GatewayHarness;

namespace ExchangeHealth.Engine.Tests.Gateway;

/// <summary>The TCP order-entry gateway against a real engine service, over real sockets.</summary>
public sealed class OrderEntryServerTests
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(200);

    // ------------------------------------------------------------------ logon

    [Fact]
    public async Task Logon_ValidKey_AcceptedWithAccountSessionAndSequence()
    {
        await using var h = await StartAsync();
        await using var client = await h.ConnectAsync();
        var accepted = await client.LogonAsync(KeyOf(3), heartbeatSeconds: 30);
        Assert.Equal(3, accepted.AccountId);
        Assert.NotEqual(0UL, accepted.SessionId);
        Assert.Equal(h.Engine.DurableSequence.Value, accepted.LastSequence);
        Assert.Equal(30, accepted.HeartbeatIntervalSeconds);
        Assert.Equal(1, h.Server.SessionCount);
    }

    [Fact]
    public async Task Logon_WrongKey_AuthenticationFailedClosedAndCounted()
    {
        await using var h = await StartAsync();
        await using var client = await h.ConnectAsync();
        await client.LogonRequestAsync("not-a-key-of-this-server-0000");
        var error = await client.ReadErrorAsync();
        Assert.Equal(ProtocolErrorCode.AuthenticationFailed, error.Code);
        Assert.Empty(await client.ReadUntilClosedAsync());
        Assert.Equal(1, h.Engine.Metrics.AuthFailures);
        Assert.Equal(1, h.Server.ProtocolErrors(ProtocolErrorCode.AuthenticationFailed));
        await EventuallyAsync(() => h.Server.SessionCount == 0, "the refused session to close");
    }

    [Fact]
    public async Task Logon_UnsupportedVersion_ErrorAndClosed()
    {
        await using var h = await StartAsync();
        await using var client = await h.ConnectAsync();
        await client.LogonRequestAsync(KeyOf(1), version: 2);
        Assert.Equal(ProtocolErrorCode.UnsupportedVersion, (await client.ReadErrorAsync()).Code);
        Assert.Empty(await client.ReadUntilClosedAsync());
        Assert.Equal(0, h.Engine.Metrics.AuthFailures);
    }

    [Fact]
    public async Task Logon_Twice_AlreadyLoggedOnAndSessionStaysOpen()
    {
        await using var h = await StartAsync();
        await using var client = await h.LogonAsync(1);
        await client.LogonRequestAsync(KeyOf(2));
        Assert.Equal(ProtocolErrorCode.AlreadyLoggedOn, (await client.ReadErrorAsync()).Code);
        await client.HeartbeatAsync(5);
        Assert.Equal(MessageType.HeartbeatAck, (await client.ReadAsync()).Type);
    }

    [Fact]
    public async Task Command_BeforeLogon_NotLoggedOnNothingSubmittedThenLogonWorks()
    {
        await using var h = await StartAsync();
        await using var client = await h.ConnectAsync();
        await client.NewOrderAsync(1, Side.Buy, Px, Qty);
        var error = await client.ReadErrorAsync();
        Assert.Equal(ProtocolErrorCode.NotLoggedOn, error.Code);
        await client.LogonAsync(KeyOf(1));
        Assert.Equal(0, h.Engine.DurableSequence.Value);
        Assert.Equal(1, h.Server.ProtocolErrors(ProtocolErrorCode.NotLoggedOn));
    }

    [Fact]
    public async Task Logon_NotWithinLogonTimeout_NotLoggedOnAndClosed()
    {
        var time = new ManualTimeProvider();
        await using var h = await StartAsync(o => o with { TimeProvider = time, LogonTimeout = TimeSpan.FromSeconds(5) });
        await using var client = await h.ConnectAsync();
        await EventuallyAsync(() => h.Server.SessionCount == 1, "the session to start");
        time.Advance(TimeSpan.FromSeconds(4));
        await client.AssertNothingAsync(Quiet);
        time.Advance(TimeSpan.FromSeconds(2));
        var error = await client.ReadErrorAsync();
        Assert.Equal(ProtocolErrorCode.NotLoggedOn, error.Code);
        Assert.Contains("no logon within 5 s", error.Text);
        Assert.Empty(await client.ReadUntilClosedAsync());
    }

    [Fact]
    public async Task Heartbeat_NothingForThreeIntervals_HeartbeatTimeoutAndClosed()
    {
        var time = new ManualTimeProvider();
        await using var h = await StartAsync(o => o with { TimeProvider = time });
        await using var client = await h.LogonAsync(1, heartbeatSeconds: 10);
        time.Advance(TimeSpan.FromSeconds(20));
        await client.HeartbeatAsync(1); // input resets the clock
        Assert.Equal(MessageType.HeartbeatAck, (await client.ReadAsync()).Type);
        time.Advance(TimeSpan.FromSeconds(25));
        await client.AssertNothingAsync(Quiet);
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(ProtocolErrorCode.HeartbeatTimeout, (await client.ReadErrorAsync()).Code);
        Assert.Empty(await client.ReadUntilClosedAsync());
        await EventuallyAsync(() => h.Server.SessionCount == 0, "the timed-out session to close");
    }

    // ------------------------------------------------------------------ orders

    [Fact]
    public async Task NewOrder_Accepted_AckNamesClOrdIdRequestAndOrderIdAndRecordsLatency()
    {
        await using var h = await StartAsync();
        await using var client = await h.LogonAsync(2);
        await client.NewOrderAsync(42, Side.Buy, Px - Tick, Qty);
        var ack = await client.ReadReportAsync();
        Assert.Equal(ReportType.Accepted, ack.Report.Type);
        Assert.Equal(42UL, ack.ClOrdId);
        Assert.Equal(42UL, ack.RequestClOrdId);
        Assert.Equal(OrderEntryProtocol.OrderIdOf(2, 42), ack.Report.OrderId);
        Assert.Equal(1, ack.Report.Sequence.Value);
        Assert.Equal(Px - Tick, ack.Report.Price.Units);
        Assert.Equal(Qty, ack.Report.LeavesQuantity.Units);
        await EventuallyAsync(() => h.AckLatencyRecords == 1, "one ack-latency record");
    }

    [Fact]
    public async Task CrossingOrders_TwoSessions_TakerFillOnOneMakerFillOnTheOther()
    {
        await using var h = await StartAsync();
        await using var maker = await h.LogonAsync(1);
        await using var taker = await h.LogonAsync(2);
        await maker.NewOrderAsync(1, Side.Sell, Px, Qty);
        Assert.Equal(ReportType.Accepted, (await maker.ReadReportAsync()).Report.Type);

        await taker.NewOrderAsync(7, Side.Buy, Px, Qty);
        var takerAck = await taker.ReadReportAsync();
        Assert.Equal(ReportType.Accepted, takerAck.Report.Type);
        var takerFill = await taker.ReadReportAsync();
        Assert.Equal(ReportType.Fill, takerFill.Report.Type);
        Assert.Equal(Liquidity.Taker, takerFill.Report.Liquidity);
        Assert.Equal(7UL, takerFill.ClOrdId);
        Assert.Equal(7UL, takerFill.RequestClOrdId);
        Assert.Equal(0, takerFill.Report.LeavesQuantity.Units);
        Assert.Equal(OrderEntryProtocol.OrderIdOf(1, 1), takerFill.Report.CounterOrderId);

        var makerFill = await maker.ReadReportAsync();
        Assert.Equal(ReportType.Fill, makerFill.Report.Type);
        Assert.Equal(Liquidity.Maker, makerFill.Report.Liquidity);
        Assert.Equal(1UL, makerFill.ClOrdId);
        Assert.Equal(0UL, makerFill.RequestClOrdId);
        Assert.Equal(takerFill.Report.TradeId, makerFill.Report.TradeId);
        Assert.Equal(Px, makerFill.Report.Price.Units);
        Assert.Equal(Qty, makerFill.Report.Quantity.Units);
    }

    [Fact]
    public async Task Cancel_ByOrigClOrdId_CancelledAckForTheRequest()
    {
        await using var h = await StartAsync();
        await using var client = await h.LogonAsync(1);
        await client.NewOrderAsync(10, Side.Buy, Px - Tick, Qty);
        await client.CancelAsync(11, origClOrdId: 10);
        Assert.Equal(ReportType.Accepted, (await client.ReadReportAsync()).Report.Type);
        var cancelled = await client.ReadReportAsync();
        Assert.Equal(ReportType.Cancelled, cancelled.Report.Type);
        Assert.Equal(CancelReason.Requested, cancelled.Report.CancelReason);
        Assert.Equal(10UL, cancelled.ClOrdId);
        Assert.Equal(11UL, cancelled.RequestClOrdId);
        Assert.Equal(Qty, cancelled.Report.Quantity.Units);

        await client.CancelAsync(12, origClOrdId: 10); // again: nothing left to cancel
        var rejected = await client.ReadReportAsync();
        Assert.Equal(ReportType.Rejected, rejected.Report.Type);
        Assert.Equal(RejectReason.UnknownOrder, rejected.Report.RejectReason);
        Assert.Equal(12UL, rejected.RequestClOrdId);
    }

    [Fact]
    public async Task Amend_PriceAndQuantity_AmendedAck()
    {
        await using var h = await StartAsync();
        await using var client = await h.LogonAsync(1);
        await client.NewOrderAsync(20, Side.Buy, Px - 5 * Tick, Qty);
        await client.AmendAsync(21, origClOrdId: 20, newPrice: Px - 3 * Tick, newQuantity: 3 * Qty);
        Assert.Equal(ReportType.Accepted, (await client.ReadReportAsync()).Report.Type);
        var amended = await client.ReadReportAsync();
        Assert.Equal(ReportType.Amended, amended.Report.Type);
        Assert.Equal(20UL, amended.ClOrdId);
        Assert.Equal(21UL, amended.RequestClOrdId);
        Assert.Equal(Px - 3 * Tick, amended.Report.Price.Units);
        Assert.Equal(3 * Qty, amended.Report.Quantity.Units);
    }

    [Fact]
    public async Task CancelAll_EveryMarket_CancelsTheAccountsOrdersOnly()
    {
        await using var h = await StartAsync();
        await using var client = await h.LogonAsync(1);
        await using var other = await h.LogonAsync(2);
        await other.NewOrderAsync(1, Side.Buy, Px - 10 * Tick, Qty);
        Assert.Equal(ReportType.Accepted, (await other.ReadReportAsync()).Report.Type);
        for (ulong i = 1; i <= 3; i++) await client.NewOrderAsync(i, Side.Buy, Px - (long)i * Tick, Qty);
        for (int i = 0; i < 3; i++) Assert.Equal(ReportType.Accepted, (await client.ReadReportAsync()).Report.Type);

        await client.CancelAllAsync(100);
        var cancelled = new List<ulong>();
        for (int i = 0; i < 3; i++)
        {
            var r = await client.ReadReportAsync();
            Assert.Equal(ReportType.Cancelled, r.Report.Type);
            Assert.Equal(CancelReason.CancelAll, r.Report.CancelReason);
            Assert.Equal(100UL, r.RequestClOrdId);
            cancelled.Add(r.ClOrdId);
        }
        Assert.Equal([1UL, 2UL, 3UL], cancelled.Order());
        var done = await client.ReadReportAsync();
        Assert.Equal(ReportType.CancelAllDone, done.Report.Type);
        Assert.Equal(3, done.Report.Quantity.Units);
        Assert.Equal(100UL, done.RequestClOrdId);
        await other.AssertNothingAsync(Quiet);
    }

    [Fact]
    public async Task Heartbeat_Echoed_WithTheSameToken()
    {
        await using var h = await StartAsync();
        await using var client = await h.LogonAsync(1);
        await client.HeartbeatAsync(0xDEADBEEF_12345678);
        var frame = await client.ReadAsync();
        Assert.Equal(MessageType.HeartbeatAck, frame.Type);
        Assert.True(OrderEntryProtocol.TryReadHeartbeat(frame.Body, out ulong token));
        Assert.Equal(0xDEADBEEF_12345678, token);
    }

    [Fact]
    public async Task Resend_AfterReconnect_DuplicateClientOrderIdNamingTheOriginalOrder()
    {
        await using var h = await StartAsync();
        await using (var first = await h.LogonAsync(3))
        {
            await first.NewOrderAsync(77, Side.Sell, Px + Tick, Qty);
            Assert.Equal(ReportType.Accepted, (await first.ReadReportAsync()).Report.Type);
        }
        await using var again = await h.LogonAsync(3);
        await again.NewOrderAsync(77, Side.Sell, Px + Tick, Qty);
        var duplicate = await again.ReadReportAsync();
        Assert.Equal(ReportType.Rejected, duplicate.Report.Type);
        Assert.Equal(RejectReason.DuplicateClientOrderId, duplicate.Report.RejectReason);
        Assert.Equal(OrderEntryProtocol.OrderIdOf(3, 77), duplicate.Report.OrderId);
        Assert.Equal(77UL, duplicate.ClOrdId);
        Assert.Equal(77UL, duplicate.RequestClOrdId);
        Assert.Equal(1, h.Engine.DurableSequence.Value);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL << 40)]
    [InlineData(ulong.MaxValue)]
    public async Task NewOrder_ClOrdIdOutOfRange_InvalidFieldNothingSubmittedSessionStaysOpen(ulong clOrdId)
    {
        await using var h = await StartAsync();
        await using var client = await h.LogonAsync(1);
        await client.NewOrderAsync(clOrdId, Side.Buy, Px, Qty);
        var error = await client.ReadErrorAsync();
        Assert.Equal(ProtocolErrorCode.InvalidField, error.Code);
        Assert.Contains("cl_ord_id", error.Text);
        Assert.Equal(clOrdId, error.RefClOrdId);

        await client.CancelAsync(5, origClOrdId: 0);
        var cancelError = await client.ReadErrorAsync();
        Assert.Equal(ProtocolErrorCode.InvalidField, cancelError.Code);
        Assert.StartsWith("orig_cl_ord_id", cancelError.Text);

        await client.NewOrderAsync(OrderEntryProtocol.MaxClOrdId, Side.Buy, Px - Tick, Qty);
        var ack = await client.ReadReportAsync();
        Assert.Equal(ReportType.Accepted, ack.Report.Type);
        Assert.Equal(OrderEntryProtocol.MaxClOrdId, ack.ClOrdId);
        Assert.Equal(1, h.Engine.DurableSequence.Value); // only the valid one
    }

    // ------------------------------------------------------------------ framing

    [Fact]
    public async Task WrongBodyLength_MalformedFrameAndSessionStillUsable()
    {
        await using var h = await StartAsync();
        await using var client = await h.LogonAsync(1);
        var frame = new byte[4 + 20];
        BinaryPrimitives.WriteUInt32LittleEndian(frame, 20);
        frame[4] = (byte)MessageType.NewOrder; // a NewOrder body is 31 bytes
        await client.SendAsync(frame);
        Assert.Equal(ProtocolErrorCode.MalformedFrame, (await client.ReadErrorAsync()).Code);
        await client.NewOrderAsync(1, Side.Buy, Px - Tick, Qty);
        Assert.Equal(ReportType.Accepted, (await client.ReadReportAsync()).Report.Type);
        Assert.Equal(1, h.Server.ProtocolErrors(ProtocolErrorCode.MalformedFrame));
    }

    [Fact]
    public async Task UnknownMessageType_ErrorAndSessionStaysOpen()
    {
        await using var h = await StartAsync();
        await using var client = await h.LogonAsync(1);
        await client.SendAsync(new byte[] { 3, 0, 0, 0, 0x42, 1, 2 });
        Assert.Equal(ProtocolErrorCode.UnknownMessageType, (await client.ReadErrorAsync()).Code);
        await client.SendAsync(new byte[] { 1, 0, 0, 0, (byte)MessageType.ExecutionReport }); // a server type from a client
        Assert.Equal(ProtocolErrorCode.UnknownMessageType, (await client.ReadErrorAsync()).Code);
        await client.HeartbeatAsync(9);
        Assert.Equal(MessageType.HeartbeatAck, (await client.ReadAsync()).Type);
    }

    [Theory]
    [InlineData(257u, ProtocolErrorCode.FrameTooLarge)]
    [InlineData(0x7FFF_FFFFu, ProtocolErrorCode.FrameTooLarge)]
    [InlineData(0u, ProtocolErrorCode.MalformedFrame)]
    public async Task InvalidLengthPrefix_ErrorThenClosed_OtherSessionsUnaffected(uint length, ProtocolErrorCode expected)
    {
        await using var h = await StartAsync();
        await using var bystander = await h.LogonAsync(2);
        await using var client = await h.LogonAsync(1);
        var bytes = new byte[64];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, length);
        bytes[4] = (byte)MessageType.NewOrder;
        await client.SendAsync(bytes);
        var frames = await client.ReadUntilClosedAsync();
        Assert.Single(frames);
        Assert.Equal(expected, frames[0].AsError().Code);
        Assert.Equal(0, h.Engine.DurableSequence.Value);

        await bystander.NewOrderAsync(1, Side.Buy, Px - Tick, Qty);
        Assert.Equal(ReportType.Accepted, (await bystander.ReadReportAsync()).Report.Type);
        await EventuallyAsync(() => h.Server.SessionCount == 1, "the broken session to close");
    }

    [Fact]
    public async Task Frames_SplitAcrossReadsAndBatched_AllDecoded()
    {
        await using var h = await StartAsync();
        await using var client = await h.LogonAsync(1);
        var stream = new List<byte>();
        var buffer = new byte[OrderEntryProtocol.MaxFrameLength];
        for (ulong i = 1; i <= 20; i++)
        {
            int n = OrderEntryProtocol.WriteNewOrder(buffer, new NewOrderMessage(i, 1, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, Px - (long)i * Tick, Qty));
            stream.AddRange(buffer.AsSpan(0, n).ToArray());
        }
        var bytes = stream.ToArray();
        // The first ten frames a byte at a time (each frame spans many pipe reads), the rest in one send.
        int half = bytes.Length / 2;
        for (int i = 0; i < half; i++)
        {
            await client.SendAsync(bytes.AsMemory(i, 1));
            if (i % 16 == 0) await Task.Delay(1);
        }
        await client.SendAsync(bytes.AsMemory(half));
        for (ulong i = 1; i <= 20; i++)
        {
            var ack = await client.ReadReportAsync();
            Assert.Equal(ReportType.Accepted, ack.Report.Type);
            Assert.Equal(i, ack.RequestClOrdId);
        }
    }

    // ------------------------------------------------------------------ session end, limits, shutdown

    [Fact]
    public async Task Logout_AcksThenLogoutAcceptedThenClosed()
    {
        await using var h = await StartAsync();
        await using var client = await h.LogonAsync(1);
        await client.NewOrderAsync(1, Side.Buy, Px - Tick, Qty);
        await client.LogoutAsync();
        var frames = await client.ReadUntilClosedAsync();
        Assert.Equal(2, frames.Count);
        Assert.Equal(ReportType.Accepted, frames[0].AsReport().Report.Type);
        Assert.Equal(MessageType.LogoutAccepted, frames[1].Type);
        await EventuallyAsync(() => h.Server.SessionCount == 0, "the session to close");
    }

    [Fact]
    public async Task MaxSessions_Reached_ExtraConnectionGetsTooManySessionsAndIsClosed()
    {
        await using var h = await StartAsync(o => o with { MaxSessions = 2 });
        await using var a = await h.LogonAsync(1);
        await using var b = await h.LogonAsync(2);
        await using var c = await h.ConnectAsync();
        var frames = await c.ReadUntilClosedAsync();
        Assert.Single(frames);
        Assert.Equal(ProtocolErrorCode.TooManySessions, frames[0].AsError().Code);
        Assert.Equal(2, h.Server.SessionCount);
        await a.LogoutAsync();
        await a.ReadUntilClosedAsync();
        await EventuallyAsync(() => h.Server.SessionCount == 1, "a slot to free");
        await using var d = await h.LogonAsync(3);
    }

    [Fact]
    public async Task SlowConsumer_NotReading_ClosesOnlyThatSession()
    {
        await using var h = await StartAsync(o => o with { MaxSendBufferBytes = 64 * 1024, SocketSendBufferBytes = 4096 });
        await using var good = await h.LogonAsync(2);
        await using var slow = await OrderEntryTestClient.ConnectAsync(h.Endpoint, receiveBufferBytes: 4096);
        await slow.LogonAsync(KeyOf(1));

        // 4000 orders to an unknown market: 4000 rejections, 376,000 bytes the client never reads.
        var frames = new byte[4000 * (4 + OrderEntryProtocol.NewOrderBodyLength)];
        int offset = 0;
        for (ulong i = 1; i <= 4000; i++)
            offset += OrderEntryProtocol.WriteNewOrder(frames.AsSpan(offset), new NewOrderMessage(i, 999, Side.Buy, OrderType.Limit, TimeInForce.GoodTillCancel, OrderFlags.None, Px, Qty));
        var sending = slow.SendAsync(frames);

        for (ulong i = 1; i <= 50; i++)
        {
            await good.NewOrderAsync(i, Side.Buy, Px - (long)(i % 10 + 1) * Tick, Qty);
            Assert.Equal(i, (await good.ReadReportAsync()).RequestClOrdId);
        }
        await EventuallyAsync(() => h.Server.ProtocolErrors(ProtocolErrorCode.SlowConsumer) == 1, "the slow consumer to be detected");
        await Task.WhenAny(sending, Task.Delay(5000));

        // The slow client now reads: whatever reached it, then the end (the error frame when it was still deliverable).
        var received = await slow.ReadUntilClosedAsync(TimeSpan.FromSeconds(15));
        Assert.True(received.Count < 4000, $"{received.Count} frames reached the slow client");
        if (received.Count > 0 && received[^1].Type == MessageType.SessionError)
            Assert.Equal(ProtocolErrorCode.SlowConsumer, received[^1].AsError().Code);
        await EventuallyAsync(() => h.Server.SessionCount == 1, "only the good session to remain");

        await good.NewOrderAsync(1000, Side.Buy, Px - Tick, Qty);
        Assert.Equal(ReportType.Accepted, (await good.ReadReportAsync()).Report.Type);
        Assert.True(h.Engine.IsReady);
    }

    [Fact]
    public async Task Overload_RingFull_GatewayRejectsOverloadWithSequenceZero()
    {
        await using var h = await StartAsync(ringCapacity: 16);
        await using var client = await h.LogonAsync(4);
        h.Engine.Faults.Inject(FaultKind.MatcherStall, TimeSpan.FromSeconds(1));
        await Task.Delay(100); // let the matcher enter the stall
        for (ulong i = 1; i <= 40; i++) await client.NewOrderAsync(i, Side.Buy, Px - Tick, Qty);
        var overload = new List<ExecutionReportFrame>();
        var accepted = 0;
        while (overload.Count + accepted < 40)
        {
            var r = await client.ReadReportAsync();
            if (r.Report.Type == ReportType.Rejected && r.Report.RejectReason == RejectReason.Overload) overload.Add(r);
            else if (r.Report.Type == ReportType.Accepted) accepted++;
            else Assert.Fail($"unexpected {r.Report}");
        }
        Assert.Equal(16, accepted);
        Assert.Equal(24, overload.Count);
        Assert.All(overload, r =>
        {
            Assert.Equal(0, r.Report.Sequence.Value);
            Assert.Equal(r.RequestClOrdId, r.ClOrdId);
            Assert.Equal(OrderEntryProtocol.OrderIdOf(4, r.ClOrdId), r.Report.OrderId);
            Assert.Equal(CommandType.NewOrder, r.Report.CommandType);
            Assert.Equal(Px - Tick, r.Report.Price.Units);
        });
        Assert.Equal(24, h.Engine.Metrics.RejectedTotal(RejectCategory.Overload));
        await EventuallyAsync(() => h.AckLatencyRecords == 40, "an ack-latency record per acknowledgement");
    }

    [Fact]
    public async Task Stop_FlushesPendingReportsThenServerShuttingDownToEverySession()
    {
        await using var h = await StartAsync();
        await using var a = await h.LogonAsync(1);
        await using var b = await h.LogonAsync(2);
        // Stall the matcher so the 200 commands are journaled but unanswered when the stop begins.
        h.Engine.Faults.Inject(FaultKind.MatcherStall, TimeSpan.FromMilliseconds(600));
        for (ulong i = 1; i <= 200; i++) await a.NewOrderAsync(i, Side.Buy, Px - (long)(i % 50 + 1) * Tick, Qty);
        await EventuallyAsync(() => h.Engine.DurableSequence.Value == 200, "the 200 orders to be journaled");
        var stopping = h.Server.StopAsync();

        var framesA = await a.ReadUntilClosedAsync();
        Assert.Equal(201, framesA.Count);
        for (int i = 0; i < 200; i++) Assert.Equal(ReportType.Accepted, framesA[i].AsReport().Report.Type);
        Assert.Equal(ProtocolErrorCode.ServerShuttingDown, framesA[^1].AsError().Code);
        var framesB = await b.ReadUntilClosedAsync();
        Assert.Equal(ProtocolErrorCode.ServerShuttingDown, Assert.Single(framesB).AsError().Code);
        await stopping.WaitAsync(TimeSpan.FromSeconds(3)); // the clients closed: no close timeout to wait out
        Assert.Equal(0, h.Server.SessionCount);
        Assert.Equal(2, h.Server.ProtocolErrors(ProtocolErrorCode.ServerShuttingDown));
        Assert.Equal(200, h.Engine.DurableSequence.Value);

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var late = await h.ConnectAsync();
            Assert.Null(await late.ReadFrameAsync(TimeSpan.FromSeconds(2)));
        });
    }

    [Fact]
    public async Task EngineStopped_CommandGetsServerShuttingDownAndSessionCloses()
    {
        await using var h = await StartAsync();
        await using var client = await h.LogonAsync(1);
        await h.Engine.StopAsync();
        await client.NewOrderAsync(5, Side.Buy, Px, Qty);
        var frames = await client.ReadUntilClosedAsync();
        var error = Assert.Single(frames).AsError();
        Assert.Equal(ProtocolErrorCode.ServerShuttingDown, error.Code);
        Assert.Equal(5UL, error.RefClOrdId);
    }

    [Fact]
    public async Task SessionsGauge_CountsOpenSessions()
    {
        await using var h = await StartAsync();
        long sessions = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (ReferenceEquals(instrument.Meter, h.Engine.Metrics.Meter) && instrument.Name == "exh.gateway.sessions") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, value, _, _) => sessions = value);
        listener.Start();
        await using var a = await h.LogonAsync(1);
        await using var b = await h.LogonAsync(2);
        listener.RecordObservableInstruments();
        Assert.Equal(2, sessions);
        await b.LogoutAsync();
        await b.ReadUntilClosedAsync();
        await EventuallyAsync(() =>
        {
            listener.RecordObservableInstruments();
            return sessions == 1;
        }, "the gauge to drop to 1");
    }

    [Fact]
    public async Task Constructor_OptionsOutOfRange_Throw()
    {
        await using var h = await StartAsync();
        var ok = new OrderEntryServerOptions { Endpoint = new IPEndPoint(IPAddress.Loopback, 0) };
        Assert.Throws<ArgumentOutOfRangeException>(() => new OrderEntryServer(h.Engine, h.Credentials, ok with { MaxSessions = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OrderEntryServer(h.Engine, h.Credentials, ok with { MaxSendBufferBytes = 100 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OrderEntryServer(h.Engine, h.Credentials, ok with { LogonTimeout = TimeSpan.Zero }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OrderEntryServer(h.Engine, h.Credentials, ok with { SocketSendBufferBytes = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OrderEntryServer(h.Engine, h.Credentials, ok with { CloseTimeout = TimeSpan.FromDays(2) }));
        Assert.Throws<InvalidOperationException>(() => new OrderEntryServer(h.Engine, h.Credentials, ok).LocalEndPoint);
        await using var started = new OrderEntryServer(h.Engine, h.Credentials, ok);
        await started.StartAsync();
        await Assert.ThrowsAsync<InvalidOperationException>(() => started.StartAsync());
    }
}
