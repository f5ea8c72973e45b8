using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Monitor.Storage;

namespace ExchangeHealth.Alerting.Slack;

/// <summary>The Slack message that stands for an aggregation group: its channel and <c>ts</c>.</summary>
/// <param name="Receiver">Receiver name.</param>
/// <param name="GroupKey">Aggregation group key.</param>
/// <param name="Channel">Channel ID the message is in.</param>
/// <param name="Ts">The message's timestamp (Slack's message id), e.g. <c>1763694030.000100</c>.</param>
/// <param name="DedupKey">The notification that posted it.</param>
public sealed record SlackMessageRef(string Receiver, string GroupKey, string Channel, string Ts, string DedupKey);

/// <summary>
/// Slack bookkeeping in the monitor database: table <c>slack_messages</c> maps (receiver, group key)
/// to the group's message (channel, ts) for <c>chat.update</c> and thread replies, and back (for
/// button callbacks); table <c>slack_deliveries</c> records, per notification and step, whether a
/// <c>chat.postMessage</c> is in flight (<c>sending</c>: outcome unknown if we crashed or timed out)
/// or done, which makes delivery exactly-once (see <see cref="SlackNotifier"/>).
/// </summary>
public sealed class SlackMessageStore
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS slack_messages (
          receiver     TEXT    NOT NULL,
          group_key    TEXT    NOT NULL,
          channel      TEXT    NOT NULL,
          ts           TEXT    NOT NULL,
          dedup_key    TEXT    NOT NULL,
          alerts_state TEXT    NOT NULL DEFAULT '',
          updated_at   INTEGER NOT NULL,
          PRIMARY KEY (receiver, group_key)
        );
        CREATE INDEX IF NOT EXISTS slack_messages_by_ts ON slack_messages (channel, ts);
        CREATE TABLE IF NOT EXISTS slack_deliveries (
          dedup_key  TEXT    NOT NULL,
          step       TEXT    NOT NULL,
          state      TEXT    NOT NULL CHECK (state IN ('sending', 'done')),
          channel    TEXT    NOT NULL,
          thread_ts  TEXT,
          ts         TEXT,
          started_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          PRIMARY KEY (dedup_key, step)
        );
        """;

    private readonly MonitorDatabase _db;

    /// <summary>Opens the store in <paramref name="database"/>, creating its tables when missing.</summary>
    public SlackMessageStore(MonitorDatabase database)
    {
        ArgumentNullException.ThrowIfNull(database);
        _db = database;
        _db.EnsureSchema(Schema);
    }

    /// <summary>The group's message, or null when none was posted (or it was forgotten).</summary>
    public async Task<SlackMessageRef?> GetMessageAsync(string receiver, string groupKey, CancellationToken cancellationToken = default)
    {
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT channel, ts, dedup_key FROM slack_messages WHERE receiver = @r AND group_key = @g";
        MonitorDatabase.AddParameter(cmd, "@r", receiver);
        MonitorDatabase.AddParameter(cmd, "@g", groupKey);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await r.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new SlackMessageRef(receiver, groupKey, r.GetString(0), r.GetString(1), r.GetString(2))
            : null;
    }

    /// <summary>The group a message (channel, ts) stands for, e.g. for a button callback; null when unknown.</summary>
    public async Task<SlackMessageRef?> FindByMessageAsync(string channel, string ts, CancellationToken cancellationToken = default)
    {
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT receiver, group_key, dedup_key FROM slack_messages WHERE channel = @c AND ts = @ts";
        MonitorDatabase.AddParameter(cmd, "@c", channel);
        MonitorDatabase.AddParameter(cmd, "@ts", ts);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await r.ReadAsync(cancellationToken).ConfigureAwait(false)
            ? new SlackMessageRef(r.GetString(0), r.GetString(1), channel, ts, r.GetString(2))
            : null;
    }

    /// <summary>Forgets the group's message (the next notification posts a new one).</summary>
    public async Task ForgetMessageAsync(string receiver, string groupKey, CancellationToken cancellationToken = default)
    {
        using var gate = await _db.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "DELETE FROM slack_messages WHERE receiver = @r AND group_key = @g";
        MonitorDatabase.AddParameter(cmd, "@r", receiver);
        MonitorDatabase.AddParameter(cmd, "@g", groupKey);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal async Task SaveMessageAsync(SlackMessageRef message, string alertsState, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var gate = await _db.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = """
            INSERT INTO slack_messages (receiver, group_key, channel, ts, dedup_key, alerts_state, updated_at)
            VALUES (@r, @g, @c, @ts, @d, @s, @now)
            ON CONFLICT (receiver, group_key) DO UPDATE SET
              channel = excluded.channel, ts = excluded.ts, dedup_key = excluded.dedup_key,
              alerts_state = excluded.alerts_state, updated_at = excluded.updated_at
            """;
        MonitorDatabase.AddParameter(cmd, "@r", message.Receiver);
        MonitorDatabase.AddParameter(cmd, "@g", message.GroupKey);
        MonitorDatabase.AddParameter(cmd, "@c", message.Channel);
        MonitorDatabase.AddParameter(cmd, "@ts", message.Ts);
        MonitorDatabase.AddParameter(cmd, "@d", message.DedupKey);
        MonitorDatabase.AddParameter(cmd, "@s", alertsState);
        MonitorDatabase.AddParameter(cmd, "@now", now.ToUnixTimeMilliseconds());
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal async Task<string> GetAlertsStateAsync(string receiver, string groupKey, CancellationToken cancellationToken)
    {
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT alerts_state FROM slack_messages WHERE receiver = @r AND group_key = @g";
        MonitorDatabase.AddParameter(cmd, "@r", receiver);
        MonitorDatabase.AddParameter(cmd, "@g", groupKey);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string ?? "";
    }

    internal async Task SaveAlertsStateAsync(string receiver, string groupKey, string alertsState, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var gate = await _db.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "UPDATE slack_messages SET alerts_state = @s, updated_at = @now WHERE receiver = @r AND group_key = @g";
        MonitorDatabase.AddParameter(cmd, "@r", receiver);
        MonitorDatabase.AddParameter(cmd, "@g", groupKey);
        MonitorDatabase.AddParameter(cmd, "@s", alertsState);
        MonitorDatabase.AddParameter(cmd, "@now", now.ToUnixTimeMilliseconds());
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal sealed record Step(string State, string Channel, string? ThreadTs, string? Ts);

    internal async Task<Step?> GetStepAsync(string dedupKey, string step, CancellationToken cancellationToken)
    {
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT state, channel, thread_ts, ts FROM slack_deliveries WHERE dedup_key = @d AND step = @s";
        MonitorDatabase.AddParameter(cmd, "@d", dedupKey);
        MonitorDatabase.AddParameter(cmd, "@s", step);
        await using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        if (!await r.ReadAsync(cancellationToken).ConfigureAwait(false)) return null;
        return new Step(r.GetString(0), r.GetString(1), r.IsDBNull(2) ? null : r.GetString(2), r.IsDBNull(3) ? null : r.GetString(3));
    }

    /// <summary>Records that a post is about to be sent (durably, before sending); keeps the first start time.</summary>
    internal async Task MarkSendingAsync(string dedupKey, string step, string channel, string? threadTs, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var gate = await _db.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = """
            INSERT INTO slack_deliveries (dedup_key, step, state, channel, thread_ts, started_at, updated_at)
            VALUES (@d, @s, 'sending', @c, @t, @now, @now)
            ON CONFLICT (dedup_key, step) DO UPDATE SET state = 'sending', channel = excluded.channel,
              thread_ts = excluded.thread_ts, updated_at = excluded.updated_at
            """;
        MonitorDatabase.AddParameter(cmd, "@d", dedupKey);
        MonitorDatabase.AddParameter(cmd, "@s", step);
        MonitorDatabase.AddParameter(cmd, "@c", channel);
        MonitorDatabase.AddParameter(cmd, "@t", (object?)threadTs ?? DBNull.Value);
        MonitorDatabase.AddParameter(cmd, "@now", now.ToUnixTimeMilliseconds());
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    internal async Task MarkDoneAsync(string dedupKey, string step, string channel, string? ts, DateTimeOffset now, CancellationToken cancellationToken)
    {
        using var gate = await _db.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = """
            INSERT INTO slack_deliveries (dedup_key, step, state, channel, ts, started_at, updated_at)
            VALUES (@d, @s, 'done', @c, @ts, @now, @now)
            ON CONFLICT (dedup_key, step) DO UPDATE SET state = 'done', channel = excluded.channel, ts = excluded.ts, updated_at = excluded.updated_at
            """;
        MonitorDatabase.AddParameter(cmd, "@d", dedupKey);
        MonitorDatabase.AddParameter(cmd, "@s", step);
        MonitorDatabase.AddParameter(cmd, "@c", channel);
        MonitorDatabase.AddParameter(cmd, "@ts", (object?)ts ?? DBNull.Value);
        MonitorDatabase.AddParameter(cmd, "@now", now.ToUnixTimeMilliseconds());
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Slack said definitively that the post was not made: forget the in-flight mark.</summary>
    internal async Task ClearStepAsync(string dedupKey, string step, CancellationToken cancellationToken)
    {
        using var gate = await _db.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "DELETE FROM slack_deliveries WHERE dedup_key = @d AND step = @s AND state = 'sending'";
        MonitorDatabase.AddParameter(cmd, "@d", dedupKey);
        MonitorDatabase.AddParameter(cmd, "@s", step);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Deletes delivery records not touched since <paramref name="before"/> (older than any outbox retry).</summary>
    internal async Task PruneDeliveriesAsync(DateTimeOffset before, CancellationToken cancellationToken)
    {
        using var gate = await _db.EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        await using var c = await _db.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "DELETE FROM slack_deliveries WHERE updated_at < @before";
        MonitorDatabase.AddParameter(cmd, "@before", before.ToUnixTimeMilliseconds());
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
