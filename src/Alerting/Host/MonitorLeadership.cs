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
/// checks its connection at the same pace (writing its heartbeat, on the server's clock) and steps
/// down at the first failure (the server releases the lock when the session ends, so another node
/// can take it). The lock session asks the server for TCP keep-alives (2 s idle, 1 s interval, 3
/// probes) and a 5 s TCP user timeout, so a partitioned leader's session ends within seconds.
/// A leader whose heartbeat is older than the stale limit (a frozen process: SIGSTOP, a stuck VM,
/// whose kernel still answers keep-alives) has its lock session terminated by a standby
/// (<c>pg_terminate_backend</c>, which needs the same database role or <c>pg_signal_backend</c>);
/// when it runs again it finds its connection gone and steps down.
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
    private readonly TimeSpan _staleAfter;
    private readonly string _connectionString;
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly TaskCompletionSource _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private NpgsqlConnection? _connection;
    private Task _starting = Task.CompletedTask;
    private volatile bool _isLeader;
    private long _leaderSinceMs = -1;

    /// <summary>Creates the election (and its table); nothing runs before <see cref="RunAsync"/>.</summary>
    /// <param name="database">The shared monitor database (PostgreSQL).</param>
    /// <param name="connectionString">The same database's Npgsql connection string; never logged.</param>
    /// <param name="nodeId">This node's id.</param>
    /// <param name="interval">Try / check interval (1 s by default in <see cref="MonitorOptions"/>).</param>
    /// <param name="time">Clock of the loop and of the recorded times.</param>
    /// <param name="log">Logger.</param>
    /// <param name="staleAfter">A leader whose heartbeat is older than this (server clock) is terminated by a standby; <see cref="Timeout.InfiniteTimeSpan"/> never.</param>
    public MonitorLeadership(MonitorDatabase database, string connectionString, string nodeId, TimeSpan interval, TimeProvider time, ILogger log, TimeSpan staleAfter)
    {
        _staleAfter = staleAfter;
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

    /// <summary>Called (on its own task, while the heartbeat goes on) after the lock was taken: start the pipeline; an exception makes the node step down at its next check.</summary>
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
                if (_isLeader && _starting.IsFaulted)
                {
                    _log.LogError(_starting.Exception, "leadership: starting the pipeline failed: stepping down");
                    await StepDownAsync().ConfigureAwait(false);
                    return;
                }
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
            // The server's side of the session: notice a vanished peer within seconds, not hours.
            await using var keepAlive = new NpgsqlCommand(
                "SET tcp_keepalives_idle = 2; SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = 3; SET tcp_user_timeout = 5000", c);
            await keepAlive.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        await using (var cmd = new NpgsqlCommand("SELECT pg_try_advisory_lock(@key)", _connection))
        {
            cmd.Parameters.AddWithValue("key", LockKey);
            if (!(bool)(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!)
            {
                await TerminateStaleLeaderAsync(_connection, cancellationToken).ConfigureAwait(false);
                return;
            }
        }
        var now = _time.GetUtcNow();
        Interlocked.Exchange(ref _leaderSinceMs, now.ToUnixTimeMilliseconds());
        _isLeader = true;
        await using (var cmd = new NpgsqlCommand($"""
            INSERT INTO monitor_leader (id, node_id, api_url, since, heartbeat_at) VALUES (1, @node, @url, @now, {ServerNowMs})
            ON CONFLICT (id) DO UPDATE SET node_id = excluded.node_id, api_url = excluded.api_url, since = excluded.since, heartbeat_at = excluded.heartbeat_at
            """, _connection))
        {
            cmd.Parameters.AddWithValue("node", NodeId);
            cmd.Parameters.AddWithValue("url", ApiUrl?.AbsoluteUri ?? "");
            cmd.Parameters.AddWithValue("now", now.ToUnixTimeMilliseconds());
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        _log.LogWarning("leadership: node {Node} is the leader: starting the alerting pipeline", NodeId);
        // Started beside the loop, which keeps checking in meanwhile (building the Quartz scheduler
        // may take longer than the stale limit).
        var acquired = Acquired;
        _starting = acquired is null ? Task.CompletedTask : Task.Run(() => acquired(cancellationToken), CancellationToken.None);
    }

    private async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        var c = _connection ?? throw new InvalidOperationException("no leader connection");
        await using var cmd = new NpgsqlCommand($"UPDATE monitor_leader SET heartbeat_at = {ServerNowMs} WHERE id = 1 AND node_id = @node", c);
        cmd.Parameters.AddWithValue("node", NodeId);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    // The server's clock in Unix milliseconds: heartbeats are written and judged on one clock.
    private const string ServerNowMs = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

    /// <summary>
    /// Terminates the lock session of a leader whose heartbeat is older than the stale limit (a
    /// frozen process keeps its TCP connection, hence its lock). Only the backend that holds the
    /// lock AND belongs to the recorded leader (its application name) is terminated, so a leader
    /// that has just taken over and not yet written its row is left alone.
    /// </summary>
    private async Task TerminateStaleLeaderAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        if (_staleAfter == Timeout.InfiniteTimeSpan) return;
        await using var cmd = new NpgsqlCommand($"""
            SELECT m.node_id, pg_terminate_backend(l.pid)
            FROM pg_locks l
            JOIN pg_stat_activity a ON a.pid = l.pid
            JOIN monitor_leader m ON m.id = 1 AND a.application_name = 'exh-monitor ' || m.node_id
            WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
              AND l.classid::bigint = @hi AND l.objid::bigint = @lo
              AND m.heartbeat_at < {ServerNowMs} - @stale
            """, connection);
        cmd.Parameters.AddWithValue("hi", (long)((ulong)LockKey >> 32));
        cmd.Parameters.AddWithValue("lo", LockKey & 0xFFFF_FFFF);
        cmd.Parameters.AddWithValue("stale", (long)_staleAfter.TotalMilliseconds);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            _log.LogWarning("leadership: leader {Node} has not checked in for over {Stale} s (frozen?): its lock session terminated={Done}",
                r.GetString(0), _staleAfter.TotalSeconds, r.GetBoolean(1));
        }
    }

    private async Task StepDownAsync()
    {
        bool was = _isLeader;
        Fenced = was || Fenced;
        try
        {
            // Let a pipeline that is still starting finish starting before it is stopped.
            try { await _starting.ConfigureAwait(false); }
            catch (Exception e) when (e is not OutOfMemoryException) { }
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
