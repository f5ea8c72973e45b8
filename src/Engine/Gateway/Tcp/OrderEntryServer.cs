using System.Net;
using System.Net.Sockets;
using ExchangeHealth.Engine.Gateway.Protocol;
using ExchangeHealth.Engine.Service;

namespace ExchangeHealth.Engine.Gateway.Tcp;

/// <summary>
/// The binary TCP order-entry gateway (docs/order-entry-protocol.md): accepts connections, runs
/// one session per connection that logs on with an API key, decodes frames, submits commands to
/// the <see cref="EngineService"/> and writes the execution reports back.
/// </summary>
/// <remarks>
/// <para>
/// Threads: reports arrive on the matcher thread and are only encoded into a per-session buffer
/// there; each session's send loop (thread pool) writes them, many frames per socket send. A
/// client that stops reading is closed as a slow consumer once
/// <see cref="OrderEntryServerOptions.MaxSendBufferBytes"/> are waiting: the matcher never waits.
/// </para>
/// <para>
/// Isolation: nothing a client sends can throw out of its session; a bad frame, a broken socket
/// or a slow reader closes that session only.
/// </para>
/// <para>
/// Instruments (on <see cref="EngineService.Metrics"/>): <c>exh_gateway_sessions</c> (open
/// connections), <c>exh_gateway_auth_failures_total</c> (wrong API keys),
/// <c>exh_order_ack_latency_seconds</c> (frame receipt to its acknowledgement written to the socket).
/// </para>
/// </remarks>
public sealed class OrderEntryServer : IAsyncDisposable
{
    private const int ListenBacklog = 512;
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(1);

    private readonly EngineService _engine;
    private readonly EngineCredentials _credentials;
    private readonly OrderEntryServerOptions _options;
    private readonly Lock _lock = new();
    private readonly Dictionary<ulong, OrderEntrySession> _sessions = [];
    private readonly HashSet<Socket> _refusing = [];
    private readonly long[] _protocolErrors = new long[64];
    private readonly CancellationTokenSource _acceptCancel = new();
    private Socket? _listener;
    private Task _acceptLoop = Task.CompletedTask;
    private Task? _stopping;
    private long _lastSessionId;
    private bool _stopRequested;

