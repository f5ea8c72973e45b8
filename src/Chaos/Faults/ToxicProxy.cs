using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;

namespace ExchangeHealth.Chaos.Faults;

/// <summary>
/// An in-process TCP proxy on 127.0.0.1 (an ephemeral port) in front of one upstream endpoint, that
/// injects network faults ("toxics", as Shopify toxiproxy does) into the connections it forwards:
/// <see cref="LatencyToxic"/>, <see cref="BandwidthToxic"/>, <see cref="ResetPeerToxic"/>,
/// <see cref="SlicerToxic"/>, <see cref="TimeoutToxic"/>, and <see cref="SetDown">down</see>. This
/// machine has no <c>tc netem</c>, so clients are pointed at <see cref="EndPoint"/> instead of the
/// engine's gateway.
/// </summary>
/// <remarks>
/// <para>
/// Each connection is forwarded by two pumps (one per direction), each a reader and a writer joined
/// by a bounded queue of chunks stamped with their arrival time, all asynchronous (no thread per
/// connection). Toxics are added and removed at run time and take effect on the next chunk of every
/// open connection; connection-level toxics (reset_peer, timeout) are scheduled on the open
/// connections when added and on new connections when they open.
/// </para>
/// <para>
/// Half-close is forwarded: when one side shuts down its sending direction, the proxy forwards the
/// data still queued and then shuts down that direction towards the other side; the connection ends
/// when both directions have ended. A reset or error on either side resets the other side.
/// </para>
/// </remarks>
public sealed class ToxicProxy : IAsyncDisposable
{
    private const int ChunkSize = 16 * 1024;
    private readonly Socket _listener;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<long, ProxyConnection> _connections = new();
    private readonly object _toxicLock = new();
    private readonly Dictionary<string, ActiveToxic> _toxics = new(StringComparer.Ordinal);
    private volatile ActiveToxic[] _snapshot = [];
    private readonly Task _acceptLoop;
    private volatile bool _down;
    private long _nextConnectionId;
    private int _seed;
    internal long ConnectionsAccepted, ConnectionsRefused, ConnectionsReset, BytesUpstream, BytesDownstream, BytesDropped, Writes;

    private ToxicProxy(EndPoint upstream, TimeProvider time, int? seed)
    {
        Upstream = upstream;
        _time = time;
        _seed = seed ?? Random.Shared.Next();
        _listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(512);
        EndPoint = (IPEndPoint)_listener.LocalEndPoint!;
        _acceptLoop = AcceptLoopAsync();
    }

