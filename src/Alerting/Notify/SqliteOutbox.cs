using System.Globalization;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Monitor.Storage;
using System.Data.Common;

namespace ExchangeHealth.Alerting.Notify;

/// <summary>State of an outbox entry.</summary>
public enum OutboxState
{
    /// <summary>Not delivered yet; tried again at <see cref="OutboxEntry.NextAttemptAt"/>.</summary>
    Pending,

    /// <summary>The receiver accepted it.</summary>
    Delivered,

    /// <summary>Given up: a permanent failure, or still failing after the dead-letter age (24 h by default).</summary>
    Dead,
}

/// <summary>One row of the outbox.</summary>
/// <param name="Id">Row id (insertion order).</param>
/// <param name="Notification">The stored notification (its <see cref="Notification.DedupKey"/>, receiver, group key, sequence and kind are columns too).</param>
/// <param name="State">Pending, delivered or dead.</param>
/// <param name="Attempts">Delivery attempts made so far.</param>
/// <param name="NextAttemptAt">When a pending entry is due (millisecond precision).</param>
/// <param name="LastError">The last attempt's error, or null.</param>
/// <param name="DeliveredAt">When it was delivered, or null.</param>
public sealed record OutboxEntry(
    long Id,
    Notification Notification,
    OutboxState State,
    int Attempts,
    DateTimeOffset NextAttemptAt,
    string? LastError,
    DateTimeOffset? DeliveredAt)
{
    /// <summary>The entry's unique key (<see cref="Notification.DedupKey"/>).</summary>
    public string DedupKey => Notification.DedupKey;

    /// <summary>The notification's creation (flush) time, which the dead-letter age counts from.</summary>
    public DateTimeOffset CreatedAt => Notification.CreatedAt;
}

