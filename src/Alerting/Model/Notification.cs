using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Model;

/// <summary>Why an aggregation group was flushed to its receiver.</summary>
public enum NotificationKind
{
    /// <summary>First notification of the group (after <c>group_wait</c>).</summary>
    New,

    /// <summary>The group's set of firing or resolved alerts changed (checked every <c>group_interval</c>).</summary>
    Update,

    /// <summary>Nothing changed but <c>repeat_interval</c> passed since the last notification.</summary>
    Repeat,

    /// <summary>Every alert of the group is resolved (sent when the receiver has <c>send_resolved</c>).</summary>
    Resolved,

    /// <summary>A page was not acknowledged within the escalation time; re-sent with an escalation mention.</summary>
    Escalation,
}

/// <summary>
/// One notification for one receiver about one aggregation group (Alertmanager's
/// <c>notify</c> stage input). The outbox stores it before any delivery attempt and delivers it at
/// most once: <see cref="DedupKey"/> is unique in the outbox.
/// </summary>
/// <param name="Receiver">Receiver name from the routing configuration.</param>
/// <param name="GroupKey">Stable identity of the aggregation group: the route's path and the group-by label values, e.g. <c>{}/{severity="page"}:{alertname="EngineDown"}</c>.</param>
/// <param name="Sequence">1, 2, 3, ... per (receiver, group key): the n-th notification of this group. Part of the dedup key.</param>
/// <param name="Kind">Why it was sent.</param>
/// <param name="GroupLabels">The group-by labels and their values.</param>
/// <param name="CommonLabels">Labels shared by every alert in <see cref="Alerts"/>.</param>
/// <param name="CommonAnnotations">Annotations shared by every alert in <see cref="Alerts"/>.</param>
/// <param name="Alerts">The group's alerts at flush time, firing and resolved (muted ones removed), in a stable order.</param>
/// <param name="FiringHash">Hash of the firing alerts' fingerprints (what Alertmanager's notification log stores).</param>
/// <param name="ResolvedHash">Hash of the resolved alerts' fingerprints.</param>
/// <param name="CreatedAt">Flush time.</param>
public sealed record Notification(
    string Receiver,
    string GroupKey,
    long Sequence,
    NotificationKind Kind,
    LabelSet GroupLabels,
    LabelSet CommonLabels,
    LabelSet CommonAnnotations,
    IReadOnlyList<Alert> Alerts,
    string FiringHash,
    string ResolvedHash,
    DateTimeOffset CreatedAt)
{
    /// <summary>Firing when any alert is firing at <see cref="CreatedAt"/>, else resolved.</summary>
    public AlertStatus Status => Alerts.Any(a => a.StatusAt(CreatedAt) == AlertStatus.Firing) ? AlertStatus.Firing : AlertStatus.Resolved;

    /// <summary>Unique per state change: <c>receiver|groupKey|sequence</c>.</summary>
    public string DedupKey => $"{Receiver}|{GroupKey}|{Sequence}";
}

/// <summary>What the notification log remembers of the last notification of a group (Alertmanager's <c>nflog</c> entry).</summary>
/// <param name="Sequence">The last <see cref="Notification.Sequence"/> used.</param>
/// <param name="Kind">Its kind.</param>
/// <param name="FiringHash">Its firing hash.</param>
/// <param name="ResolvedHash">Its resolved hash.</param>
/// <param name="CreatedAt">When it was enqueued.</param>
public sealed record NotificationLogEntry(long Sequence, NotificationKind Kind, string FiringHash, string ResolvedHash, DateTimeOffset CreatedAt);

/// <summary>
/// Where routing hands notifications over (implemented by the durable outbox). Enqueue is durable
/// when the task completes; enqueueing a <see cref="Notification.DedupKey"/> already present is a
/// no-op returning false. The outbox is also the notification log: <see cref="GetLastAsync"/>
/// returns the last enqueued notification of a group, so a restarted monitor neither repeats nor
/// forgets one.
/// </summary>
public interface INotificationSink
{
    /// <summary>Stores <paramref name="notification"/> for delivery; false when its dedup key was already stored.</summary>
    Task<bool> EnqueueAsync(Notification notification, CancellationToken cancellationToken = default);

    /// <summary>The last notification stored for (<paramref name="receiver"/>, <paramref name="groupKey"/>), or null.</summary>
    Task<NotificationLogEntry?> GetLastAsync(string receiver, string groupKey, CancellationToken cancellationToken = default);
}
