using System.Globalization;
using ExchangeHealth.Monitor.Storage;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ExchangeHealth.Alerting.Host;

/// <summary>Who leads the monitor nodes sharing one PostgreSQL database (table <c>monitor_leader</c>).</summary>
/// <param name="NodeId">The leader's node id (<c>--node-id</c>).</param>
/// <param name="ApiUrl">Its HTTP API base address, or empty when not known yet.</param>
/// <param name="Since">When it became leader.</param>
/// <param name="HeartbeatAt">Its last check-in (every <see cref="MonitorOptions.LeaderCheckInterval"/>); older than a few intervals means it is gone or frozen.</param>
public sealed record MonitorLeaderInfo(string NodeId, string ApiUrl, DateTimeOffset Since, DateTimeOffset HeartbeatAt);

/// <summary>
/// Leader election of monitor nodes on PostgreSQL: the leader holds the session advisory lock
/// <see cref="LockKey"/> (<c>pg_try_advisory_lock</c>) on a dedicated, unpooled connection. A
/// standby tries to take it every <see cref="MonitorOptions.LeaderCheckInterval"/>; the leader
/// checks its connection at the same pace and steps down at the first failure (the server releases
/// the lock when the session ends, so another node can take it). One leader at a time, as long as
/// the server sees the old leader's session end: a partitioned leader's session lasts until the
/// server's TCP keep-alive notices (the connection asks for 1 s keep-alives), a frozen process
/// (SIGSTOP) keeps its lock.
/// </summary>
/// <remarks>
/// A node that has stepped down does not run for leadership again (<see cref="Fenced"/>): its
/// in-memory pipeline state is stale, so it must be restarted (<c>exh monitor</c> exits with code 3).
/// </remarks>
public sealed class MonitorLeadership : IAsyncDisposable
{
    /// <summary>Key of the leader's advisory lock (ASCII <c>EXHMON</c>, then 2).</summary>
    public const long LockKey = 0x4558_484D_4F4E_0002;

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS monitor_leader (
            id           INTEGER PRIMARY KEY CHECK (id = 1),
            node_id      TEXT NOT NULL,
            api_url      TEXT NOT NULL,
            since        INTEGER NOT NULL,
            heartbeat_at INTEGER NOT NULL);
        """;

    private readonly MonitorDatabase _db;
    private readonly string _connectionString;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly TaskCompletionSource _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private NpgsqlConnection? _connection;
    private volatile bool _isLeader;
    private long _leaderSinceMs = -1;

    /// <summary>Creates the election (and its table); nothing runs before <see cref="RunAsync"/>.</summary>
    /// <param name="database">The shared monitor database (PostgreSQL).</param>
    /// <param name="connectionString">The same database's Npgsql connection string; never logged.</param>
    /// <param name="nodeId">This node's id.</param>
    /// <param name="interval">Try / check interval (1 s by default in <see cref="MonitorOptions"/>).</param>
    /// <param name="time">Clock of the loop and of the recorded times.</param>
    /// <param name="log">Logger.</param>
    public MonitorLeadership(MonitorDatabase database, string connectionString, string nodeId, TimeSpan interval, TimeProvider time, ILogger log)
    {
        _db = database ?? throw new ArgumentNullException(nameof(database));
        if (!database.IsShared) throw new ArgumentException("leader election needs the PostgreSQL monitor database", nameof(database));
        ArgumentException.ThrowIfNullOrEmpty(connectionString);
        ArgumentException.ThrowIfNullOrEmpty(nodeId);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        var b = new NpgsqlConnectionStringBuilder(connectionString)
        {
            Pooling = false,
            ApplicationName = "exh-monitor " + nodeId,
            Timeout = 5,
            CommandTimeout = Math.Max(2, (int)Math.Ceiling(interval.TotalSeconds * 2)),
            KeepAlive = 1,
            TcpKeepAlive = true,
            TcpKeepAliveTime = 1,
            TcpKeepAliveInterval = 1,
        };
        _connectionString = b.ConnectionString;
        NodeId = nodeId;
        _interval = interval;
        _time = time ?? throw new ArgumentNullException(nameof(time));
        _log = log ?? throw new ArgumentNullException(nameof(log));
        _db.EnsureSchema(Schema);
    }

    /// <summary>This node's id.</summary>
    public string NodeId { get; }

    /// <summary>This node's API base address, written to <c>monitor_leader</c> when it leads (set once the API listens).</summary>
    public Uri? ApiUrl { get; set; }

    /// <summary>True while this node holds the lock and runs the pipeline.</summary>
    public bool IsLeader => _isLeader;

    /// <summary>When this node became leader, or null.</summary>
    public DateTimeOffset? LeaderSince
    {
        get
        {
            long ms = Interlocked.Read(ref _leaderSinceMs);
            return _isLeader && ms >= 0 ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
        }
    }

    /// <summary>True once this node led and stepped down (it does not run again; restart it).</summary>
    public bool Fenced { get; private set; }

    /// <summary>Completes when this node, having led, lost leadership (its pipeline is stopped by then).</summary>
    public Task Lost => _lost.Task;

    /// <summary>Called after the lock was taken: start the pipeline (an exception makes the node step down).</summary>
    public Func<CancellationToken, Task>? Acquired { get; set; }

    /// <summary>Called when the lock is lost (or on <see cref="DisposeAsync"/> while leading), before the lock is released: stop the pipeline.</summary>
    public Func<Task>? Stepping { get; set; }

    /// <summary>
    /// Runs the election until <paramref name="cancellationToken"/> fires or this node steps down:
    /// every interval, a standby tries the lock and a leader checks its session and writes its
    /// heartbeat.
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested && !Fenced)
        {
            try
            {
                if (!_isLeader) await TryAcquireAsync(cancellationToken).ConfigureAwait(false);
                else await HeartbeatAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException or IOException)
            {
                if (_isLeader)
                {
                    _log.LogError("leadership: lost the connection holding the leader lock ({Error}): stepping down", e.Message);
                    await StepDownAsync().ConfigureAwait(false);
                    return;
                }
                _log.LogWarning("leadership: could not try the leader lock ({Error})", e.Message);
                await CloseAsync().ConfigureAwait(false);
            }
            try
            {
                await Task.Delay(_interval, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task TryAcquireAsync(CancellationToken cancellationToken)
    {
        if (_connection is null)
        {
            var c = new NpgsqlConnection(_connectionString);
            await c.OpenAsync(cancellationToken).ConfigureAwait(false);
            _connection = c;
        }
        await using (var cmd = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key)", _connection))
        {
            cmd.Parameters.AddWithValue("key", LockKey);
            if (!(bool)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!) return;
        }
        var now = _time.GetUtcNow();
        Interlocked.Exchange(ref _leaderSinceMs, now.ToUnixTimeMilliseconds());
        _isLeader = true;
        await using (var cmd = new NpgsqlCommand("""
            INSERT INTO monitor_leader (id, node_id, api_url, since, heartbeat_at) VALUES (1, @node, @url, @now, @now)
            ON CONFLICT (id) DO UPDATE SET node_id = excluded.node_id, api_url = excluded.api_url, since = excluded.since, heartbeat_at = excluded.heartbeat_at
            """, _connection))
        {
            cmd.Parameters.AddWithValue("node", NodeId);
            cmd.Parameters.AddWithValue("url", ApiUrl?.AbsoluteUri ?? "");
            cmd.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        _log.LogWarning("leadership: node {Node} is the leader: starting the alerting pipeline", NodeId);
        try
        {
            if (Acquired is not null) await Acquired(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _log.LogError(e, "leadership: starting the pipeline failed: stepping down");
            await StepDownAsync().ConfigureAwait(false);
        }
    }

    private async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        var c = _connection ?? throw new InvalidOperationException("no leader connection");
        await using var cmd = new NpgsqlCommand("UPDATE monitor_leader SET heartbeat_at = @now WHERE id = 1 AND node_id = @node", c);
        cmd.Parameters.AddWithValue("now", _time.GetUtcNow().ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("node", NodeId);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task StepDownAsync()
    {
        bool was = _isLeader;
        Fenced = was || Fenced;
        try
        {
            if (was && Stepping is not null) await Stepping().ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            _log.LogError(e, "leadership: stopping the pipeline failed");
        }
        _isLeader = false;
        await CloseAsync().ConfigureAwait(false);
        if (was)
        {
            _log.LogWarning("leadership: node {Node} stepped down", NodeId);
            _lost.TrySetResult();
        }
    }

    private async Task CloseAsync()
    {
        var c = Interlocked.Exchange(ref _connection, null);
        if (c is null) return;
        try
        {
            await c.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or IOException or InvalidOperationException)
        {
            // Closing a broken session: the server ends it anyway.
        }
    }

    /// <summary>The current leader as recorded in <c>monitor_leader</c>, or null when no node has led yet.</summary>
    public async Task<MonitorLeaderInfo?> GetLeaderAsync(CancellationToken cancellationToken = default)
    {
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT node_id, api_url, since, heartbeat_at FROM monitor_leader WHERE id = 1";
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await r.ReadAsync(cancellationToken).ConfigureAwait(false)) return null;
        return new MonitorLeaderInfo(r.GetString(0), r.GetString(1),
            DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3)));
    }

    /// <summary>The default node id: <c>hostname-pid</c>.</summary>
    public static string DefaultNodeId() => Environment.MachineName + "-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

    /// <summary>Steps down when leading (stopping the pipeline first) and releases the lock.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_isLeader) await StepDownAsync().ConfigureAwait(false);
        else await CloseAsync().ConfigureAwait(false);
    }
}