/// <summary>
/// The durable outbox and notification log (table <c>outbox</c> in the <see cref="MonitorDatabase"/>):
/// routing enqueues notifications here before anything is sent, <see cref="OutboxDeliverer"/>
/// delivers them, and <see cref="GetLastAsync"/> tells routing what was last notified for a group
/// (Alertmanager's <c>nflog</c>), so a restarted monitor neither repeats nor forgets a notification.
/// </summary>
/// <remarks>
/// <para>
/// Exactly-once enqueue: <c>dedup_key</c> (<c>receiver|groupKey|sequence</c>) is UNIQUE and the insert
/// is <c>INSERT .. ON CONFLICT(dedup_key) DO NOTHING</c>. Per-group order: <see cref="ClaimDueAsync"/>
/// never returns an entry while an earlier one (lower <c>sequence</c>) of the same (receiver,
/// group_key) is still pending, so a group's notifications reach the receiver in order, one at a time.
/// </para>
/// <para>
/// Times are stored as Unix milliseconds (UTC). On SQLite one process delivers from one database
/// file (the monitor's); <see cref="ClaimDueAsync"/> reads without leasing, and <see cref="OutboxDeliverer"/>
/// runs one round at a time. On PostgreSQL (several nodes, <see cref="MonitorDatabase.IsShared"/>)
/// claims are leased (see <see cref="ClaimDueAsync"/>).
/// </para>
/// </remarks>
public sealed class SqliteOutbox : INotificationSink, IDisposable
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS outbox (
          id              INTEGER PRIMARY KEY AUTOINCREMENT,
          dedup_key       TEXT    NOT NULL UNIQUE,
          receiver        TEXT    NOT NULL,
          group_key       TEXT    NOT NULL,
          sequence        INTEGER NOT NULL,
          kind            TEXT    NOT NULL,
          payload         TEXT    NOT NULL,
          firing_hash     TEXT    NOT NULL,
          resolved_hash   TEXT    NOT NULL,
          created_at      INTEGER NOT NULL,
          state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
          attempts        INTEGER NOT NULL DEFAULT 0,
          next_attempt_at INTEGER NOT NULL,
          last_error      TEXT,
          delivered_at    INTEGER
        );
        CREATE INDEX IF NOT EXISTS outbox_due ON outbox (state, next_attempt_at);
        CREATE INDEX IF NOT EXISTS outbox_group ON outbox (receiver, group_key, sequence);
        """;

    private const string Columns = "id, payload, state, attempts, next_attempt_at, last_error, delivered_at";

    private readonly MonitorDatabase _db;
    private readonly TimeProvider _time;
    private bool _disposed;

    /// <summary>Opens the outbox in <paramref name="database"/>, creating its table when missing.</summary>
    /// <param name="database">The monitor's database.</param>
    /// <param name="timeProvider">Clock for the first <c>next_attempt_at</c> of an enqueued entry; <see cref="TimeProvider.System"/> when null.</param>
    public SqliteOutbox(MonitorDatabase database, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        _db = database;
        _time = timeProvider ?? TimeProvider.System;
        _db.EnsureSchema(Schema);
        if (_db.IsShared) _db.EnsureSchema(LeaseSchema);
    }

    // PostgreSQL only (several nodes): who claimed a pending entry, and until when (Unix ms).
    private const string LeaseSchema = """
        ALTER TABLE outbox ADD COLUMN IF NOT EXISTS claimed_by TEXT;
        ALTER TABLE outbox ADD COLUMN IF NOT EXISTS claim_expires_at INTEGER;
        """;

    /// <summary>
    /// This node's name in the claims of a shared (PostgreSQL) outbox (<c>claimed_by</c>); default
    /// <c>hostname-pid</c>. Unused on SQLite.
    /// </summary>
    public string NodeId { get; set; } = Environment.MachineName + "-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// How long a claim of a shared (PostgreSQL) outbox keeps other nodes off an entry (default
    /// 30 s, longer than a delivery attempt may take): a node that lost leadership mid-delivery
    /// still holds its entries, and a dead node's entries are claimed again after this. Unused on SQLite.
    /// </summary>
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Raised after a notification was newly stored (not for a duplicate); <see cref="OutboxDeliverer"/> wakes on it.</summary>
    public event EventHandler? Enqueued;

    /// <summary>The database file.</summary>
    public MonitorDatabase Database => _db;

    /// <inheritdoc/>
    /// <remarks>Durable when the task completes (SQLite WAL, <c>synchronous=FULL</c>); due at once.</remarks>
    public async Task<bool> EnqueueAsync(Notification notification, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notification);
        ObjectDisposedException.ThrowIf(_disposed, this);
        using var gate = await _db.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = """
            INSERT INTO outbox (dedup_key, receiver, group_key, sequence, kind, payload, firing_hash, resolved_hash, created_at, next_attempt_at)
            VALUES (@dedup, @receiver, @group, @seq, @kind, @payload, @firing, @resolved, @created, @next)
            ON CONFLICT (dedup_key) DO NOTHING
            """;
        MonitorDatabase.AddParameter(cmd, "@dedup", notification.DedupKey);
        MonitorDatabase.AddParameter(cmd, "@receiver", notification.Receiver);
        MonitorDatabase.AddParameter(cmd, "@group", notification.GroupKey);
        MonitorDatabase.AddParameter(cmd, "@seq", notification.Sequence);
        MonitorDatabase.AddParameter(cmd, "@kind", NotificationJson.KindName(notification.Kind));
        MonitorDatabase.AddParameter(cmd, "@payload", NotificationJson.Serialize(notification));
        MonitorDatabase.AddParameter(cmd, "@firing", notification.FiringHash);
        MonitorDatabase.AddParameter(cmd, "@resolved", notification.ResolvedHash);
        MonitorDatabase.AddParameter(cmd, "@created", notification.CreatedAt.ToUnixTimeMilliseconds());
        MonitorDatabase.AddParameter(cmd, "@next", _time.GetUtcNow().ToUnixTimeMilliseconds());
        bool inserted = await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        if (inserted) Enqueued?.Invoke(this, EventArgs.Empty);
        return inserted;
    }

    /// <inheritdoc/>
    /// <remarks>Any state counts (pending, delivered or dead): the entry with the highest sequence.</remarks>
    public async Task<NotificationLogEntry?> GetLastAsync(string receiver, string groupKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        ArgumentNullException.ThrowIfNull(groupKey);
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = """
            SELECT sequence, kind, firing_hash, resolved_hash, created_at FROM outbox
            WHERE receiver = @receiver AND group_key = @group ORDER BY sequence DESC LIMIT 1
            """;
        MonitorDatabase.AddParameter(cmd, "@receiver", receiver);
        MonitorDatabase.AddParameter(cmd, "@group", groupKey);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await r.ReadAsync(cancellationToken).ConfigureAwait(false)) return null;
        string kindText = r.GetString(1);
        if (!NotificationJson.TryParseKind(kindText, out var kind))
            throw new InvalidDataException($"outbox row of {receiver}|{groupKey}: unknown kind '{kindText}'");
        return new NotificationLogEntry(r.GetInt64(0), kind, r.GetString(2), r.GetString(3), FromMs(r.GetInt64(4)));
    }

    /// <summary>
    /// Pending entries due at <paramref name="now"/> (<c>next_attempt_at ≤ now</c>), at most
    /// <paramref name="max"/>, oldest due first, and for each (receiver, group key) only the pending
    /// entry with the lowest sequence (so at most one per group, in sequence order): a later
    /// notification of a group waits until the earlier one is delivered or dead.
    /// </summary>
    /// <remarks>
    /// On PostgreSQL the returned entries are leased to <see cref="NodeId"/> until
    /// <paramref name="now"/> + <see cref="ClaimLease"/> (<c>claimed_by</c>, <c>claim_expires_at</c>,
    /// rows picked with <c>FOR UPDATE SKIP LOCKED</c>): another node gets neither an entry another
    /// node is claiming right now nor one whose lease has not expired; the <c>Mark*</c> calls release it.
    /// On SQLite (one process per file) nothing is leased.
    /// </remarks>
    public async Task<IReadOnlyList<OutboxEntry>> ClaimDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        if (_db.IsShared) return await ClaimWithLeaseAsync(now, max, cancellationToken).ConfigureAwait(false);
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = $"""
            SELECT {Columns} FROM outbox o
            WHERE o.state = 'pending' AND o.next_attempt_at <= @now
              AND NOT EXISTS (SELECT 1 FROM outbox p
                              WHERE p.receiver = o.receiver AND p.group_key = o.group_key
                                AND p.state = 'pending' AND p.sequence < o.sequence)
            ORDER BY o.next_attempt_at, o.id
            LIMIT @max
            """;
        MonitorDatabase.AddParameter(cmd, "@now", now.ToUnixTimeMilliseconds());
        MonitorDatabase.AddParameter(cmd, "@max", max);
        return await ReadEntriesAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    private async Task<IReadOnlyList<OutboxEntry>> ClaimWithLeaseAsync(DateTimeOffset now, int max, CancellationToken cancellationToken)
    {
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = $"""
            UPDATE outbox SET claimed_by = @node, claim_expires_at = @until
            WHERE id IN (
              SELECT o.id FROM outbox o
              WHERE o.state = 'pending' AND o.next_attempt_at <= @now
                AND (o.claimed_by IS NULL OR o.claimed_by = @node OR o.claim_expires_at <= @now)
                AND NOT EXISTS (SELECT 1 FROM outbox p
                                WHERE p.receiver = o.receiver AND p.group_key = o.group_key
                                  AND p.state = 'pending' AND p.sequence < o.sequence)
              ORDER BY o.next_attempt_at, o.id
              LIMIT @max
              FOR UPDATE SKIP LOCKED)
            RETURNING {Columns}
            """;
        MonitorDatabase.AddParameter(cmd, "@node", NodeId);
        MonitorDatabase.AddParameter(cmd, "@until", (now + ClaimLease).ToUnixTimeMilliseconds());
        MonitorDatabase.AddParameter(cmd, "@now", now.ToUnixTimeMilliseconds());
        MonitorDatabase.AddParameter(cmd, "@max", max);
        var claimed = await ReadEntriesAsync(cmd, cancellationToken).ConfigureAwait(false);
        return [.. claimed.OrderBy(e => e.NextAttemptAt).ThenBy(e => e.Id)];
    }

    /// <summary>Marks a pending entry delivered at <paramref name="deliveredAt"/> (one more attempt counted); false when it was not pending.</summary>
    public Task<bool> MarkDeliveredAsync(long id, DateTimeOffset deliveredAt, CancellationToken cancellationToken = default) =>
        UpdateAsync(
            "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = @at, last_error = NULL WHERE id = @id AND state = 'pending'",
            id, cancellationToken, ("@at", deliveredAt.ToUnixTimeMilliseconds()));

    /// <summary>Counts a failed attempt of a pending entry and schedules the next at <paramref name="nextAttemptAt"/> (rounded up to the millisecond: never earlier); false when it was not pending.</summary>
    public Task<bool> MarkRetryAsync(long id, string error, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken = default) =>
        UpdateAsync(
            "UPDATE outbox SET attempts = attempts + 1, last_error = @error, next_attempt_at = @next WHERE id = @id AND state = 'pending'",
            id, cancellationToken, ("@error", error ?? ""), ("@next", CeilingMs(nextAttemptAt)));

    /// <summary>Gives up on a pending entry (one more attempt counted); false when it was not pending.</summary>
    public Task<bool> MarkDeadAsync(long id, string error, CancellationToken cancellationToken = default) =>
        UpdateAsync(
            "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = @error WHERE id = @id AND state = 'pending'",
            id, cancellationToken, ("@error", error ?? ""));

    /// <summary>Number of pending entries (the <c>exh_notification_outbox_depth</c> gauge).</summary>
    public async Task<long> CountPendingAsync(CancellationToken cancellationToken = default)
    {
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*) FROM outbox WHERE state = 'pending'";
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
    }

    /// <summary>The newest entries first (by id), optionally only those in <paramref name="state"/>; for the API and tests.</summary>
    /// <param name="state">Filter, or null for all states.</param>
    /// <param name="limit">At most this many (1 or more).</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    public async Task<IReadOnlyList<OutboxEntry>> ListAsync(OutboxState? state, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT {Columns} FROM outbox WHERE (@state IS NULL OR state = @state) ORDER BY id DESC LIMIT @limit";
        MonitorDatabase.AddParameter(cmd, "@state", state is { } s ? StateName(s) : DBNull.Value);
        MonitorDatabase.AddParameter(cmd, "@limit", limit);
        return await ReadEntriesAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The entry with <paramref name="dedupKey"/>, or null.</summary>
    public async Task<OutboxEntry?> FindAsync(string dedupKey, CancellationToken cancellationToken = default)
    {
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT {Columns} FROM outbox WHERE dedup_key = @key";
        MonitorDatabase.AddParameter(cmd, "@key", dedupKey);
        var list = await ReadEntriesAsync(cmd, cancellationToken).ConfigureAwait(false);
        return list.Count == 0 ? null : list[0];
    }

    /// <summary>
    /// Deletes delivered and dead entries created before <paramref name="before"/>, except the
    /// last entry of each (receiver, group key), which stays as the notification log
    /// (<see cref="GetLastAsync"/>). Pending entries are never deleted.
    /// </summary>
    /// <returns>The number of entries deleted.</returns>
    public async Task<int> PruneAsync(DateTimeOffset before, CancellationToken cancellationToken = default)
    {
        using var gate = await _db.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = """
            DELETE FROM outbox
            WHERE state <> 'pending' AND created_at < @before
              AND sequence < (SELECT MAX(p.sequence) FROM outbox p WHERE p.receiver = outbox.receiver AND p.group_key = outbox.group_key)
            """;
        MonitorDatabase.AddParameter(cmd, "@before", before.ToUnixTimeMilliseconds());
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops raising <see cref="Enqueued"/>; the database stays usable by other owners.</summary>
    public void Dispose()
    {
        _disposed = true;
        Enqueued = null;
    }

    /// <summary>The column value for <paramref name="state"/>: <c>pending</c>, <c>delivered</c>, <c>dead</c>.</summary>
    public static string StateName(OutboxState state) => state switch
    {
        OutboxState.Pending => "pending",
        OutboxState.Delivered => "delivered",
        OutboxState.Dead => "dead",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "unknown outbox state"),
    };

    private async Task<bool> UpdateAsync(string sql, long id, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        using var gate = await _db.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = _db.IsShared ? sql.Replace(" WHERE id = @id", ", claimed_by = NULL, claim_expires_at = NULL WHERE id = @id", StringComparison.Ordinal) : sql;
        MonitorDatabase.AddParameter(cmd, "@id", id);
        foreach (var (name, value) in parameters) MonitorDatabase.AddParameter(cmd, name, value);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    private static async Task<IReadOnlyList<OutboxEntry>> ReadEntriesAsync(DbCommand cmd, CancellationToken cancellationToken)
    {
        var list = new List<OutboxEntry>();
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            long id = r.GetInt64(0);
            Notification n;
            try
            {
                n = NotificationJson.Deserialize(r.GetString(1));
            }
            catch (PayloadFieldException e)
            {
                throw new InvalidDataException($"outbox row {id}: payload {e.Message}", e);
            }
            var state = r.GetString(2) switch
            {
                "pending" => OutboxState.Pending,
                "delivered" => OutboxState.Delivered,
                "dead" => OutboxState.Dead,
                var other => throw new InvalidDataException($"outbox row {id}: unknown state '{other}'"),
            };
            list.Add(new OutboxEntry(
                id, n, state, checked((int)r.GetInt64(3)), FromMs(r.GetInt64(4)),
                r.IsDBNull(5) ? null : r.GetString(5),
                r.IsDBNull(6) ? null : FromMs(r.GetInt64(6))));
        }
        return list;
    }

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);

    private static long CeilingMs(DateTimeOffset t)
    {
        long ms = t.ToUnixTimeMilliseconds();
        return DateTimeOffset.FromUnixTimeMilliseconds(ms) < t ? ms + 1 : ms;
    }
}
