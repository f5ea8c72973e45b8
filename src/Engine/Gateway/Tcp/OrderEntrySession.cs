using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Sockets;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Journal;
using ExchangeHealth.Engine.Primitives;
using ExchangeHealth.Engine.Service;

namespace ExchangeHealth.Engine.Gateway.Tcp;

/// <summary>
/// One order-entry TCP connection (docs/order-entry-protocol.md): a receive loop that decodes
/// frames from a <see cref="PipeReader"/> and submits commands, an outbound buffer that
/// <see cref="OnReport"/> (matcher thread) appends encoded reports to under a short lock, and a
/// send loop that writes whatever has gathered in one socket send.
/// </summary>
/// <remarks>
/// <para>
/// Outbound: two buffers swap under <c>_sendLock</c>. Producers (the matcher, the receive loop)
/// encode into the pending buffer; the send loop takes it whole and writes it while the other
/// buffer fills. Nothing a producer does can block on the socket. Unsent bytes (pending plus in
/// flight) are bounded by <see cref="OrderEntryServerOptions.MaxSendBufferBytes"/>; passing the
/// bound closes the session as a slow consumer. Acknowledgements carry their receipt timestamp
/// beside the frame so the send loop records the ack-latency SLI once the frame is written.
/// </para>
/// <para>
/// Closing: the first close request wins (<see cref="RequestClose"/>); the receive loop stops
/// executing frames at once and only discards input until the client closes. Logout, shutdown and
/// end-of-stream first wait until every command this session put into the engine is acknowledged
/// (then one matcher round trip, so the fills that follow an acknowledgement are in too); then the
/// final frame is queued, the send loop writes everything and shuts the socket's send side, and
/// the client's close (or <see cref="OrderEntryServerOptions.CloseTimeout"/>) ends the session.
/// </para>
/// </remarks>
internal sealed class OrderEntrySession : IReportReceiver
{
    private enum CloseMode : byte { Abort, Flush, Drain }

    private readonly record struct CloseRequest(CloseMode Mode, MessageType FinalType, ProtocolErrorCode Code, ulong RefClOrdId, string? Text)
    {
        public static CloseRequest Aborted => new(CloseMode.Abort, 0, ProtocolErrorCode.None, 0, null);
        public static CloseRequest Error(CloseMode mode, ProtocolErrorCode code, ulong refClOrdId, string text) =>
            new(mode, MessageType.SessionError, code, refClOrdId, text);
    }

    private readonly record struct AckStamp(ushort MarketId, long ReceivedTimestamp);

    private const int Open = 0;
    private const int Closing = 1;
    private const int InitialBufferBytes = 16 * 1024;
    private const int InitialAckStamps = 64;

    private static readonly StreamPipeReaderOptions ReaderOptions = new(bufferSize: 4096, minimumReadSize: 512, leaveOpen: true);

    private readonly OrderEntryServer _server;
    private readonly EngineService _engine;
    private readonly EngineCredentials _credentials;
    private readonly OrderEntryServerOptions _options;
    private readonly TimeProvider _time;
    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly SendSignal _signal = new();
    private readonly TaskCompletionSource<CloseRequest> _closeRequested = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly long _startedAt;

    // Outbound, guarded by _sendLock.
    private readonly Lock _sendLock = new();
    private byte[] _pending;
    private int _pendingLength;
    private AckStamp[] _pendingAcks;
    private int _pendingAckCount;
    private int _inFlight;
    private bool _accepting = true;
    private bool _finalQueued;
    // Owned by the send loop between swaps.
    private byte[] _sending;
    private AckStamp[] _sendingAcks;

    private int _state;
    private volatile bool _aborted;
    private volatile bool _loggedOn;
    private long _accountId;
    private ushort _heartbeatSeconds;
    private long _lastInput;
    private int _outstanding;
    private TaskCompletionSource? _drained;
    private readonly ITimer _timer;

