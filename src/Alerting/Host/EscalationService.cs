using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Alerting.Routing;
using ExchangeHealth.Monitor.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Quartz;

namespace ExchangeHealth.Alerting.Host;

/// <summary>An acknowledgement of an aggregation group's page.</summary>
/// <param name="Receiver">Receiver name.</param>
/// <param name="GroupKey">Group key.</param>
/// <param name="By">Who acknowledged (e.g. <c>slack:U0123 (alice)</c>).</param>
/// <param name="At">When.</param>
/// <param name="Sequence">The notification sequence that was acknowledged.</param>
public sealed record Acknowledgement(string Receiver, string GroupKey, string By, DateTimeOffset At, long Sequence);

/// <summary>
/// Escalation of unacknowledged pages: when a receiver with <c>escalate_after</c> gets the first
/// (<see cref="NotificationKind.New"/>) notification of a firing group, a one-shot Quartz trigger is
/// scheduled at that time plus <c>escalate_after</c>; an acknowledgement or the group's resolution
/// cancels it. When it fires, the last notification is re-sent as
/// <see cref="NotificationKind.Escalation"/> (the Slack receiver posts it in the thread with the
/// escalation mention, broadcast to the channel). Acknowledgements are stored in the monitor
/// database (table <c>acknowledgements</c>).
/// </summary>
/// <remarks>Wraps the outbox as the dispatcher's <see cref="INotificationSink"/>, so every New or Resolved notification passes here.</remarks>
public sealed class EscalationService : INotificationSink
{
    private const string JobGroup = "exh-escalations";
    internal const string ReceiverData = "receiver";
    internal const string GroupKeyData = "group_key";
    internal const string SequenceData = "sequence";

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS acknowledgements (
            receiver TEXT NOT NULL,
            group_key TEXT NOT NULL,
            sequence INTEGER NOT NULL,
            acked_by TEXT NOT NULL,
            acked_at INTEGER NOT NULL,
            PRIMARY KEY (receiver, group_key, sequence));
        """;

    private readonly SqliteOutbox _outbox;
    private readonly Func<RoutingConfig> _config;
    private readonly MonitorDatabase _db;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private IScheduler? _scheduler;

    /// <summary>Creates the service over <paramref name="outbox"/>; <paramref name="config"/> gives the current routing configuration.</summary>
    public EscalationService(SqliteOutbox outbox, Func<RoutingConfig> config, TimeProvider? time = null, ILogger? log = null)
    {
        _outbox = outbox ?? throw new ArgumentNullException(nameof(outbox));
        _config = config ?? throw new ArgumentNullException(nameof(config));
        _db = outbox.Database;
        _db.EnsureSchema(Schema);
        _time = time ?? TimeProvider.System;
        _log = log ?? NullLogger.Instance;
    }

    /// <summary>The Quartz scheduler escalation triggers go to (set once the scheduler runs).</summary>
    public IScheduler? Scheduler { get => _scheduler; set => _scheduler = value; }

    /// <summary>Escalations sent so far.</summary>
    public long Escalated => Interlocked.Read(ref _escalated);

    private long _escalated;

    /// <inheritdoc/>
    public async Task<bool> EnqueueAsync(Notification notification, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notification);
        bool stored = await _outbox.EnqueueAsync(notification, cancellationToken).ConfigureAwait(false);
        if (!stored || _scheduler is null) return stored;
        var after = EscalateAfter(notification.Receiver);
        if (after is null) return stored;
        if (notification.Kind == NotificationKind.New && notification.Status == AlertStatus.Firing)
        {
            await ScheduleAsync(notification.Receiver, notification.GroupKey, notification.Sequence, notification.CreatedAt + after.Value, cancellationToken).ConfigureAwait(false);
        }
        else if (notification.Kind == NotificationKind.Resolved)
        {
            await _scheduler.DeleteJob(JobKeyOf(notification.Receiver, notification.GroupKey), cancellationToken).ConfigureAwait(false);
        }
        return stored;
    }

    private async Task ScheduleAsync(string receiver, string groupKey, long pagedSequence, DateTimeOffset at, CancellationToken cancellationToken)
    {
        var job = JobBuilder.Create<EscalationJob>()
            .WithIdentity(JobKeyOf(receiver, groupKey))
            .UsingJobData(ReceiverData, receiver)
            .UsingJobData(GroupKeyData, groupKey)
            .UsingJobData(SequenceData, pagedSequence.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Build();
        var trigger = TriggerBuilder.Create().WithIdentity(job.Key.Name, JobGroup).StartAt(at).Build();
        await _scheduler!.DeleteJob(job.Key, cancellationToken).ConfigureAwait(false);
        await _scheduler.ScheduleJob(job, trigger, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Re-arms the escalations a restart would otherwise forget (Quartz's in-memory store): every
    /// group whose last page (New) is neither acknowledged, resolved nor already escalated, for a
    /// receiver that escalates, is scheduled at its page time plus <c>escalate_after</c> (at once
    /// when that is past). Returns how many were re-armed.
    /// </summary>
    public async Task<int> RestoreAsync(CancellationToken cancellationToken = default)
    {
        if (_scheduler is null) return 0;
        var candidates = new List<(string Receiver, string GroupKey, long Sequence, DateTimeOffset CreatedAt)>();
        using (var c = _db.OpenConnection())
        using (var cmd = c.CreateCommand())
        {
            // Per group: its last entry, and its last page; pending only when nothing after the page resolved or escalated it.
            cmd.CommandText = """
                SELECT p.receiver, p.group_key, p.sequence, p.created_at
                FROM outbox p
                WHERE p.kind = 'new'
                  AND p.sequence = (SELECT MAX(sequence) FROM outbox n WHERE n.receiver = p.receiver AND n.group_key = p.group_key AND n.kind = 'new')
                  AND NOT EXISTS (SELECT 1 FROM outbox l WHERE l.receiver = p.receiver AND l.group_key = p.group_key
                                  AND l.sequence > p.sequence AND l.kind IN ('resolved', 'escalation'))
                  AND NOT EXISTS (SELECT 1 FROM acknowledgements a WHERE a.receiver = p.receiver AND a.group_key = p.group_key AND a.sequence >= p.sequence)
                """;
            using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
                candidates.Add((r.GetString(0), r.GetString(1), r.GetInt64(2), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(3))));
        }
        int armed = 0;
        var now = _time.GetUtcNow();
        foreach (var (receiver, groupKey, sequence, createdAt) in candidates)
        {
            if (EscalateAfter(receiver) is not { } after) continue;
            var at = createdAt + after;
            await ScheduleAsync(receiver, groupKey, sequence, at > now ? at : now, cancellationToken).ConfigureAwait(false);
            armed++;
        }
        if (armed > 0) _log.LogInformation("re-armed {Count} escalations after restart", armed);
        return armed;
    }

    /// <inheritdoc/>
    public Task<NotificationLogEntry?> GetLastAsync(string receiver, string groupKey, CancellationToken cancellationToken = default) =>
        _outbox.GetLastAsync(receiver, groupKey, cancellationToken);

    /// <summary>
    /// Acknowledges the group's current page: records who and when, and cancels its escalation.
    /// Returns null when the group has never been notified.
    /// </summary>
    public async Task<Acknowledgement?> AcknowledgeAsync(string receiver, string groupKey, string by, CancellationToken cancellationToken = default)
    {
        var last = await _outbox.GetLastAsync(receiver, groupKey, cancellationToken).ConfigureAwait(false);
        if (last is null) return null;
        var ack = new Acknowledgement(receiver, groupKey, by, _time.GetUtcNow(), last.Sequence);
        using (await _db.EnterWriteAsync(cancellationToken).ConfigureAwait(false))
        using (var c = _db.OpenConnection())
        using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = """
                INSERT INTO acknowledgements (receiver, group_key, sequence, acked_by, acked_at) VALUES (@r, @g, @s, @b, @a)
                ON CONFLICT (receiver, group_key, sequence) DO NOTHING
                """;
            MonitorDatabase.AddParameter(cmd, "@r", receiver);
            MonitorDatabase.AddParameter(cmd, "@g", groupKey);
            MonitorDatabase.AddParameter(cmd, "@s", last.Sequence);
            MonitorDatabase.AddParameter(cmd, "@b", by);
            MonitorDatabase.AddParameter(cmd, "@a", ack.At.ToUnixTimeMilliseconds());
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        if (_scheduler is not null) await _scheduler.DeleteJob(JobKeyOf(receiver, groupKey), cancellationToken).ConfigureAwait(false);
        _log.LogInformation("group {GroupKey} of {Receiver} acknowledged by {By}", groupKey, receiver, by);
        await AsyncEventHandlers.InvokeAsync(Acknowledged, ack, e => _log.LogError(e, "An acknowledgement handler failed for group {GroupKey}", groupKey), cancellationToken).ConfigureAwait(false);
        return ack;
    }

    /// <summary>Raised after each stored acknowledgement (Slack button, API); incidents of the group are acknowledged from here. Exceptions are logged.</summary>
    public event Func<Acknowledgement, CancellationToken, Task>? Acknowledged;

    /// <summary>The receivers that were notified about <paramref name="groupKey"/> (from the outbox).</summary>
    public async Task<IReadOnlyList<string>> ReceiversOfAsync(string groupKey, CancellationToken cancellationToken = default)
    {
        using var c = _db.OpenConnection();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT DISTINCT receiver FROM outbox WHERE group_key = @g ORDER BY receiver";
        MonitorDatabase.AddParameter(cmd, "@g", groupKey);
        using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<string>();
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) list.Add(r.GetString(0));
        return list;
    }

    /// <summary>Acknowledgements of a group, oldest first.</summary>
    public async Task<IReadOnlyList<Acknowledgement>> ListAcknowledgementsAsync(string receiver, string groupKey, CancellationToken cancellationToken = default)
    {
        using var c = _db.OpenConnection();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT sequence, acked_by, acked_at FROM acknowledgements WHERE receiver = @r AND group_key = @g ORDER BY acked_at";
        MonitorDatabase.AddParameter(cmd, "@r", receiver);
        MonitorDatabase.AddParameter(cmd, "@g", groupKey);
        using var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var list = new List<Acknowledgement>();
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            list.Add(new Acknowledgement(receiver, groupKey, r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2)), r.GetInt64(0)));
        return list;
    }

    /// <summary>Sends the escalation of a group if it is still unacknowledged and firing (what the trigger runs).</summary>
    public async Task<bool> EscalateAsync(string receiver, string groupKey, long pagedSequence, CancellationToken cancellationToken)
    {
        var acks = await ListAcknowledgementsAsync(receiver, groupKey, cancellationToken).ConfigureAwait(false);
        if (acks.Any(a => a.Sequence >= pagedSequence)) return false;
        var last = await _outbox.GetLastAsync(receiver, groupKey, cancellationToken).ConfigureAwait(false);
        if (last is null || last.Kind is NotificationKind.Resolved or NotificationKind.Escalation) return false;
        var entry = await _outbox.FindAsync($"{receiver}|{groupKey}|{last.Sequence}", cancellationToken).ConfigureAwait(false);
        if (entry is null) return false;
        var previous = entry.Notification;
        if (previous.Status != AlertStatus.Firing) return false;
        var escalation = previous with { Kind = NotificationKind.Escalation, Sequence = last.Sequence + 1, CreatedAt = _time.GetUtcNow() };
        bool stored = await _outbox.EnqueueAsync(escalation, cancellationToken).ConfigureAwait(false);
        if (stored)
        {
            Interlocked.Increment(ref _escalated);
            _log.LogWarning("group {GroupKey} of {Receiver} not acknowledged: escalated", groupKey, receiver);
        }
        return stored;
    }

    private TimeSpan? EscalateAfter(string receiver)
    {
        var config = _config();
        if (!config.ReceiversByName.TryGetValue(receiver, out var r)) return null;
        return r.SlackConfigs.Select(s => s.EscalateAfter).FirstOrDefault(e => e is not null);
    }

    private static JobKey JobKeyOf(string receiver, string groupKey)
    {
        // Quartz keys are free text; a hash keeps them short and free of separators.
        byte[] hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(receiver + "\n" + groupKey));
        return new JobKey(Convert.ToHexStringLower(hash.AsSpan(0, 16)), JobGroup);
    }
}

/// <summary>The one-shot Quartz job of an escalation.</summary>
internal sealed class EscalationJob(EscalationService service) : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var data = context.MergedJobDataMap;
        long sequence = long.Parse(data.GetString(EscalationService.SequenceData) ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        await service.EscalateAsync(data.GetString(EscalationService.ReceiverData) ?? "", data.GetString(EscalationService.GroupKeyData) ?? "", sequence, cancellationToken).ConfigureAwait(false);
    }
}
