using System.Globalization;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Monitor.Storage;
using Microsoft.Data.Sqlite;

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
/// Times are stored as Unix milliseconds (UTC). One process delivers from one database file (the
/// monitor's); <see cref="ClaimDueAsync"/> reads without leasing, and <see cref="OutboxDeliverer"/>
/// runs one round at a time.
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
    }

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
        await using var c = _db.Open();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = """
            INSERT INTO outbox (dedup_key, receiver, group_key, sequence, kind, payload, firing_hash, resolved_hash, created_at, next_attempt_at)
            VALUES ($dedup, $receiver, $group, $seq, $kind, $payload, $firing, $resolved, $created, $next)
            ON CONFLICT (dedup_key) DO NOTHING
            """;
        cmd.Parameters.AddWithValue("$dedup", notification.DedupKey);
        cmd.Parameters.AddWithValue("$receiver", notification.Receiver);
        cmd.Parameters.AddWithValue("$group", notification.GroupKey);
        cmd.Parameters.AddWithValue("$seq", notification.Sequence);
        cmd.Parameters.AddWithValue("$kind", NotificationJson.KindName(notification.Kind));
        cmd.Parameters.AddWithValue("$payload", NotificationJson.Serialize(notification));
        cmd.Parameters.AddWithValue("$firing", notification.FiringHash);
        cmd.Parameters.AddWithValue("$resolved", notification.ResolvedHash);
        cmd.Parameters.AddWithValue("$created", notification.CreatedAt.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$next", _time.GetUtcNow().ToUnixTimeMilliseconds());
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
        await using var c = _db.Open();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = """
            SELECT sequence, kind, firing_hash, resolved_hash, created_at FROM outbox
            WHERE receiver = $receiver AND group_key = $group ORDER BY sequence DESC LIMIT 1
            """;
        cmd.Parameters.AddWithValue("$receiver", receiver);
        cmd.Parameters.AddWithValue("$group", groupKey);
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
    public async Task<IReadOnlyList<OutboxEntry>> ClaimDueAsync(DateTimeOffset now, int max, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(max);
        await using var c = _db.Open();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = $"""
            SELECT {Columns} FROM outbox o
            WHERE o.state = 'pending' AND o.next_attempt_at <= $now
              AND NOT EXISTS (SELECT 1 FROM outbox p
                              WHERE p.receiver = o.receiver AND p.group_key = o.group_key
                                AND p.state = 'pending' AND p.sequence < o.sequence)
            ORDER BY o.next_attempt_at, o.id
            LIMIT $max
            """;
        cmd.Parameters.AddWithValue("$now", now.ToUnixTimeMilliseconds());
        cmd.Parameters.AddWithValue("$max", max);
        return await ReadEntriesAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Marks a pending entry delivered at <paramref name="deliveredAt"/> (one more attempt counted); false when it was not pending.</summary>
    public Task<bool> MarkDeliveredAsync(long id, DateTimeOffset deliveredAt, CancellationToken cancellationToken = default) =>
        UpdateAsync(
            "UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = $at, last_error = NULL WHERE id = $id AND state = 'pending'",
            id, cancellationToken, ("$at", deliveredAt.ToUnixTimeMilliseconds()));

    /// <summary>Counts a failed attempt of a pending entry and schedules the next at <paramref name="nextAttemptAt"/> (rounded up to the millisecond: never earlier); false when it was not pending.</summary>
    public Task<bool> MarkRetryAsync(long id, string error, DateTimeOffset nextAttemptAt, CancellationToken cancellationToken = default) =>
        UpdateAsync(
            "UPDATE outbox SET attempts = attempts + 1, last_error = $error, next_attempt_at = $next WHERE id = $id AND state = 'pending'",
            id, cancellationToken, ("$error", error ?? ""), ("$next", CeilingMs(nextAttemptAt)));

    /// <summary>Gives up on a pending entry (one more attempt counted); false when it was not pending.</summary>
    public Task<bool> MarkDeadAsync(long id, string error, CancellationToken cancellationToken = default) =>
        UpdateAsync(
            "UPDATE outbox SET state = 'dead', attempts = attempts + 1, last_error = $error WHERE id = $id AND state = 'pending'",
            id, cancellationToken, ("$error", error ?? ""));

    /// <summary>Number of pending entries (the <c>exh_notification_outbox_depth</c> gauge).</summary>
    public async Task<long> CountPendingAsync(CancellationToken cancellationToken = default)
    {
        await using var c = _db.Open();
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
        await using var c = _db.Open();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT {Columns} FROM outbox WHERE ($state IS NULL OR state = $state) ORDER BY id DESC LIMIT $limit";
        cmd.Parameters.AddWithValue("$state", state is { } s ? StateName(s) : DBNull.Value);
        cmd.Parameters.AddWithValue("$limit", limit);
        return await ReadEntriesAsync(cmd, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The entry with <paramref name="dedupKey"/>, or null.</summary>
    public async Task<OutboxEntry?> FindAsync(string dedupKey, CancellationToken cancellationToken = default)
    {
        await using var c = _db.Open();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = $"SELECT {Columns} FROM outbox WHERE dedup_key = $key";
        cmd.Parameters.AddWithValue("$key", dedupKey);
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
        await using var c = _db.Open();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = """
            DELETE FROM outbox
            WHERE state <> 'pending' AND created_at < $before
              AND sequence < (SELECT MAX(p.sequence) FROM outbox p WHERE p.receiver = outbox.receiver AND p.group_key = outbox.group_key)
            """;
        cmd.Parameters.AddWithValue("$before", before.ToUnixTimeMilliseconds());
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
        await using var c = _db.Open();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.Parameters.AddWithValue("$id", id);
        foreach (var (name, value) in parameters) cmd.Parameters.AddWithValue(name, value);
        return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    private static async Task<IReadOnlyList<OutboxEntry>> ReadEntriesAsync(SqliteCommand cmd, CancellationToken cancellationToken)
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
                id, n, state, r.GetInt32(3), FromMs(r.GetInt64(4)),
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
