using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using ExchangeHealth.Engine.Gateway.Protocol;

namespace ExchangeHealth.Engine.Tests.Gateway;

/// <summary>One frame from the server: its type and body (type byte first).</summary>
public sealed record ServerFrame(MessageType Type, byte[] Body)
{
    public ExecutionReportFrame AsReport()
    {
        Assert.True(Type == MessageType.ExecutionReport, $"expected an ExecutionReport, got {Describe()}");
        Assert.True(OrderEntryProtocol.TryReadExecutionReport(Body, out var report, out ulong clOrdId, out ulong request), "bad ExecutionReport body");
        return new ExecutionReportFrame(report, clOrdId, request);
    }

    public SessionErrorMessage AsError()
    {
        Assert.True(Type == MessageType.SessionError, $"expected a SessionError, got {Describe()}");
        Assert.True(OrderEntryProtocol.TryReadSessionError(Body, out var error), "bad SessionError body");
        return error;
    }

    public string Describe()
    {
        if (Type == MessageType.ExecutionReport && OrderEntryProtocol.TryReadExecutionReport(Body, out var r, out ulong cl, out ulong req))
            return $"ExecutionReport {r} cl={cl} req={req}";
        if (Type == MessageType.SessionError && OrderEntryProtocol.TryReadSessionError(Body, out var e))
            return $"SessionError {e.Code} ref={e.RefClOrdId} '{e.Text}'";
        return $"{Type} ({Body.Length} bytes)";
    }
}

/// <summary>A decoded execution report with the two client ids that travel beside it.</summary>
public sealed record ExecutionReportFrame(ExecutionReport Report, ulong ClOrdId, ulong RequestClOrdId);

