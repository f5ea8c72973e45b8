using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway.Protocol;

namespace ExchangeHealth.Load.Client;

/// <summary>
/// An asynchronous TCP client of the binary order-entry protocol (docs/order-entry-protocol.md):
/// connects, logs on with an API key, sends new orders, cancels, amends and cancel-alls, and runs a
/// receive loop that decodes the server's frames and raises them as events. It keeps the table of
/// outstanding requests by client order id and matches each acknowledgement to its request.
/// </summary>
/// <remarks>
/// <para>
/// Sending: <c>Enqueue*</c> encodes a request into the client's send buffer and registers it as
/// outstanding; <see cref="Flush"/> writes the buffer to the socket (one system call for many
/// requests). <c>Send*</c> does both. These are synchronous and thread-safe; a full socket buffer
/// (a server that does not read) blocks the sender. The <c>*Async</c> request methods
/// (<see cref="NewOrderAsync"/>, ...) send one request and complete with its acknowledgement: handy
/// for tools and tests, but they allocate per call.
/// </para>
/// <para>
/// Receiving: one loop per client reads the socket, decodes whole frames without allocating and
/// raises <see cref="ReportReceived"/> (every execution report), <see cref="Acknowledged"/> (the
/// acknowledgement of an outstanding request, which stops being outstanding),
/// <see cref="RequestFailed"/> (a session error that names an outstanding request),
/// <see cref="SessionErrorReceived"/> and, once, <see cref="Disconnected"/>. Handlers run on the
/// receive loop: they must be quick, must not block and must not throw (an exception ends the
/// session). Attach them before <see cref="ConnectAsync"/>.
/// </para>
/// <para>
/// Client order ids must be 1 .. 2^40-1 and unique per account for the account's lifetime
/// (the engine derives the order id <c>account &lt;&lt; 40 | cl_ord_id</c> from them and answers a reused
/// new-order id with <c>duplicate_client_order_id</c>); choosing them is the caller's job. When the
/// connection is lost, the requests still outstanding stay in <see cref="GetOutstandingRequests"/>
/// so a caller can resend them on a new session (resent new orders are answered as duplicates when
/// the engine already has them).
/// </para>
/// </remarks>
public sealed class OrderEntryClient : IAsyncDisposable
{
    private readonly OrderEntryClientOptions _options;
    private readonly TimeProvider _time;
    private readonly object _sendLock = new();
    private readonly byte[] _sendBuffer;
    private int _sendLength;
    private readonly object _pendingLock = new();
    private readonly Dictionary<ulong, OutstandingRequest> _pending;
    private Dictionary<ulong, TaskCompletionSource<ExecutionReport>>? _waiters;
    private readonly ConcurrentDictionary<ulong, TaskCompletionSource<long>> _pings = new();
    private readonly TaskCompletionSource<LogonAcceptedMessage> _logon = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private Socket? _socket;
    private Task? _receiveLoop;
    private Task? _heartbeatLoop;
    private int _state;
    private int _closing;
    private bool _logoutRequested;
    private long _nextPingToken;
    private SessionErrorMessage? _lastSessionError;

    /// <summary>Creates a client; nothing is connected until <see cref="ConnectAsync"/>.</summary>
    /// <param name="options">Settings (null: the defaults).</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public OrderEntryClient(OrderEntryClientOptions? options = null)
    {
        _options = options ?? new OrderEntryClientOptions();
        if (_options.Validate() is { } problem) throw new ArgumentException(problem, nameof(options));
        _time = _options.TimeProvider;
        _sendBuffer = new byte[Math.Max(_options.SendBufferSize, OrderEntryProtocol.MaxFrameLength)];
        _pending = new Dictionary<ulong, OutstandingRequest>(_options.ExpectedOutstanding);
    }

    /// <summary>Every execution report, acknowledgements included (raised first). See <see cref="ExecutionReportHandler"/>.</summary>
    public event ExecutionReportHandler? ReportReceived;

    /// <summary>The acknowledgement of an outstanding request. See <see cref="AcknowledgementHandler"/>.</summary>
    public event AcknowledgementHandler? Acknowledged;

    /// <summary>A session error that named an outstanding request (e.g. <c>invalid_field</c>); the request is no longer outstanding.</summary>
    public event RequestFailedHandler? RequestFailed;