    public OrderEntrySession(OrderEntryServer server, EngineService engine, EngineCredentials credentials, OrderEntryServerOptions options,
        Socket socket, ulong id)
    {
        _server = server;
        _engine = engine;
        _credentials = credentials;
        _options = options;
        _time = options.TimeProvider;
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
        Id = id;
        int initial = Math.Min(InitialBufferBytes, options.MaxSendBufferBytes + OrderEntryProtocol.MaxFrameLength);
        _pending = ArrayPool<byte>.Shared.Rent(initial);
        _sending = ArrayPool<byte>.Shared.Rent(initial);
        _pendingAcks = new AckStamp[InitialAckStamps];
        _sendingAcks = new AckStamp[InitialAckStamps];
        _startedAt = _time.GetTimestamp();
        _lastInput = _startedAt;
        // The logon timeout runs from the accept; after logon the same timer supervises heartbeats.
        _timer = _time.CreateTimer(static s => ((OrderEntrySession)s!).OnTimer(), this, options.LogonTimeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Server-wide session id (sent in LogonAccepted).</summary>
    public ulong Id { get; }

    /// <summary>Completes when the session has closed and released everything.</summary>
    public Task Completion { get; private set; } = Task.CompletedTask;

    /// <summary>Starts the loops. Call once.</summary>
    public void Start() => Completion = RunAsync();

    /// <summary>Server shutdown: finish what is in the engine, send <c>server_shutting_down</c>, close.</summary>
    public void RequestShutdown() =>
        RequestClose(CloseRequest.Error(CloseMode.Drain, ProtocolErrorCode.ServerShuttingDown, 0, "the server is shutting down"));

    /// <summary>Closes the socket at once (the server's stop was cancelled).</summary>
    public void ForceClose()
    {
        RequestClose(CloseRequest.Aborted);
        Abort();
    }

    // ------------------------------------------------------------------ lifecycle

    private async Task RunAsync()
    {
        bool loopsEnded = false;
        try
        {
            var send = SendLoopAsync();
            var receive = ReceiveLoopAsync();
            var request = await _closeRequested.Task.ConfigureAwait(false);
            if (request.Mode == CloseMode.Drain) await DrainAsync().ConfigureAwait(false);
            if (request.Mode == CloseMode.Abort)
            {
                Abort();
            }
            else
            {
                QueueFinal(request);
                if (!await CompletesWithinAsync(send).ConfigureAwait(false)) Abort();
            }
            if (!await CompletesWithinAsync(receive).ConfigureAwait(false)) Abort();
            await send.ConfigureAwait(false);
            await receive.ConfigureAwait(false);
            loopsEnded = true;
        }
        catch (Exception)
        {
            // Nothing may escape a session; whatever went wrong, close this connection only.
            Abort();
        }
        finally
        {
            Cleanup(returnBuffers: loopsEnded);
        }
    }

    private async Task<bool> CompletesWithinAsync(Task task)
    {
        try
        {
            await task.WaitAsync(_options.CloseTimeout, _time).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private async Task DrainAsync()
    {
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _drained, drained);
        if (Volatile.Read(ref _outstanding) <= 0) drained.TrySetResult();
        try
        {
            await drained.Task.WaitAsync(_options.CloseTimeout, _time).ConfigureAwait(false);
            // The last acknowledgement is delivered; its fills follow within the same matcher batch.
            // A query runs between batches, so once it has run they are in the outbound buffer.
            if (!_engine.Stopped.IsCompleted)
                await _engine.QueryAsync(static _ => true).WaitAsync(_options.CloseTimeout, _time).ConfigureAwait(false);
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or OperationCanceledException)
        {
            // The engine is gone or stuck: close with what has arrived.
        }
    }

    /// <summary>First request wins; the receive loop stops executing frames at once.</summary>
    private bool RequestClose(CloseRequest request)
    {
        if (Interlocked.CompareExchange(ref _state, Closing, Open) != Open) return false;
        _closeRequested.TrySetResult(request);
        return true;
    }

    private void Fail()
    {
        if (!RequestClose(CloseRequest.Aborted)) Abort();
    }

    private void Abort()
    {
        _aborted = true;
        lock (_sendLock) _accepting = false;
        try { _socket.Dispose(); }
        catch (Exception) { }
        _signal.Set();
    }

    /// <summary>Releases everything; the pooled buffers only when no socket operation can still use them.</summary>
    private void Cleanup(bool returnBuffers)
    {
        try { _timer.Dispose(); }
        catch (Exception) { }
        if (_loggedOn) _engine.UnregisterAccount(Volatile.Read(ref _accountId), this);
        try { _socket.Dispose(); }
        catch (Exception) { }
        _stream.Dispose();
        lock (_sendLock)
        {
            _accepting = false;
            if (returnBuffers)
            {
                ArrayPool<byte>.Shared.Return(_pending);
                ArrayPool<byte>.Shared.Return(_sending);
            }
            _pending = _sending = [];
            _pendingLength = 0;
        }
        _server.OnSessionClosed(this);
    }

    private void OnTimer()
    {
        try
        {
            if (Volatile.Read(ref _state) != Open) return;
            if (!_loggedOn)
            {
                var waited = _time.GetElapsedTime(_startedAt);
                if (waited >= _options.LogonTimeout)
                {
                    RequestClose(CloseRequest.Error(CloseMode.Flush, ProtocolErrorCode.NotLoggedOn, 0,
                        string.Create(CultureInfo.InvariantCulture, $"no logon within {_options.LogonTimeout.TotalSeconds:0.###} s")));
                }
                else
                {
                    // A timer may fire a little before the clock says it is due.
                    _timer.Change(_options.LogonTimeout - waited + TimeSpan.FromMilliseconds(1), Timeout.InfiniteTimeSpan);
                }
                return;
            }
            int interval = _heartbeatSeconds;
            if (interval > 0 && _time.GetElapsedTime(Volatile.Read(ref _lastInput)) >= TimeSpan.FromSeconds(3 * interval))
            {
                RequestClose(CloseRequest.Error(CloseMode.Flush, ProtocolErrorCode.HeartbeatTimeout, 0,
                    string.Create(CultureInfo.InvariantCulture, $"nothing received for {3 * interval} s (3 heartbeat intervals)")));
            }
        }
        catch (Exception)
        {
            Fail();
        }
    }

    // ------------------------------------------------------------------ receiving

    private async Task ReceiveLoopAsync()
    {
        var reader = PipeReader.Create(_stream, ReaderOptions);
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                Volatile.Write(ref _lastInput, _time.GetTimestamp());
                if (Volatile.Read(ref _state) == Open) ProcessFrames(ref buffer);
                else buffer = buffer.Slice(buffer.End); // closing: discard until the client closes
                reader.AdvanceTo(buffer.Start, buffer.End);
                if (result.IsCompleted || result.IsCanceled) break;
            }
            // End of stream: the client will send nothing more; answer what is in the engine, then close.
            RequestClose(new CloseRequest(CloseMode.Drain, 0, ProtocolErrorCode.None, 0, null));
        }
        catch (Exception)
        {
            Fail();
        }
        finally
        {
            try { await reader.CompleteAsync().ConfigureAwait(false); }
            catch (Exception) { }
        }
    }

    private void ProcessFrames(ref ReadOnlySequence<byte> buffer)
    {
        Span<byte> scratch = stackalloc byte[OrderEntryProtocol.MaxBodyLength];
        while (Volatile.Read(ref _state) == Open)
        {
            var status = OrderEntryProtocol.TryReadFrame(ref buffer, out var body, out var error);
            if (status == FrameStatus.NeedMoreData) return;
            if (status == FrameStatus.Invalid)
            {
                RequestClose(CloseRequest.Error(CloseMode.Flush, error, 0, InvalidLengthText(buffer, error)));
                break;
            }
            long received = Stopwatch.GetTimestamp();
            if (body.IsSingleSegment)
            {
                HandleFrame(body.FirstSpan, received);
            }
            else
            {
                int length = (int)body.Length;
                body.CopyTo(scratch);
                HandleFrame(scratch[..length], received);
            }
        }
        buffer = buffer.Slice(buffer.End);
    }

    private static string InvalidLengthText(ReadOnlySequence<byte> buffer, ProtocolErrorCode error)
    {
        Span<byte> prefix = stackalloc byte[OrderEntryProtocol.LengthPrefixSize];
        buffer.Slice(0, OrderEntryProtocol.LengthPrefixSize).CopyTo(prefix);
        uint length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(prefix);
        return error == ProtocolErrorCode.FrameTooLarge
            ? string.Create(CultureInfo.InvariantCulture, $"frame length {length} exceeds {OrderEntryProtocol.MaxBodyLength}; closing")
            : "frame length 0; closing";
    }

    private void HandleFrame(ReadOnlySpan<byte> body, long received)
    {
        var type = OrderEntryProtocol.TypeOf(body);
        if (!_loggedOn)
        {
            if (type == MessageType.Logon) HandleLogon(body);
            else SendError(ProtocolErrorCode.NotLoggedOn, 0, "log on first");
            return;
        }
        switch (type)
        {
            case MessageType.NewOrder:
                HandleNewOrder(body, received);
                break;
            case MessageType.Cancel:
                HandleCancel(body, received);
                break;
            case MessageType.Amend:
                HandleAmend(body, received);
                break;
            case MessageType.CancelAll:
                HandleCancelAll(body, received);
                break;
            case MessageType.Heartbeat:
                if (!OrderEntryProtocol.TryReadHeartbeat(body, out ulong token))
                {
                    SendError(ProtocolErrorCode.MalformedFrame, 0, "Heartbeat body must be 9 bytes");
                    break;
                }
                Span<byte> ack = stackalloc byte[OrderEntryProtocol.LengthPrefixSize + OrderEntryProtocol.HeartbeatBodyLength];
                AppendControl(ack[..OrderEntryProtocol.WriteHeartbeat(ack, token, ack: true)]);
                break;
            case MessageType.Logout:
                if (body.Length != OrderEntryProtocol.EmptyBodyLength)
                {
                    SendError(ProtocolErrorCode.MalformedFrame, 0, "Logout body must be 1 byte");
                    break;
                }
                RequestClose(new CloseRequest(CloseMode.Drain, MessageType.LogoutAccepted, ProtocolErrorCode.None, 0, null));
                break;
            case MessageType.Logon:
                SendError(ProtocolErrorCode.AlreadyLoggedOn, 0, "already logged on");
                break;
            default:
                SendError(ProtocolErrorCode.UnknownMessageType, 0, "unknown message type");
                break;
        }
    }

    private void HandleLogon(ReadOnlySpan<byte> body)
    {
        if (!OrderEntryProtocol.TryReadLogon(body, out var logon, out var error))
        {
            SendError(error, 0, error == ProtocolErrorCode.InvalidField ? "api_key must be ASCII" : "Logon body must be 6 + key_length bytes, key 1..64");
            return;
        }
        if (logon.ProtocolVersion != OrderEntryProtocol.Version)
        {
            RequestClose(CloseRequest.Error(CloseMode.Flush, ProtocolErrorCode.UnsupportedVersion, 0,
                string.Create(CultureInfo.InvariantCulture, $"protocol version {logon.ProtocolVersion} is not supported; this server speaks {OrderEntryProtocol.Version}")));
            return;
        }
        if (!_credentials.TryAuthenticate(logon.ApiKey, out var entry) || entry is null)
        {
            _engine.Metrics.CountAuthFailure();
            RequestClose(CloseRequest.Error(CloseMode.Flush, ProtocolErrorCode.AuthenticationFailed, 0, "unknown API key"));
            return;
        }
        Volatile.Write(ref _accountId, entry.AccountId);
        _heartbeatSeconds = logon.HeartbeatIntervalSeconds;
        _engine.RegisterAccount(entry.AccountId, this);
        _loggedOn = true;
        Span<byte> frame = stackalloc byte[OrderEntryProtocol.LengthPrefixSize + OrderEntryProtocol.LogonAcceptedBodyLength];
        int n = OrderEntryProtocol.WriteLogonAccepted(frame,
            new LogonAcceptedMessage(entry.AccountId, Id, _engine.DurableSequence.Value, logon.HeartbeatIntervalSeconds));
        AppendControl(frame[..n]);
        if (logon.HeartbeatIntervalSeconds > 0)
        {
            // Check twice per interval: the close comes between 3 and 3.5 intervals of silence.
            var check = TimeSpan.FromSeconds(logon.HeartbeatIntervalSeconds / 2.0);
            _timer.Change(check, check);
        }
        else
        {
            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    private void HandleNewOrder(ReadOnlySpan<byte> body, long received)
    {
        if (!OrderEntryProtocol.TryReadNewOrder(body, out var m))
        {
            SendError(ProtocolErrorCode.MalformedFrame, 0, "NewOrder body must be 31 bytes");
            return;
        }
        if (!CheckClOrdId(m.ClOrdId, m.ClOrdId, "cl_ord_id must be 1..2^40-1")) return;
        long account = Volatile.Read(ref _accountId);
        var command = new Command
        {
            Type = CommandType.NewOrder,
            MarketId = m.MarketId,
            AccountId = account,
            OrderId = OrderEntryProtocol.OrderIdOf(account, m.ClOrdId),
            Side = m.Side,
            OrderType = m.OrderType,
            TimeInForce = m.TimeInForce,
            Flags = m.Flags,
            Price = new Price(m.Price),
            Quantity = new Quantity(m.Quantity),
        };
        Submit(ref command, m.ClOrdId, received);
    }

    private void HandleCancel(ReadOnlySpan<byte> body, long received)
    {
        if (!OrderEntryProtocol.TryReadCancel(body, out var m))
        {
            SendError(ProtocolErrorCode.MalformedFrame, 0, "Cancel body must be 19 bytes");
            return;
        }
        if (!CheckClOrdId(m.ClOrdId, m.ClOrdId, "cl_ord_id must be 1..2^40-1")) return;
        if (!CheckClOrdId(m.OrigClOrdId, m.ClOrdId, "orig_cl_ord_id must be 1..2^40-1")) return;
        long account = Volatile.Read(ref _accountId);
        var command = new Command
        {
            Type = CommandType.Cancel,
            MarketId = m.MarketId,
            AccountId = account,
            OrderId = OrderEntryProtocol.OrderIdOf(account, m.OrigClOrdId),
        };
        Submit(ref command, m.ClOrdId, received);
    }

    private void HandleAmend(ReadOnlySpan<byte> body, long received)
    {
        if (!OrderEntryProtocol.TryReadAmend(body, out var m))
        {
            SendError(ProtocolErrorCode.MalformedFrame, 0, "Amend body must be 35 bytes");
            return;
        }
        if (!CheckClOrdId(m.ClOrdId, m.ClOrdId, "cl_ord_id must be 1..2^40-1")) return;
        if (!CheckClOrdId(m.OrigClOrdId, m.ClOrdId, "orig_cl_ord_id must be 1..2^40-1")) return;
        long account = Volatile.Read(ref _accountId);
        var command = new Command
        {
            Type = CommandType.Amend,
            MarketId = m.MarketId,
            AccountId = account,
            OrderId = OrderEntryProtocol.OrderIdOf(account, m.OrigClOrdId),
            Price = new Price(m.NewPrice),
            Quantity = new Quantity(m.NewQuantity),
        };
        Submit(ref command, m.ClOrdId, received);
    }

    private void HandleCancelAll(ReadOnlySpan<byte> body, long received)
    {
        if (!OrderEntryProtocol.TryReadCancelAll(body, out var m))
        {
            SendError(ProtocolErrorCode.MalformedFrame, 0, "CancelAll body must be 11 bytes");
            return;
        }
        if (!CheckClOrdId(m.ClOrdId, m.ClOrdId, "cl_ord_id must be 1..2^40-1")) return;
        var command = new Command
        {
            Type = CommandType.CancelAll,
            MarketId = m.MarketId,
            AccountId = Volatile.Read(ref _accountId),
        };
        Submit(ref command, m.ClOrdId, received);
    }

    private bool CheckClOrdId(ulong value, ulong refClOrdId, string text)
    {
        if (value is >= 1 and <= OrderEntryProtocol.MaxClOrdId) return true;
        SendError(ProtocolErrorCode.InvalidField, refClOrdId, text);
        return false;
    }

    private void Submit(ref Command command, ulong clOrdId, long received)
    {
        // Counted before the state check: a drain that has seen zero cannot miss a submit that
        // slips in, because that submit then sees the session closing (both sides use full fences).
        Interlocked.Increment(ref _outstanding);
        if (Volatile.Read(ref _state) != Open)
        {
            ReleaseOutstanding();
            return;
        }
        var status = _engine.Submit(ref command, this, clOrdId, received);
        if (status == SubmitStatus.Enqueued) return;
        ReleaseOutstanding();
        switch (status)
        {
            case SubmitStatus.Overload:
                RejectLocally(ref command, clOrdId, received, RejectReason.Overload);
                break;
            case SubmitStatus.NotReady:
                RejectLocally(ref command, clOrdId, received, RejectReason.Internal);
                break;
            default:
                RequestClose(CloseRequest.Error(CloseMode.Drain, ProtocolErrorCode.ServerShuttingDown, clOrdId, "the engine is stopping"));
                break;
        }
    }

    /// <summary>The gateway's own answer when the engine did not take the command (already counted by the service).</summary>
    private void RejectLocally(ref Command c, ulong clOrdId, long received, RejectReason reason)
    {
        var report = new ExecutionReport
        {
            Type = ReportType.Rejected,
            CommandType = c.Type,
            RejectReason = reason,
            Timestamp = JournalWriter.UnixNanoseconds(_time),
            MarketId = c.MarketId,
            OrderId = c.OrderId,
            AccountId = c.AccountId,
            Side = c.Side,
            Price = c.Price,
            Quantity = c.Quantity,
        };
        AppendReport(in report, clOrdId, received);
    }

    private void ReleaseOutstanding()
    {
        if (Interlocked.Decrement(ref _outstanding) <= 0) Volatile.Read(ref _drained)?.TrySetResult();
    }

    // ------------------------------------------------------------------ outbound

    /// <inheritdoc/>
    /// <remarks>Matcher thread: encodes into the outbound buffer under a short lock; never blocks on the socket, never throws.</remarks>
    public void OnReport(in ExecutionReport report, ulong requestClOrdId, long receivedTimestamp)
    {
        bool acknowledgement = requestClOrdId != 0 && OrderEntryProtocol.IsAcknowledgement(report);
        try
        {
            AppendReport(in report, requestClOrdId, acknowledgement ? receivedTimestamp : 0);
        }
        catch (Exception)
        {
            Fail();
        }
        finally
        {
            if (acknowledgement) ReleaseOutstanding();
        }
    }

    private void AppendReport(in ExecutionReport report, ulong requestClOrdId, long ackReceivedTimestamp)
    {
        const int size = OrderEntryProtocol.ExecutionReportFrameLength;
        bool appended = false, slow = false;
        lock (_sendLock)
        {
            if (_accepting)
            {
                if (HasRoom(size))
                {
                    if (_pending.Length - _pendingLength < size) Grow(size);
                    OrderEntryProtocol.WriteExecutionReport(_pending.AsSpan(_pendingLength), in report, requestClOrdId);
                    _pendingLength += size;
                    if (ackReceivedTimestamp != 0)
                    {
                        if (_pendingAckCount == _pendingAcks.Length) Array.Resize(ref _pendingAcks, _pendingAcks.Length * 2);
                        _pendingAcks[_pendingAckCount++] = new AckStamp(report.MarketId, ackReceivedTimestamp);
                    }
                    appended = true;
                }
                else
                {
                    slow = true;
                }
            }
        }
        if (appended) _signal.Set();
        else if (slow) SlowConsumer();
    }

    private void AppendControl(ReadOnlySpan<byte> frame)
    {
        bool appended = false, slow = false;
        lock (_sendLock)
        {
            if (_accepting)
            {
                if (HasRoom(frame.Length))
                {
                    if (_pending.Length - _pendingLength < frame.Length) Grow(frame.Length);
                    frame.CopyTo(_pending.AsSpan(_pendingLength));
                    _pendingLength += frame.Length;
                    appended = true;
                }
                else
                {
                    slow = true;
                }
            }
        }
        if (appended) _signal.Set();
        else if (slow) SlowConsumer();
    }

    /// <summary>Under <c>_sendLock</c>: whether <paramref name="size"/> more bytes stay within the bound; if not, stops accepting.</summary>
    private bool HasRoom(int size)
    {
        if ((long)_pendingLength + _inFlight + size <= _options.MaxSendBufferBytes) return true;
        _accepting = false;
        return false;
    }

    private void SlowConsumer() =>
        RequestClose(CloseRequest.Error(CloseMode.Flush, ProtocolErrorCode.SlowConsumer, 0,
            "the client does not read its reports: send buffer bound passed"));

    private void SendError(ProtocolErrorCode code, ulong refClOrdId, string text)
    {
        _server.CountProtocolError(code);
        Span<byte> frame = stackalloc byte[OrderEntryProtocol.MaxFrameLength];
        int n = OrderEntryProtocol.WriteSessionError(frame, code, refClOrdId, text);
        AppendControl(frame[..n]);
    }

    /// <summary>Queues the last frame (error or LogoutAccepted; may pass the bound by that one frame) and tells the send loop to finish.</summary>
    private void QueueFinal(CloseRequest request)
    {
        Span<byte> frame = stackalloc byte[OrderEntryProtocol.MaxFrameLength];
        int n = 0;
        if (request.FinalType == MessageType.SessionError)
        {
            _server.CountProtocolError(request.Code);
            n = OrderEntryProtocol.WriteSessionError(frame, request.Code, request.RefClOrdId, request.Text ?? "");
        }
        else if (request.FinalType == MessageType.LogoutAccepted)
        {
            n = OrderEntryProtocol.WriteEmpty(frame, MessageType.LogoutAccepted);
        }
        lock (_sendLock)
        {
            if (n > 0 && !_aborted)
            {
                if (_pending.Length - _pendingLength < n) Grow(n);
                frame[..n].CopyTo(_pending.AsSpan(_pendingLength));
                _pendingLength += n;
            }
            _accepting = false;
            _finalQueued = true;
        }
        _signal.Set();
    }

    /// <summary>Under <c>_sendLock</c>: a bigger pending buffer (rare: bursts only; the bound caps it).</summary>
    private void Grow(int size)
    {
        int needed = _pendingLength + size;
        int capacity = Math.Max(needed, (int)Math.Min((long)_pending.Length * 2, _options.MaxSendBufferBytes + OrderEntryProtocol.MaxFrameLength));
        var bigger = ArrayPool<byte>.Shared.Rent(capacity);
        _pending.AsSpan(0, _pendingLength).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_pending);
        _pending = bigger;
    }

    private async Task SendLoopAsync()
    {
        try
        {
            while (!_aborted)
            {
                int length, acks;
                bool finished;
                lock (_sendLock)
                {
                    length = _pendingLength;
                    acks = _pendingAckCount;
                    finished = length == 0 && _finalQueued;
                    if (length > 0)
                    {
                        (_pending, _sending) = (_sending, _pending);
                        (_pendingAcks, _sendingAcks) = (_sendingAcks, _pendingAcks);
                        _pendingLength = 0;
                        _pendingAckCount = 0;
                        _inFlight = length;
                    }
                }
                if (finished)
                {
                    _socket.Shutdown(SocketShutdown.Send);
                    return;
                }
                if (length == 0)
                {
                    await _signal.WaitAsync().ConfigureAwait(false);
                    continue;
                }
                int offset = 0;
                while (offset < length)
                {
                    int sent = await _socket.SendAsync(_sending.AsMemory(offset, length - offset), SocketFlags.None).ConfigureAwait(false);
                    if (sent <= 0) throw new SocketException((int)SocketError.ConnectionReset);
                    offset += sent;
                }
                lock (_sendLock) _inFlight = 0;
                // Receipt to written: the acknowledgement SLI (exh_order_ack_latency_seconds).
                for (int i = 0; i < acks; i++)
                    _engine.Metrics.RecordAckLatency(_sendingAcks[i].MarketId, _sendingAcks[i].ReceivedTimestamp);
            }
        }
        catch (Exception)
        {
            Fail();
        }
    }
}