    /// <summary>Creates a server; nothing listens until <see cref="StartAsync"/>.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">
    /// An option is out of range: sessions below 1, send buffer below one frame, socket buffer not
    /// positive, a timeout not positive or above one day.
    /// </exception>
    public OrderEntryServer(EngineService engine, EngineCredentials credentials, OrderEntryServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Endpoint);
        ArgumentNullException.ThrowIfNull(options.TimeProvider);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxSessions, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxSendBufferBytes, OrderEntryProtocol.MaxFrameLength, nameof(options));
        if (options.SocketSendBufferBytes is < 1) throw new ArgumentOutOfRangeException(nameof(options), "SocketSendBufferBytes must be positive");
        if (options.LogonTimeout <= TimeSpan.Zero || options.LogonTimeout > MaxTimeout)
            throw new ArgumentOutOfRangeException(nameof(options), "LogonTimeout must be positive and at most one day");
        if (options.CloseTimeout <= TimeSpan.Zero || options.CloseTimeout > MaxTimeout)
            throw new ArgumentOutOfRangeException(nameof(options), "CloseTimeout must be positive and at most one day");
        _engine = engine;
        _credentials = credentials;
        _options = options;
    }

    /// <summary>The bound address (the real port when <see cref="OrderEntryServerOptions.Endpoint"/> asked for port 0).</summary>
    /// <exception cref="InvalidOperationException">The server has not been started.</exception>
    public IPEndPoint LocalEndPoint =>
        (IPEndPoint?)_listener?.LocalEndPoint ?? throw new InvalidOperationException("the order-entry server has not been started");

    /// <summary>Open sessions (connections accepted and not yet closed, logged on or not).</summary>
    public int SessionCount
    {
        get
        {
            lock (_lock) return _sessions.Count;
        }
    }

    /// <summary>
    /// Number of <c>SessionError</c> frames sent with <paramref name="code"/> since start (the
    /// closing ones included: <c>server_shutting_down</c>, <c>slow_consumer</c>, <c>too_many_sessions</c>, ...).
    /// </summary>
    public long ProtocolErrors(ProtocolErrorCode code) =>
        (int)code < _protocolErrors.Length ? Interlocked.Read(ref _protocolErrors[(int)code]) : 0;

    /// <summary>Binds <see cref="OrderEntryServerOptions.Endpoint"/> and starts accepting connections.</summary>
    /// <exception cref="InvalidOperationException">Already started, or stopped.</exception>
    /// <exception cref="SocketException">The endpoint cannot be bound (in use, not a local address).</exception>
    public Task StartAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_lock)
        {
            if (_listener is not null || _stopRequested) throw new InvalidOperationException("the order-entry server can be started once");
            var listener = new Socket(_options.Endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                listener.Bind(_options.Endpoint);
                listener.Listen(ListenBacklog);
            }
            catch
            {
                listener.Dispose();
                throw;
            }
            _listener = listener;
        }
        _acceptLoop = AcceptLoopAsync(_listener);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Graceful stop: no new connections; each session stops taking commands, waits (up to
    /// <see cref="OrderEntryServerOptions.CloseTimeout"/>) for the acknowledgements of the commands
    /// it already gave the engine, writes them, then <c>SessionError server_shutting_down</c>, and
    /// closes. Works whether the engine is running, stopping or stopped. Idempotent.
    /// </summary>
    /// <param name="cancellationToken">Cancelling closes every remaining socket at once.</param>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled (the sockets are closed).</exception>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        Task stopping;
        lock (_lock)
        {
            _stopRequested = true;
            stopping = _stopping ??= Task.Run(StopCoreAsync);
        }
        try
        {
            await stopping.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            OrderEntrySession[] left;
            lock (_lock) left = [.. _sessions.Values];
            foreach (var session in left) session.ForceClose();
            throw;
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _acceptCancel.Dispose();
    }

    private async Task StopCoreAsync()
    {
        await _acceptCancel.CancelAsync().ConfigureAwait(false);
        try { _listener?.Dispose(); }
        catch (Exception) { }
        try { await _acceptLoop.ConfigureAwait(false); }
        catch (Exception) { }

        OrderEntrySession[] sessions;
        lock (_lock) sessions = [.. _sessions.Values];
        var completions = new Task[sessions.Length];
        for (int i = 0; i < sessions.Length; i++)
        {
            sessions[i].RequestShutdown();
            completions[i] = sessions[i].Completion;
        }
        await Task.WhenAll(completions).ConfigureAwait(false);

        Socket[] refusing;
        lock (_lock) refusing = [.. _refusing];
        foreach (var socket in refusing) socket.Dispose();
    }

    private async Task AcceptLoopAsync(Socket listener)
    {
        var token = _acceptCancel.Token;
        while (!token.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(token).ConfigureAwait(false);
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                // A connection reset before it was accepted, or out of descriptors: go on, gently.
                try { await Task.Delay(TimeSpan.FromMilliseconds(10), _options.TimeProvider, token).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                continue;
            }
            try
            {
                Admit(socket);
            }
            catch (Exception)
            {
                socket.Dispose();
            }
        }
    }

    private void Admit(Socket socket)
    {
        socket.NoDelay = true;
        if (_options.SocketSendBufferBytes is int sendBuffer) socket.SendBufferSize = sendBuffer;
        OrderEntrySession? session = null;
        ProtocolErrorCode refusal = ProtocolErrorCode.None;
        lock (_lock)
        {
            if (_stopRequested) refusal = ProtocolErrorCode.ServerShuttingDown;
            else if (_sessions.Count >= _options.MaxSessions) refusal = ProtocolErrorCode.TooManySessions;
            else
            {
                session = new OrderEntrySession(this, _engine, _credentials, _options, socket, (ulong)Interlocked.Increment(ref _lastSessionId));
                _sessions.Add(session.Id, session);
            }
        }
        if (session is null)
        {
            _ = RefuseAsync(socket, refusal);
            return;
        }
        _engine.Metrics.AddSessions(1);
        session.Start();
    }

    /// <summary>Sends one SessionError to a connection that gets no session, then closes it gracefully.</summary>
    private async Task RefuseAsync(Socket socket, ProtocolErrorCode code)
    {
        lock (_lock) _refusing.Add(socket);
        try
        {
            CountProtocolError(code);
            var frame = new byte[OrderEntryProtocol.MaxFrameLength];
            int n = OrderEntryProtocol.WriteSessionError(frame, code, 0,
                code == ProtocolErrorCode.TooManySessions ? $"the server has its maximum of {_options.MaxSessions} sessions" : "the server is shutting down");
            await socket.SendAsync(frame.AsMemory(0, n), SocketFlags.None).AsTask().WaitAsync(_options.CloseTimeout, _options.TimeProvider).ConfigureAwait(false);
            socket.Shutdown(SocketShutdown.Send);
            // Read until the client closes, so unread input does not turn our close into a reset
            // that could destroy the error frame before the client reads it.
            var sink = new byte[256];
            long started = _options.TimeProvider.GetTimestamp();
            while (_options.TimeProvider.GetElapsedTime(started) < _options.CloseTimeout)
            {
                int read = await socket.ReceiveAsync(sink.AsMemory(), SocketFlags.None).AsTask().WaitAsync(_options.CloseTimeout, _options.TimeProvider).ConfigureAwait(false);
                if (read == 0) break;
            }
        }
        catch (Exception)
        {
            // A refused connection that misbehaves is just closed.
        }
        finally
        {
            lock (_lock) _refusing.Remove(socket);
            socket.Dispose();
        }
    }

    internal void CountProtocolError(ProtocolErrorCode code)
    {
        if ((int)code < _protocolErrors.Length) Interlocked.Increment(ref _protocolErrors[(int)code]);
    }

    internal void OnSessionClosed(OrderEntrySession session)
    {
        bool removed;
        lock (_lock) removed = _sessions.Remove(session.Id);
        if (removed) _engine.Metrics.AddSessions(-1);
    }
}