    /// <summary>
    /// Starts a proxy listening on 127.0.0.1 with an ephemeral port, forwarding to <paramref name="upstream"/>.
    /// </summary>
    /// <param name="upstream">The server to forward to (e.g. the engine's order-entry endpoint).</param>
    /// <param name="timeProvider">The clock for delays (null: the system clock).</param>
    /// <param name="seed">Seed of the random draws (toxicity, jitter, slice sizes); null: random.</param>
    /// <returns>The running proxy; dispose it to stop it and close every connection.</returns>
    /// <exception cref="SocketException">The listener cannot be bound.</exception>
    public static ToxicProxy Start(EndPoint upstream, TimeProvider? timeProvider = null, int? seed = null)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        return new ToxicProxy(upstream, timeProvider ?? TimeProvider.System, seed);
    }

    /// <summary>Where clients connect: 127.0.0.1 and the port the OS chose.</summary>
    public IPEndPoint EndPoint { get; }

    /// <summary>The server the proxy forwards to.</summary>
    public EndPoint Upstream { get; }

    /// <summary>True while the proxy is <see cref="SetDown">down</see>.</summary>
    public bool IsDown => _down;

    /// <summary>The toxics in effect now, in the order they were added.</summary>
    public IReadOnlyList<Toxic> Toxics => [.. _snapshot.Select(t => t.Toxic)];

    /// <summary>The counters now.</summary>
    public ToxicProxyStats Stats => new(Interlocked.Read(ref ConnectionsAccepted), _connections.Count, Interlocked.Read(ref ConnectionsRefused),
        Interlocked.Read(ref ConnectionsReset), Interlocked.Read(ref BytesUpstream), Interlocked.Read(ref BytesDownstream), Interlocked.Read(ref BytesDropped));

    /// <summary>Adds a toxic; it acts on open connections from their next chunk and on every new connection.</summary>
    /// <param name="toxic">The toxic; its <see cref="Toxic.Name"/> must be unique in this proxy.</param>
    /// <exception cref="ArgumentException">The toxic is invalid (the message names the field) or its name is taken.</exception>
    /// <exception cref="ObjectDisposedException">The proxy was disposed.</exception>
    public void AddToxic(Toxic toxic)
    {
        ArgumentNullException.ThrowIfNull(toxic);
        ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
        if (toxic.Validate() is { } problem) throw new ArgumentException($"toxic '{toxic.Name}' ({toxic.Type}): {problem}", nameof(toxic));
        ActiveToxic active;
        lock (_toxicLock)
        {
            if (_toxics.ContainsKey(toxic.Name)) throw new ArgumentException($"a toxic named '{toxic.Name}' already exists", nameof(toxic));
            active = new ActiveToxic(toxic, _time.GetTimestamp(), Interlocked.Increment(ref _seed));
            _toxics.Add(toxic.Name, active);
            _snapshot = [.. _snapshot, active];
        }
        foreach (var connection in _connections.Values) connection.Meet(active);
    }

    /// <summary>Removes the toxic named <paramref name="name"/> (a pending reset or timeout close of it is cancelled).</summary>
    /// <returns>False when there was no such toxic.</returns>
    public bool RemoveToxic(string name)
    {
        ActiveToxic? removed;
        lock (_toxicLock)
        {
            if (!_toxics.Remove(name, out removed)) return false;
            _snapshot = [.. _snapshot.Where(t => !ReferenceEquals(t, removed))];
        }
        removed.Removed.Cancel();
        return true;
    }

    /// <summary>Removes every toxic.</summary>
    public void ClearToxics()
    {
        foreach (var toxic in _snapshot) RemoveToxic(toxic.Toxic.Name);
    }

    /// <summary>
    /// Down (<paramref name="down"/> true): every open connection is reset and new connections are
    /// accepted and reset at once (the listener keeps its port, so clients see their connection
    /// reset rather than refused). Up (false): new connections are forwarded again.
    /// </summary>
    public void SetDown(bool down)
    {
        _down = down;
        if (down) foreach (var connection in _connections.Values) connection.Abort();
    }

    /// <summary>Stops listening, resets every open connection and waits for their pumps (bounded: a few seconds at most).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        _stop.Cancel();
        _listener.Dispose();
        foreach (var connection in _connections.Values) connection.Abort();
        try { await _acceptLoop.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
        catch (TimeoutException) { }
        var pending = _connections.Values.Select(c => c.Completion).ToArray();
        try { await Task.WhenAll(pending).WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); }
        catch (TimeoutException) { }
        lock (_toxicLock)
        {
            foreach (var toxic in _toxics.Values) toxic.Removed.Cancel();
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptAsync(_stop.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                if (_stop.IsCancellationRequested) return;
                continue;
            }
            Interlocked.Increment(ref ConnectionsAccepted);
            _ = HandleAsync(client);
        }
    }

    private async Task HandleAsync(Socket client)
    {
        client.NoDelay = true;
        if (_down || _stop.IsCancellationRequested)
        {
            Interlocked.Increment(ref ConnectionsRefused);
            ResetSocket(client);
            return;
        }
        var upstream = new Socket(Upstream.AddressFamily == AddressFamily.Unspecified ? AddressFamily.InterNetwork : Upstream.AddressFamily,
            SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            await upstream.ConnectAsync(Upstream, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
        {
            Interlocked.Increment(ref ConnectionsRefused);
            ResetSocket(upstream);
            ResetSocket(client);
            return;
        }
        long id = Interlocked.Increment(ref _nextConnectionId);
        var connection = new ProxyConnection(this, id, client, upstream);
        _connections[id] = connection;
        if (_down) connection.Abort();
        foreach (var toxic in _snapshot) connection.Meet(toxic);
        try { await connection.RunAsync().ConfigureAwait(false); }
        finally { _connections.TryRemove(id, out _); }
    }

    internal static void ResetSocket(Socket socket)
    {
        try { socket.LingerState = new LingerOption(true, 0); }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        socket.Dispose();
    }

    internal ActiveToxic[] Snapshot => _snapshot;

    internal TimeProvider Time => _time;

    /// <summary>A toxic in a proxy: when it was added, and a token cancelled when it is removed.</summary>
    internal sealed class ActiveToxic(Toxic toxic, long addedTimestamp, int seed)
    {
        public Toxic Toxic { get; } = toxic;

        public long AddedTimestamp { get; } = addedTimestamp;

        public int Seed { get; } = seed;

        public CancellationTokenSource Removed { get; } = new();
    }

    /// <summary>One forwarded connection: two pumps and the connection-level toxics scheduled on it.</summary>
    private sealed class ProxyConnection
    {
        private readonly ToxicProxy _proxy;
        private readonly Socket _client;
        private readonly Socket _upstream;
        private readonly ConcurrentDictionary<ActiveToxic, bool> _draws = new();
        private readonly CancellationTokenSource _abort = new();
        private readonly long _openedTimestamp;
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _ended;

        public ProxyConnection(ToxicProxy proxy, long id, Socket client, Socket upstream)
        {
            _proxy = proxy;
            Id = id;
            _client = client;
            _upstream = upstream;
            _openedTimestamp = proxy.Time.GetTimestamp();
        }

        public long Id { get; }

        public Task Completion => _completion.Task;

        /// <summary>Whether <paramref name="toxic"/> applies to this connection (one draw per toxic).</summary>
        public bool Applies(ActiveToxic toxic) => _draws.GetOrAdd(toxic, t =>
            t.Toxic.Toxicity >= 1 || (t.Toxic.Toxicity > 0 && new Random(HashCode.Combine(t.Seed, Id)).NextDouble() < t.Toxic.Toxicity));

        /// <summary>Schedules the connection-level effect of <paramref name="toxic"/> (reset_peer, timeout close) when it applies.</summary>
        public void Meet(ActiveToxic toxic)
        {
            int delayMs;
            bool reset;
            switch (toxic.Toxic)
            {
                case ResetPeerToxic r: delayMs = r.AfterMs; reset = true; break;
                case TimeoutToxic { TimeoutMs: > 0 } t: delayMs = t.TimeoutMs; reset = false; break;
                default: return;
            }
            if (!Applies(toxic)) return;
            long from = Math.Max(toxic.AddedTimestamp, _openedTimestamp);
            var wait = TimeSpan.FromMilliseconds(delayMs) - _proxy.Time.GetElapsedTime(from);
            _ = ScheduleAsync(toxic, wait, reset);
        }

        private async Task ScheduleAsync(ActiveToxic toxic, TimeSpan wait, bool reset)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(toxic.Removed.Token, _abort.Token);
            try
            {
                if (wait > TimeSpan.Zero) await Task.Delay(wait, _proxy.Time, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) { return; }
            catch (ObjectDisposedException) { return; }
            if (toxic.Removed.IsCancellationRequested) return;
            if (reset) Abort();
            else Close();
        }

        public async Task RunAsync()
        {
            var up = new Pump(this, ToxicDirection.Upstream, _client, _upstream);
            var down = new Pump(this, ToxicDirection.Downstream, _upstream, _client);
            try
            {
                await Task.WhenAll(up.RunAsync(), down.RunAsync()).ConfigureAwait(false);
                Close();
            }
            finally
            {
                _completion.TrySetResult();
            }
        }

        public CancellationToken Aborted => _abort.Token;

        public ToxicProxy Proxy => _proxy;

        /// <summary>Resets both sides (RST: linger 0, then close).</summary>
        public void Abort()
        {
            if (Interlocked.Exchange(ref _ended, 1) != 0) return;
            Interlocked.Increment(ref _proxy.ConnectionsReset);
            _abort.Cancel();
            ResetSocket(_client);
            ResetSocket(_upstream);
        }

        /// <summary>Closes both sides normally (FIN).</summary>
        public void Close()
        {
            if (Interlocked.Exchange(ref _ended, 1) != 0) return;
            _abort.Cancel();
            foreach (var socket in new[] { _client, _upstream })
            {
                try { socket.Shutdown(SocketShutdown.Both); }
                catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
                socket.Dispose();
            }
        }
    }

    private readonly record struct Chunk(byte[] Buffer, int Length, long Arrival);

    /// <summary>One direction of a connection: a reader that queues chunks and a writer that applies the toxics.</summary>
    private sealed class Pump(ProxyConnection connection, ToxicDirection direction, Socket source, Socket destination)
    {
        private readonly Channel<Chunk> _queue = Channel.CreateBounded<Chunk>(new BoundedChannelOptions(256) { SingleReader = true, SingleWriter = true });
        private readonly Random _random = new(HashCode.Combine(connection.Id, direction));
        private BandwidthToxic? _bandwidth;
        private long _bandwidthStart;
        private long _bandwidthBytes;

        private TimeProvider Time => connection.Proxy.Time;

        public Task RunAsync() => Task.WhenAll(ReadAsync(), WriteAsync());

        private async Task ReadAsync()
        {
            var token = connection.Aborted;
            try
            {
                while (true)
                {
                    byte[] buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
                    int n;
                    try { n = await source.ReceiveAsync(buffer.AsMemory(0, ChunkSize), SocketFlags.None, token).ConfigureAwait(false); }
                    catch
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        throw;
                    }
                    if (n == 0)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        break;
                    }
                    await _queue.Writer.WriteAsync(new Chunk(buffer, n, Time.GetTimestamp()), token).ConfigureAwait(false);
                }
                _queue.Writer.TryComplete();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                _queue.Writer.TryComplete();
                connection.Abort();
            }
        }

        private async Task WriteAsync()
        {
            var token = connection.Aborted;
            try
            {
                await foreach (var chunk in _queue.Reader.ReadAllAsync(token).ConfigureAwait(false))
                {
                    try { await ForwardAsync(chunk, token).ConfigureAwait(false); }
                    finally { ArrayPool<byte>.Shared.Return(chunk.Buffer); }
                }
                // The source half-closed: pass the end of stream on.
                try { destination.Shutdown(SocketShutdown.Send); }
                catch (SocketException) { connection.Abort(); }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                connection.Abort();
                while (_queue.Reader.TryRead(out var left)) ArrayPool<byte>.Shared.Return(left.Buffer);
            }
        }

        /// <summary>Waits until <paramref name="delay"/> has passed since <paramref name="from"/>; never returns early (timers may fire a little early).</summary>
        private async Task DelayUntilAsync(long from, TimeSpan delay, CancellationToken token)
        {
            while (true)
            {
                var remaining = delay - Time.GetElapsedTime(from);
                if (remaining <= TimeSpan.Zero) return;
                await Task.Delay(remaining < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : remaining, Time, token).ConfigureAwait(false);
            }
        }

        private async Task ForwardAsync(Chunk chunk, CancellationToken token)
        {
            var proxy = connection.Proxy;
            TimeSpan latency = TimeSpan.Zero;
            BandwidthToxic? bandwidth = null;
            SlicerToxic? slicer = null;
            foreach (var active in proxy.Snapshot)
            {
                if (active.Toxic.Direction != direction || !connection.Applies(active)) continue;
                switch (active.Toxic)
                {
                    case TimeoutToxic:
                        Interlocked.Add(ref proxy.BytesDropped, chunk.Length);
                        return;
                    case LatencyToxic l:
                        latency += TimeSpan.FromMilliseconds(l.LatencyMs + (l.JitterMs > 0 ? _random.Next(-l.JitterMs, l.JitterMs + 1) : 0));
                        break;
                    case BandwidthToxic b:
                        bandwidth ??= b;
                        break;
                    case SlicerToxic s:
                        slicer ??= s;
                        break;
                }
            }
            if (latency > TimeSpan.Zero)
            {
                await DelayUntilAsync(chunk.Arrival, latency, token).ConfigureAwait(false);
            }
            if (!ReferenceEquals(bandwidth, _bandwidth))
            {
                _bandwidth = bandwidth;
                _bandwidthStart = Time.GetTimestamp();
                _bandwidthBytes = 0;
            }
            int offset = 0;
            while (offset < chunk.Length)
            {
                int piece = chunk.Length - offset;
                if (slicer is not null)
                    piece = Math.Min(piece, Math.Max(1, slicer.AverageBytes + (slicer.SizeVariation > 0 ? _random.Next(-slicer.SizeVariation, slicer.SizeVariation + 1) : 0)));
                if (bandwidth is not null)
                {
                    long bytesPerSecond = bandwidth.KilobytesPerSecond * 1024;
                    piece = (int)Math.Min(piece, Math.Max(1, bytesPerSecond / 20)); // about 50 ms of data per write
                    // Wait until the bytes already sent fit the rate; an idle link does not bank credit.
                    var budget = TimeSpan.FromSeconds((double)_bandwidthBytes / bytesPerSecond);
                    var due = budget - Time.GetElapsedTime(_bandwidthStart);
                    if (due > TimeSpan.Zero) await DelayUntilAsync(_bandwidthStart, budget, token).ConfigureAwait(false);
                    else if (due < TimeSpan.FromMilliseconds(-100))
                    {
                        _bandwidthStart = Time.GetTimestamp();
                        _bandwidthBytes = 0;
                    }
                    _bandwidthBytes += piece;
                }
                int sent = 0;
                while (sent < piece)
                    sent += await destination.SendAsync(chunk.Buffer.AsMemory(offset + sent, piece - sent), SocketFlags.None, token).ConfigureAwait(false);
                offset += piece;
                Interlocked.Increment(ref proxy.Writes);
                if (direction == ToxicDirection.Upstream) Interlocked.Add(ref proxy.BytesUpstream, piece);
                else Interlocked.Add(ref proxy.BytesDownstream, piece);
                if (slicer is { DelayMicroseconds: > 0 } && offset < chunk.Length)
                    await Task.Delay(TimeSpan.FromMicroseconds(slicer.DelayMicroseconds), Time, token).ConfigureAwait(false);
            }
        }
    }
}