    /// <summary>Every session error received after logon (also those raised as <see cref="RequestFailed"/>).</summary>
    public event SessionErrorHandler? SessionErrorReceived;

    /// <summary>The session ended; raised once.</summary>
    public event DisconnectedHandler? Disconnected;

    /// <summary>Where the client is in its life.</summary>
    public OrderEntryClientState State => (OrderEntryClientState)Volatile.Read(ref _state);

    /// <summary>True while logged on.</summary>
    public bool IsConnected => State == OrderEntryClientState.LoggedOn;

    /// <summary>The account the API key belongs to (from <c>LogonAccepted</c>); 0 before logon.</summary>
    public long AccountId { get; private set; }

    /// <summary>The server's id of this session (from <c>LogonAccepted</c>).</summary>
    public ulong SessionId { get; private set; }

    /// <summary>The engine's last durable journal sequence at logon (from <c>LogonAccepted</c>).</summary>
    public long LastSequenceAtLogon { get; private set; }

    /// <summary>The heartbeat interval the server granted, seconds (0 = none).</summary>
    public ushort HeartbeatIntervalSeconds { get; private set; }

    /// <summary>The server's address, once connected.</summary>
    public EndPoint? RemoteEndPoint { get; private set; }

    /// <summary>Why the session ended (null while open, or after a clean logout or disposal).</summary>
    public Exception? CloseReason { get; private set; }

    /// <summary>Completes when the session has ended (any reason).</summary>
    public Task Closed => _closed.Task;

    /// <summary>Number of requests sent and not yet acknowledged.</summary>
    public int OutstandingCount
    {
        get { lock (_pendingLock) return _pending.Count; }
    }

    /// <summary>True when requests are encoded but not yet written: call <see cref="Flush"/>.</summary>
    public bool HasUnflushedData => Volatile.Read(ref _sendLength) > 0;

    /// <summary>The clock the client's timestamps come from.</summary>
    public TimeProvider TimeProvider => _time;