/// <summary>
/// A raw-socket order-entry client for tests: connects, sends frames built with the codec, reads
/// frames with a timeout. Not thread-safe except that one reader and one writer may run at once.
/// </summary>
public sealed class OrderEntryTestClient : IAsyncDisposable
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly byte[] _buffer = new byte[1 << 16];
    private int _start;
    private int _end;
    private bool _eof;

    private OrderEntryTestClient(Socket socket) => _socket = socket;

    public Socket Socket => _socket;

    /// <summary>Connects; <paramref name="receiveBufferBytes"/> sets SO_RCVBUF before connecting (a small one makes a slow reader).</summary>
    public static async Task<OrderEntryTestClient> ConnectAsync(IPEndPoint endpoint, int? receiveBufferBytes = null)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        if (receiveBufferBytes is int n) socket.ReceiveBufferSize = n;
        await socket.ConnectAsync(endpoint);
        return new OrderEntryTestClient(socket);
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            int sent = await _socket.SendAsync(bytes, SocketFlags.None);
            bytes = bytes[sent..];
        }
    }

    public Task SendFrameAsync(Func<byte[], int> write)
    {
        var frame = new byte[OrderEntryProtocol.MaxFrameLength + 64];
        int n = write(frame);
        return SendAsync(frame.AsMemory(0, n));
    }

    public Task LogonRequestAsync(string apiKey, ushort heartbeatSeconds = 0, ushort version = OrderEntryProtocol.Version) =>
        SendFrameAsync(f => OrderEntryProtocol.WriteLogon(f, apiKey, heartbeatSeconds, version));

    public async Task<LogonAcceptedMessage> LogonAsync(string apiKey, ushort heartbeatSeconds = 0)
    {
        await LogonRequestAsync(apiKey, heartbeatSeconds);
        var frame = await ReadFrameAsync() ?? throw new InvalidOperationException("closed instead of LogonAccepted");
        Assert.True(frame.Type == MessageType.LogonAccepted, $"expected LogonAccepted, got {frame.Describe()}");
        Assert.True(OrderEntryProtocol.TryReadLogonAccepted(frame.Body, out var accepted));
        return accepted;
    }

    public Task NewOrderAsync(ulong clOrdId, Side side, long price, long quantity, ushort market = 1,
        OrderType type = OrderType.Limit, TimeInForce tif = TimeInForce.GoodTillCancel, OrderFlags flags = OrderFlags.None) =>
        SendFrameAsync(f => OrderEntryProtocol.WriteNewOrder(f, new NewOrderMessage(clOrdId, market, side, type, tif, flags, price, quantity)));

    public Task CancelAsync(ulong clOrdId, ulong origClOrdId, ushort market = 1) =>
        SendFrameAsync(f => OrderEntryProtocol.WriteCancel(f, new CancelMessage(clOrdId, market, origClOrdId)));

    public Task AmendAsync(ulong clOrdId, ulong origClOrdId, long newPrice, long newQuantity, ushort market = 1) =>
        SendFrameAsync(f => OrderEntryProtocol.WriteAmend(f, new AmendMessage(clOrdId, market, origClOrdId, newPrice, newQuantity)));

    public Task CancelAllAsync(ulong clOrdId, ushort market = 0) =>
        SendFrameAsync(f => OrderEntryProtocol.WriteCancelAll(f, new CancelAllMessage(clOrdId, market)));

    public Task HeartbeatAsync(ulong token) => SendFrameAsync(f => OrderEntryProtocol.WriteHeartbeat(f, token));

    public Task LogoutAsync() => SendFrameAsync(f => OrderEntryProtocol.WriteEmpty(f, MessageType.Logout));

    /// <summary>The next frame; null when the server closed (end of stream or reset). Throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public async Task<ServerFrame?> ReadFrameAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        while (true)
        {
            if (_end - _start >= OrderEntryProtocol.LengthPrefixSize)
            {
                uint length = BinaryPrimitives.ReadUInt32LittleEndian(_buffer.AsSpan(_start));
                if (length is 0 or > OrderEntryProtocol.MaxBodyLength)
                    throw new InvalidDataException($"the server sent a frame length of {length}");
                if (_end - _start >= OrderEntryProtocol.LengthPrefixSize + length)
                {
                    var body = _buffer.AsSpan(_start + OrderEntryProtocol.LengthPrefixSize, (int)length).ToArray();
                    _start += OrderEntryProtocol.LengthPrefixSize + (int)length;
                    return new ServerFrame((MessageType)body[0], body);
                }
            }
            if (_eof) return null;
            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            int read;
            try
            {
                read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"no frame from the server within {(timeout ?? DefaultTimeout).TotalSeconds} s");
            }
            catch (SocketException)
            {
                _eof = true;
                CloseAfterEof();
                continue;
            }
            if (read == 0) _eof = true;
            _end += read;
            // Like a real client: once the server has closed and everything is read, close too.
            if (_eof) CloseAfterEof();
        }
    }

    public async Task<ServerFrame> ReadAsync(TimeSpan? timeout = null) =>
        await ReadFrameAsync(timeout) ?? throw new InvalidOperationException("the server closed the session");

    public async Task<ExecutionReportFrame> ReadReportAsync(TimeSpan? timeout = null) => (await ReadAsync(timeout)).AsReport();

    public async Task<SessionErrorMessage> ReadErrorAsync(TimeSpan? timeout = null) => (await ReadAsync(timeout)).AsError();

    /// <summary>Reads until the server closes; returns the frames read on the way.</summary>
    public async Task<List<ServerFrame>> ReadUntilClosedAsync(TimeSpan? timeout = null)
    {
        var frames = new List<ServerFrame>();
        var deadline = DateTimeOffset.UtcNow + (timeout ?? DefaultTimeout);
        while (true)
        {
            var left = deadline - DateTimeOffset.UtcNow;
            if (left <= TimeSpan.Zero) throw new TimeoutException($"the server did not close; frames: {string.Join("; ", frames.Select(f => f.Describe()))}");
            var frame = await ReadFrameAsync(left);
            if (frame is null) return frames;
            frames.Add(frame);
        }
    }

    /// <summary>Asserts nothing arrives within <paramref name="quiet"/>.</summary>
    public async Task AssertNothingAsync(TimeSpan quiet)
    {
        try
        {
            var frame = await ReadFrameAsync(quiet);
            Assert.Fail(frame is null ? "the server closed the session" : $"unexpected frame: {frame.Describe()}");
        }
        catch (TimeoutException)
        {
        }
    }

    private void CloseAfterEof()
    {
        try { _socket.Shutdown(SocketShutdown.Both); }
        catch (SocketException) { }
        catch (ObjectDisposedException) { }
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
