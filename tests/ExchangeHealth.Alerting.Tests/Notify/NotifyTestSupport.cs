using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Storage;

namespace ExchangeHealth.Alerting.Tests.Notify;

/// <summary>
/// A wall clock that moves only when told. Only <see cref="GetUtcNow"/> is manual: timers
/// (<c>Task.Delay</c>, Polly timeouts) still run in real time, so request timeouts keep working
/// while the outbox's due times and backoff are driven by <see cref="Advance"/>.
/// </summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public ManualClock() : this(new DateTimeOffset(2026, 11, 21, 3, 0, 0, TimeSpan.Zero)) { }

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>A temporary directory with a monitor database file; deleted on dispose.</summary>
internal sealed class TempDatabase : IDisposable
{
    public TempDatabase()
    {
        Directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "exh-notify-" + Guid.NewGuid().ToString("N"));
        Path = System.IO.Path.Combine(Directory, "monitor.db");
        Database = new MonitorDatabase(Path);
    }

    public string Directory { get; }

    public string Path { get; }

    public MonitorDatabase Database { get; private set; }

    /// <summary>Opens the same file again, as a restarted monitor would.</summary>
    public MonitorDatabase Reopen()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Database = new MonitorDatabase(Path);
        return Database;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>Builds notifications as routing would.</summary>
internal static class Notifications
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 21, 3, 0, 0, TimeSpan.Zero);

    public static Alert Firing(string alertname, string market, DateTimeOffset startsAt, double value = 0.031, params string[] extraLabels) =>
        new(LabelSet.Of([.. extraLabels, "alertname", alertname, "market", market, "severity", "page", "job", "exh-engine"]),
            LabelSet.Of("summary", $"{alertname} on {market}", "runbook_url", "https://runbooks.example/" + alertname, "threshold", "0.01"),
            startsAt, null, "http://127.0.0.1:9090/graph?g0.expr=up", value);

    public static Alert Resolved(Alert a, DateTimeOffset endsAt) => a with { EndsAt = endsAt };

    public static Notification Make(
        string receiver,
        string groupKey,
        long sequence,
        NotificationKind kind,
        DateTimeOffset createdAt,
        params Alert[] alerts)
    {
        var common = alerts.Length == 0 ? LabelSet.Empty : LabelSet.From(alerts[0].Labels.Where(p => alerts.All(a => a.Labels[p.Key] == p.Value)));
        var commonAnn = alerts.Length == 0 ? LabelSet.Empty : LabelSet.From(alerts[0].Annotations.Where(p => alerts.All(a => a.Annotations[p.Key] == p.Value)));
        string firing = string.Join(",", alerts.Where(a => a.StatusAt(createdAt) == AlertStatus.Firing).Select(a => a.Fingerprint));
        string resolved = string.Join(",", alerts.Where(a => a.StatusAt(createdAt) == AlertStatus.Resolved).Select(a => a.Fingerprint));
        return new Notification(receiver, groupKey, sequence, kind, common.Only(["alertname"]), common, commonAnn, alerts, firing, resolved, createdAt);
    }

    /// <summary>A simple New notification of one firing alert for group <paramref name="group"/>.</summary>
    public static Notification New(string receiver, string group, DateTimeOffset at, long sequence = 1) =>
        Make(receiver, "{}:{alertname=\"" + group + "\"}", sequence, NotificationKind.New, at, Firing(group, "BTC-USD", at.AddMinutes(-2)));
}

/// <summary>A notifier whose outcomes the test scripts (for the deliverer's own logic: backoff, dead letters, order).</summary>
internal sealed class ScriptedNotifier : INotifier
{
    private readonly Queue<DeliveryResult> _script = new();
    private readonly Lock _lock = new();

    public List<(string DedupKey, DateTimeOffset At)> Calls { get; } = [];

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Returned once the script is used up.</summary>
    public DeliveryResult Otherwise { get; set; } = DeliveryResult.Delivered.Instance;

    public ScriptedNotifier Then(params DeliveryResult[] results)
    {
        lock (_lock) foreach (var r in results) _script.Enqueue(r);
        return this;
    }

    public Task<DeliveryResult> DeliverAsync(Notification notification, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            Calls.Add((notification.DedupKey, Clock.GetUtcNow()));
            return Task.FromResult(_script.Count > 0 ? _script.Dequeue() : Otherwise);
        }
    }
}