    /// <summary>
    /// Connects to <paramref name="endPoint"/>, logs on with <paramref name="apiKey"/> and starts the
    /// receive loop. Returns when <c>LogonAccepted</c> has arrived.
    /// </summary>
    /// <param name="endPoint">The server (an <see cref="IPEndPoint"/> or <see cref="DnsEndPoint"/>).</param>
    /// <param name="apiKey">The API key (1..64 ASCII characters).</param>
    /// <param name="cancellationToken">Cancels the connection attempt.</param>
    /// <exception cref="ArgumentException">The key is empty, too long or not ASCII.</exception>
    /// <exception cref="InvalidOperationException">The client was already connected once.</exception>
    /// <exception cref="OrderEntryException">
    /// The connection failed or timed out, or the server refused the logon
    /// (<see cref="OrderEntryException.Code"/> says why, e.g. <see cref="ProtocolErrorCode.AuthenticationFailed"/>).
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task ConnectAsync(EndPoint endPoint, string apiKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(endPoint);
        ArgumentNullException.ThrowIfNull(apiKey);
        byte[] logon = new byte[OrderEntryProtocol.LengthPrefixSize + 6 + OrderEntryProtocol.MaxApiKeyLength];
        int logonLength = OrderEntryProtocol.WriteLogon(logon, apiKey, _options.HeartbeatIntervalSeconds);
        if (Interlocked.CompareExchange(ref _state, (int)OrderEntryClientState.Connecting, (int)OrderEntryClientState.Created) != (int)OrderEntryClientState.Created)
            throw new InvalidOperationException("an OrderEntryClient connects once; create a new one to reconnect");

        var socket = new Socket(endPoint.AddressFamily == AddressFamily.Unspecified ? AddressFamily.InterNetwork : endPoint.AddressFamily,
            SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        _socket = socket;
        try
        {
            using (var timeout = new CancellationTokenSource(_options.ConnectTimeout, _time))
            using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token))
            {
                try
                {
                    await socket.ConnectAsync(endPoint, linked.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
                {
                    throw new OrderEntryException($"cannot connect to {endPoint}: timed out after {_options.ConnectTimeout.TotalSeconds:0.#} s");
                }
                catch (SocketException e)
                {
                    throw new OrderEntryException($"cannot connect to {endPoint}: {e.Message}", e);
                }
            }
            RemoteEndPoint = socket.RemoteEndPoint;
            _receiveLoop = ReceiveLoopAsync(socket);
            lock (_sendLock)
            {
                logon.AsSpan(0, logonLength).CopyTo(_sendBuffer);
                _sendLength = logonLength;
                FlushLocked();
            }
            LogonAcceptedMessage accepted;
            try
            {
                accepted = await _logon.Task.WaitAsync(_options.LogonTimeout, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                throw new OrderEntryException($"{endPoint}: no LogonAccepted within {_options.LogonTimeout.TotalSeconds:0.#} s");
            }
            AccountId = accepted.AccountId;
            SessionId = accepted.SessionId;
            LastSequenceAtLogon = accepted.LastSequence;
            HeartbeatIntervalSeconds = accepted.HeartbeatIntervalSeconds;
            if (Interlocked.CompareExchange(ref _state, (int)OrderEntryClientState.LoggedOn, (int)OrderEntryClientState.Connecting) != (int)OrderEntryClientState.Connecting)
                throw new OrderEntryException($"{endPoint}: the connection closed right after logon", CloseReason);
            if (accepted.HeartbeatIntervalSeconds > 0) _heartbeatLoop = HeartbeatLoopAsync(TimeSpan.FromSeconds(accepted.HeartbeatIntervalSeconds));
        }
        catch (Exception e)
        {
            Close(e);
            if (_receiveLoop is not null) await _receiveLoop.ConfigureAwait(false);
            throw;
        }
    }

    // ------------------------------------------------------------------ sending

    /// <summary>Encodes a new order into the send buffer and registers it as outstanding (call <see cref="Flush"/> to write it).</summary>
    /// <param name="order">The order; <see cref="NewOrderMessage.ClOrdId"/> must be valid and not outstanding.</param>
    /// <param name="tag">A value returned with the acknowledgement in <see cref="OutstandingRequest.Tag"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The client order id is 0 or at least 2^40.</exception>
    /// <exception cref="ArgumentException">A request with this client order id is already outstanding.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected yet.</exception>
    /// <exception cref="OrderEntryException">The session has ended, or writing a full buffer to the socket failed.</exception>
    public void EnqueueNewOrder(in NewOrderMessage order, long tag = 0)
    {
        Register(new OutstandingRequest(order.ClOrdId, MessageType.NewOrder, order.MarketId, 0, order.Side, order.OrderType,
            order.TimeInForce, order.Flags, order.Price, order.Quantity, 0, tag));
        lock (_sendLock)
        {
            Reserve(OrderEntryProtocol.LengthPrefixSize + OrderEntryProtocol.NewOrderBodyLength);
            _sendLength += OrderEntryProtocol.WriteNewOrder(_sendBuffer.AsSpan(_sendLength), order);
        }
    }

    /// <summary>Encodes a cancel into the send buffer and registers it as outstanding. Exceptions as <see cref="EnqueueNewOrder"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The client order id is 0 or at least 2^40.</exception>
    /// <exception cref="ArgumentException">A request with this client order id is already outstanding.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected yet.</exception>
    /// <exception cref="OrderEntryException">The session has ended, or writing a full buffer to the socket failed.</exception>
    public void EnqueueCancel(in CancelMessage cancel, long tag = 0)
    {
        Register(new OutstandingRequest(cancel.ClOrdId, MessageType.Cancel, cancel.MarketId, cancel.OrigClOrdId, default, default, default, default, 0, 0, 0, tag));
        lock (_sendLock)
        {
            Reserve(OrderEntryProtocol.LengthPrefixSize + OrderEntryProtocol.CancelBodyLength);
            _sendLength += OrderEntryProtocol.WriteCancel(_sendBuffer.AsSpan(_sendLength), cancel);
        }
    }

    /// <summary>Encodes an amend into the send buffer and registers it as outstanding. Exceptions as <see cref="EnqueueNewOrder"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The client order id is 0 or at least 2^40.</exception>
    /// <exception cref="ArgumentException">A request with this client order id is already outstanding.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected yet.</exception>
    /// <exception cref="OrderEntryException">The session has ended, or writing a full buffer to the socket failed.</exception>
    public void EnqueueAmend(in AmendMessage amend, long tag = 0)
    {
        Register(new OutstandingRequest(amend.ClOrdId, MessageType.Amend, amend.MarketId, amend.OrigClOrdId, default, default, default, default,
            amend.NewPrice, amend.NewQuantity, 0, tag));
        lock (_sendLock)
        {
            Reserve(OrderEntryProtocol.LengthPrefixSize + OrderEntryProtocol.AmendBodyLength);
            _sendLength += OrderEntryProtocol.WriteAmend(_sendBuffer.AsSpan(_sendLength), amend);
        }
    }

    /// <summary>Encodes a cancel-all into the send buffer and registers it as outstanding. Exceptions as <see cref="EnqueueNewOrder"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The client order id is 0 or at least 2^40.</exception>
    /// <exception cref="ArgumentException">A request with this client order id is already outstanding.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected yet.</exception>
    /// <exception cref="OrderEntryException">The session has ended, or writing a full buffer to the socket failed.</exception>
    public void EnqueueCancelAll(in CancelAllMessage cancelAll, long tag = 0)
    {
        Register(new OutstandingRequest(cancelAll.ClOrdId, MessageType.CancelAll, cancelAll.MarketId, 0, default, default, default, default, 0, 0, 0, tag));
        lock (_sendLock)
        {
            Reserve(OrderEntryProtocol.LengthPrefixSize + OrderEntryProtocol.CancelAllBodyLength);
            _sendLength += OrderEntryProtocol.WriteCancelAll(_sendBuffer.AsSpan(_sendLength), cancelAll);
        }
    }

    /// <summary>
    /// Encodes <paramref name="request"/> again, unchanged (same client order id), and registers it as
    /// outstanding on this client: the resend of a request that a lost session left unacknowledged
    /// (<see cref="GetOutstandingRequests"/> of the old client). The engine answers a new order it
    /// already journaled with <c>rejected</c>/<c>duplicate_client_order_id</c> naming the original order.
    /// </summary>
    /// <param name="request">The request, e.g. from the old client's <see cref="GetOutstandingRequests"/>.</param>
    /// <exception cref="ArgumentOutOfRangeException">The client order id is 0 or at least 2^40.</exception>
    /// <exception cref="ArgumentException">The request's type is not one a client sends, or its client order id is outstanding here.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected yet.</exception>
    /// <exception cref="OrderEntryException">The session has ended, or writing a full buffer to the socket failed.</exception>
    public void EnqueueResend(in OutstandingRequest request)
    {
        switch (request.Type)
        {
            case MessageType.NewOrder:
                EnqueueNewOrder(new NewOrderMessage(request.ClOrdId, request.MarketId, request.Side, request.OrderType, request.TimeInForce,
                    request.Flags, request.Price, request.Quantity), request.Tag);
                break;
            case MessageType.Cancel:
                EnqueueCancel(new CancelMessage(request.ClOrdId, request.MarketId, request.OrigClOrdId), request.Tag);
                break;
            case MessageType.Amend:
                EnqueueAmend(new AmendMessage(request.ClOrdId, request.MarketId, request.OrigClOrdId, request.Price, request.Quantity), request.Tag);
                break;
            case MessageType.CancelAll:
                EnqueueCancelAll(new CancelAllMessage(request.ClOrdId, request.MarketId), request.Tag);
                break;
            default:
                throw new ArgumentException($"a {request.Type} is not a request a client resends", nameof(request));
        }
    }

    /// <summary><see cref="EnqueueResend"/> then <see cref="Flush"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The client order id is 0 or at least 2^40.</exception>
    /// <exception cref="ArgumentException">The request's type is not one a client sends, or its client order id is outstanding here.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected yet.</exception>
    /// <exception cref="OrderEntryException">The session has ended or the socket failed.</exception>
    public void Resend(in OutstandingRequest request)
    {
        EnqueueResend(request);
        Flush();
    }

    /// <summary>Writes every encoded request to the socket (blocking while the socket's buffer is full). Thread-safe.</summary>
    /// <exception cref="OrderEntryException">The socket failed; the session is closed.</exception>
    public void Flush()
    {
        lock (_sendLock) FlushLocked();
    }

    /// <summary><see cref="EnqueueNewOrder"/> then <see cref="Flush"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The client order id is 0 or at least 2^40.</exception>
    /// <exception cref="ArgumentException">A request with this client order id is already outstanding.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected yet.</exception>
    /// <exception cref="OrderEntryException">The session has ended or the socket failed.</exception>
    public void SendNewOrder(in NewOrderMessage order, long tag = 0)
    {
        EnqueueNewOrder(order, tag);
        Flush();
    }

    /// <summary><see cref="EnqueueCancel"/> then <see cref="Flush"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The client order id is 0 or at least 2^40.</exception>
    /// <exception cref="ArgumentException">A request with this client order id is already outstanding.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected yet.</exception>
    /// <exception cref="OrderEntryException">The session has ended or the socket failed.</exception>
    public void SendCancel(in CancelMessage cancel, long tag = 0)
    {
        EnqueueCancel(cancel, tag);
        Flush();
    }

    /// <summary><see cref="EnqueueAmend"/> then <see cref="Flush"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The client order id is 0 or at least 2^40.</exception>
    /// <exception cref="ArgumentException">A request with this client order id is already outstanding.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected yet.</exception>
    /// <exception cref="OrderEntryException">The session has ended or the socket failed.</exception>
    public void SendAmend(in AmendMessage amend, long tag = 0)
    {
        EnqueueAmend(amend, tag);
        Flush();
    }

    /// <summary><see cref="EnqueueCancelAll"/> then <see cref="Flush"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The client order id is 0 or at least 2^40.</exception>
    /// <exception cref="ArgumentException">A request with this client order id is already outstanding.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected yet.</exception>
    /// <exception cref="OrderEntryException">The session has ended or the socket failed.</exception>
    public void SendCancelAll(in CancelAllMessage cancelAll, long tag = 0)
    {
        EnqueueCancelAll(cancelAll, tag);
        Flush();
    }

    /// <summary>Sends a new order and completes with its acknowledgement (accepted or rejected).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The client order id is 0 or at least 2^40.</exception>
    /// <exception cref="ArgumentException">A request with this client order id is already outstanding.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected yet.</exception>
    /// <exception cref="OrderEntryException">A session error refused the request, or the session ended before the acknowledgement.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the request stays outstanding).</exception>
    public Task<ExecutionReport> NewOrderAsync(NewOrderMessage order, CancellationToken cancellationToken = default) =>
        RequestAsync(order.ClOrdId, () => SendNewOrder(order), cancellationToken);

    /// <summary>Sends a cancel and completes with its acknowledgement (cancelled or rejected). Exceptions as <see cref="NewOrderAsync"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The client order id is 0 or at least 2^40.</exception>
    /// <exception cref="ArgumentException">A request with this client order id is already outstanding.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected yet.</exception>
    /// <exception cref="OrderEntryException">A session error refused the request, or the session ended before the acknowledgement.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<ExecutionReport> CancelAsync(CancelMessage cancel, CancellationToken cancellationToken = default) =>
        RequestAsync(cancel.ClOrdId, () => SendCancel(cancel), cancellationToken);

    /// <summary>Sends an amend and completes with its acknowledgement (amended or rejected). Exceptions as <see cref="NewOrderAsync"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The client order id is 0 or at least 2^40.</exception>
    /// <exception cref="ArgumentException">A request with this client order id is already outstanding.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected yet.</exception>
    /// <exception cref="OrderEntryException">A session error refused the request, or the session ended before the acknowledgement.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<ExecutionReport> AmendAsync(AmendMessage amend, CancellationToken cancellationToken = default) =>
        RequestAsync(amend.ClOrdId, () => SendAmend(amend), cancellationToken);

    /// <summary>Sends a cancel-all and completes with its acknowledgement (cancel-all done or rejected). Exceptions as <see cref="NewOrderAsync"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The client order id is 0 or at least 2^40.</exception>
    /// <exception cref="ArgumentException">A request with this client order id is already outstanding.</exception>
    /// <exception cref="InvalidOperationException">The client is not connected yet.</exception>
    /// <exception cref="OrderEntryException">A session error refused the request, or the session ended before the acknowledgement.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task<ExecutionReport> CancelAllAsync(CancelAllMessage cancelAll, CancellationToken cancellationToken = default) =>
        RequestAsync(cancelAll.ClOrdId, () => SendCancelAll(cancelAll), cancellationToken);

    /// <summary>Sends a heartbeat and completes with the round-trip time when the server echoes it.</summary>
    /// <exception cref="InvalidOperationException">The client is not connected yet.</exception>
    /// <exception cref="OrderEntryException">The session ended first.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<TimeSpan> PingAsync(CancellationToken cancellationToken = default)
    {
        EnsureLoggedOn();
        ulong token = (ulong)Interlocked.Increment(ref _nextPingToken) | (1UL << 63);
        var tcs = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pings[token] = tcs;
        long start = _time.GetTimestamp();
        try
        {
            SendHeartbeat(token);
            long end = await tcs.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            return _time.GetElapsedTime(start, end);
        }
        finally
        {
            _pings.TryRemove(token, out _);
        }
    }

    /// <summary>
    /// Logs out: sends <c>Logout</c>, waits (at most <paramref name="timeout"/>, default 5 s) for
    /// <c>LogoutAccepted</c> or the server's close, then closes the socket. Does nothing when already closed.
    /// </summary>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the socket is closed anyway).</exception>
    public async Task LogoutAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        if (State != OrderEntryClientState.LoggedOn)
        {
            Close(null);
            return;
        }
        _logoutRequested = true;
        try
        {
            byte[] frame = new byte[OrderEntryProtocol.LengthPrefixSize + OrderEntryProtocol.EmptyBodyLength];
            OrderEntryProtocol.WriteEmpty(frame, MessageType.Logout);
            lock (_sendLock)
            {
                Reserve(frame.Length);
                frame.CopyTo(_sendBuffer.AsSpan(_sendLength));
                _sendLength += frame.Length;
                FlushLocked();
            }
            await _closed.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(5), _time, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OrderEntryException or TimeoutException)
        {
            // The session is closed below either way.
        }
        finally
        {
            Close(null);
        }
    }

    /// <summary>A copy of the requests sent and not yet acknowledged (for resending after a reconnect).</summary>
    public OutstandingRequest[] GetOutstandingRequests()
    {
        lock (_pendingLock)
        {
            var list = new OutstandingRequest[_pending.Count];
            _pending.Values.CopyTo(list, 0);
            return list;
        }
    }

    /// <summary>Closes the socket (no logout) and waits for the receive loop to end. Outstanding requests stay listed.</summary>
    public async ValueTask DisposeAsync()
    {
        Close(null);
        if (_receiveLoop is not null)
        {
            try { await _receiveLoop.ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException) { }
        }
        if (_heartbeatLoop is not null)
        {
            try { await _heartbeatLoop.ConfigureAwait(false); }
            catch (OperationCanceledException) { }
        }
        _stop.Dispose();
    }

    // ------------------------------------------------------------------ internals: sending

    private void EnsureLoggedOn()
    {
        var state = State;
        if (state == OrderEntryClientState.LoggedOn) return;
        if (state == OrderEntryClientState.Closed)
            throw new OrderEntryException("the order-entry session has ended" + (CloseReason is null ? "" : ": " + CloseReason.Message), CloseReason);
        throw new InvalidOperationException("the client is not logged on yet: call ConnectAsync first");
    }

    private void Register(OutstandingRequest request)
    {
        if (!OrderEntryProtocol.IsValidClOrdId(request.ClOrdId))
            throw new ArgumentOutOfRangeException(nameof(request), request.ClOrdId, $"client order ids are 1..{OrderEntryProtocol.MaxClOrdId}");
        EnsureLoggedOn();
        request = request with { SentTimestamp = _time.GetTimestamp() };
        lock (_pendingLock)
        {
            if (!_pending.TryAdd(request.ClOrdId, request))
                throw new ArgumentException($"a request with cl_ord_id {request.ClOrdId} is already outstanding", nameof(request));
        }
    }

    private void Reserve(int bytes)
    {
        if (_sendLength + bytes > _sendBuffer.Length) FlushLocked();
    }

    private void FlushLocked()
    {
        if (_sendLength == 0) return;
        var socket = _socket;
        try
        {
            if (socket is null) throw new ObjectDisposedException(nameof(OrderEntryClient));
            int sent = 0;
            while (sent < _sendLength) sent += socket.Send(_sendBuffer, sent, _sendLength - sent, SocketFlags.None);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            Close(e);
            throw new OrderEntryException($"cannot send to {RemoteEndPoint}: {e.Message}", e);
        }
        finally
        {
            Volatile.Write(ref _sendLength, 0);
        }
    }

    private void SendHeartbeat(ulong token)
    {
        lock (_sendLock)
        {
            Reserve(OrderEntryProtocol.LengthPrefixSize + OrderEntryProtocol.HeartbeatBodyLength);
            _sendLength += OrderEntryProtocol.WriteHeartbeat(_sendBuffer.AsSpan(_sendLength), token);
            FlushLocked();
        }
    }

    private async Task<ExecutionReport> RequestAsync(ulong clOrdId, Action send, CancellationToken cancellationToken)
    {
        var tcs = new TaskCompletionSource<ExecutionReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_pendingLock)
        {
            _waiters ??= [];
            if (!_waiters.TryAdd(clOrdId, tcs))
                throw new ArgumentException($"a request with cl_ord_id {clOrdId} is already outstanding", nameof(clOrdId));
        }
        try
        {
            send();
            return await tcs.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            lock (_pendingLock) _waiters.Remove(clOrdId);
        }
    }

    private async Task HeartbeatLoopAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                if (State != OrderEntryClientState.LoggedOn) return;
                try { SendHeartbeat(0); }
                catch (OrderEntryException) { return; }
            }
        }
        catch (OperationCanceledException) { }
    }

    // ------------------------------------------------------------------ internals: receiving

    private async Task ReceiveLoopAsync(Socket socket)
    {
        byte[] buffer = new byte[_options.ReceiveBufferSize];
        int filled = 0;
        Exception? error = null;
        try
        {
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, _stop.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    if (!_logoutRequested)
                    {
                        string why = _lastSessionError is { } last ? $" after session error {last.Code.Name()} ({last.Text})" : "";
                        error = new OrderEntryException($"{RemoteEndPoint}: the server closed the connection{why}",
                            _lastSessionError?.Code ?? ProtocolErrorCode.None);
                    }
                    break;
                }
                filled += n;
                int consumed = ProcessFrames(buffer.AsSpan(0, filled), _time.GetTimestamp());
                if (consumed > 0)
                {
                    filled -= consumed;
                    if (filled > 0) Buffer.BlockCopy(buffer, consumed, buffer, 0, filled);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
        catch (ObjectDisposedException) when (Volatile.Read(ref _closing) != 0) { }
        catch (SocketException) when (Volatile.Read(ref _closing) != 0) { }
        catch (Exception e)
        {
            error = e is OrderEntryException ? e : new OrderEntryException($"{RemoteEndPoint}: {e.Message}", e);
        }
        Close(error);
    }

    /// <summary>Handles every whole frame at the start of <paramref name="data"/>; returns the bytes consumed.</summary>
    private int ProcessFrames(ReadOnlySpan<byte> data, long now)
    {
        int consumed = 0;
        while (true)
        {
            var status = OrderEntryProtocol.TryReadFrame(data[consumed..], out var body, out int frameLength, out var error);
            if (status == FrameStatus.NeedMoreData) return consumed;
            if (status == FrameStatus.Invalid)
                throw new OrderEntryException($"{RemoteEndPoint}: the server sent an invalid frame ({error.Name()})", error);
            consumed += frameLength;
            HandleFrame(body, now);
        }
    }

    private void HandleFrame(ReadOnlySpan<byte> body, long now)
    {
        switch (OrderEntryProtocol.TypeOf(body))
        {
            case MessageType.ExecutionReport:
                if (!OrderEntryProtocol.TryReadExecutionReport(body, out var report, out ulong clOrdId, out ulong requestClOrdId))
                    throw Malformed(body);
                OnExecutionReport(report, clOrdId, requestClOrdId, now);
                break;
            case MessageType.LogonAccepted:
                if (!OrderEntryProtocol.TryReadLogonAccepted(body, out var accepted)) throw Malformed(body);
                _logon.TrySetResult(accepted);
                break;
            case MessageType.SessionError:
                if (!OrderEntryProtocol.TryReadSessionError(body, out var sessionError)) throw Malformed(body);
                OnSessionError(sessionError);
                break;
            case MessageType.HeartbeatAck:
                if (!OrderEntryProtocol.TryReadHeartbeat(body, out ulong token)) throw Malformed(body);
                if (_pings.TryRemove(token, out var ping)) ping.TrySetResult(now);
                break;
            case MessageType.LogoutAccepted:
                _logoutRequested = true;
                break;
            default:
                throw new OrderEntryException(string.Create(CultureInfo.InvariantCulture,
                    $"{RemoteEndPoint}: the server sent a message of unexpected type 0x{body[0]:x2}"));
        }
    }

    private OrderEntryException Malformed(ReadOnlySpan<byte> body) => new(string.Create(CultureInfo.InvariantCulture,
        $"{RemoteEndPoint}: the server sent a malformed message of type 0x{body[0]:x2} ({body.Length} bytes)"), ProtocolErrorCode.MalformedFrame);

    private void OnExecutionReport(in ExecutionReport report, ulong clOrdId, ulong requestClOrdId, long now)
    {
        ReportReceived?.Invoke(this, report, clOrdId, requestClOrdId, now);
        if (requestClOrdId == 0 || !OrderEntryProtocol.IsAcknowledgement(report)) return;
        OutstandingRequest request;
        TaskCompletionSource<ExecutionReport>? waiter = null;
        bool found;
        lock (_pendingLock)
        {
            found = _pending.Remove(requestClOrdId, out request);
            if (found && _waiters is not null && _waiters.Remove(requestClOrdId, out waiter)) { }
        }
        if (!found) return;
        Acknowledged?.Invoke(this, request, report, now);
        waiter?.TrySetResult(report);
    }

    private void OnSessionError(SessionErrorMessage error)
    {
        _lastSessionError = error;
        if (State == OrderEntryClientState.Connecting)
        {
            _logon.TrySetException(new OrderEntryException(
                $"{RemoteEndPoint}: logon refused: {error.Code.Name()}{(error.Text.Length > 0 ? " (" + error.Text + ")" : "")}", error.Code));
            return;
        }
        SessionErrorReceived?.Invoke(this, error);
        if (error.RefClOrdId == 0) return;
        OutstandingRequest request;
        TaskCompletionSource<ExecutionReport>? waiter = null;
        bool found;
        lock (_pendingLock)
        {
            found = _pending.Remove(error.RefClOrdId, out request);
            if (found && _waiters is not null && _waiters.Remove(error.RefClOrdId, out waiter)) { }
        }
        if (!found) return;
        RequestFailed?.Invoke(this, request, error);
        waiter?.TrySetException(new OrderEntryException(
            $"request {error.RefClOrdId} refused: {error.Code.Name()}{(error.Text.Length > 0 ? " (" + error.Text + ")" : "")}", error.Code));
    }

    /// <summary>Ends the session once: closes the socket, fails every waiter and raises <see cref="Disconnected"/>.</summary>
    private void Close(Exception? error)
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0) return;
        CloseReason = error;
        bool wasLoggedOn = Interlocked.Exchange(ref _state, (int)OrderEntryClientState.Closed) == (int)OrderEntryClientState.LoggedOn;
        try { _stop.Cancel(); }
        catch (ObjectDisposedException) { }
        var socket = _socket;
        if (socket is not null)
        {
            try { socket.Shutdown(SocketShutdown.Both); }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
            socket.Dispose();
        }
        var failure = error as OrderEntryException ?? new OrderEntryException(
            "the order-entry session has ended" + (error is null ? "" : ": " + error.Message), error);
        _logon.TrySetException(failure);
        List<TaskCompletionSource<ExecutionReport>>? waiters = null;
        lock (_pendingLock)
        {
            if (_waiters is { Count: > 0 })
            {
                waiters = [.. _waiters.Values];
                _waiters.Clear();
            }
        }
        if (waiters is not null) foreach (var w in waiters) w.TrySetException(failure);
        foreach (var (_, ping) in _pings) ping.TrySetException(failure);
        _closed.TrySetResult();
        if (wasLoggedOn) Disconnected?.Invoke(this, error);
    }
}
