using System.Globalization;
using ExchangeHealth.Alerting.Evaluation;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Alerting.Silences;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Incidents.Timeline;

/// <summary>
/// Turns what the alerting pipeline reports into global timeline events, each with the time it
/// happened: alert state changes from rule evaluation (pending at <c>activeAt</c>, firing at
/// <c>firedAt</c>, resolved at <c>resolvedAt</c>, tagged with the alert's fingerprint), delivery
/// attempts of notifications (tagged with the group key) and silence changes (from the audit
/// log). Remembers what it has reported so an unchanged alert costs nothing per evaluation; the
/// store's de-duplication makes a repeat harmless anyway. Thread-safe.
/// </summary>
public sealed class AlertTimeline
{
    private readonly object _lock = new();
    private readonly Dictionary<string, (AlertState State, DateTimeOffset ActiveAt, DateTimeOffset? ResolvedAt)> _known = new(StringComparer.Ordinal);
    private long _silenceAuditSeen;

    /// <summary>
    /// The events of one group evaluation: every alert whose state changed since the last call
    /// (a new pending alert, a firing one, a resolved one). Alerts resolved and forgotten by the
    /// evaluator are forgotten here too.
    /// </summary>
    public IReadOnlyList<TimelineEvent> FromEvaluation(RuleGroupEvaluator evaluator)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        var list = new List<TimelineEvent>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        lock (_lock)
        {
            foreach (var rule in evaluator.Rules)
            {
                foreach (var a in evaluator.SnapshotAlerts(rule))
                {
                    string fp = a.Labels.FingerprintHex;
                    seen.Add(fp);
                    _known.TryGetValue(fp, out var before);
                    bool sameEpisode = before.ActiveAt == a.ActiveAt;
                    if (a.State == AlertState.Pending && !(sameEpisode && before.State == AlertState.Pending))
                        list.Add(AlertEvent(TimelineKinds.AlertPending, a.ActiveAt, a.Labels, a.Value, "pending"));
                    if (a.State == AlertState.Firing && !(sameEpisode && before.State == AlertState.Firing) && a.FiredAt is { } fired)
                        list.Add(AlertEvent(TimelineKinds.AlertFiring, fired, a.Labels, a.Value, "firing"));
                    if (a.State == AlertState.Inactive && a.ResolvedAt is { } resolved && !(sameEpisode && before.ResolvedAt == resolved))
                        list.Add(AlertEvent(TimelineKinds.AlertResolved, resolved, a.Labels, a.Value, "resolved"));
                    _known[fp] = (a.State, a.ActiveAt, a.ResolvedAt);
                }
            }
            // Bounded memory: forget episodes resolved more than an hour before this evaluation
            // (the evaluator keeps resolved alerts 15 minutes; a new episode has a new activeAt).
            if (_known.Count > 1000)
            {
                var horizon = (evaluator.LastEvaluation?.Timestamp ?? DateTimeOffset.MaxValue) - TimeSpan.FromHours(1);
                foreach (var fp in _known.Where(k => k.Value.ResolvedAt is { } r && r < horizon).Select(k => k.Key).ToList()) _known.Remove(fp);
            }
        }
        return list;
    }

    /// <summary>The event of one delivery attempt: sent, retried (with the error) or failed.</summary>
    public static TimelineEvent FromDelivery(Notification notification, DeliveryResult result, DateTimeOffset at, int attempt)
    {
        ArgumentNullException.ThrowIfNull(notification);
        ArgumentNullException.ThrowIfNull(result);
        string what = $"{notification.Kind.ToString().ToLowerInvariant()} notification #{notification.Sequence.ToString(CultureInfo.InvariantCulture)} to {notification.Receiver}";
        var (kind, text) = result switch
        {
            DeliveryResult.Delivered => (TimelineKinds.NotificationSent, $"{what} delivered (attempt {attempt.ToString(CultureInfo.InvariantCulture)})"),
            DeliveryResult.Retry r => (TimelineKinds.NotificationRetried, $"{what} attempt {attempt.ToString(CultureInfo.InvariantCulture)} failed, will retry: {r.Error}"),
            DeliveryResult.Failed f => (TimelineKinds.NotificationFailed, $"{what} failed for good: {f.Error}"),
            _ => (TimelineKinds.NotificationFailed, what),
        };
        return new TimelineEvent
        {
            At = at,
            Source = TimelineSources.Notify,
            Actor = "monitor",
            Kind = kind,
            Text = text,
            DedupKey = $"{kind}:{notification.DedupKey}:{attempt.ToString(CultureInfo.InvariantCulture)}",
            GroupKey = notification.GroupKey,
            Fields = new Dictionary<string, string>
            {
                ["receiver"] = notification.Receiver,
                ["notification_kind"] = notification.Kind.ToString().ToLowerInvariant(),
                ["sequence"] = notification.Sequence.ToString(CultureInfo.InvariantCulture),
                ["attempt"] = attempt.ToString(CultureInfo.InvariantCulture),
            },
        };
    }

    /// <summary>Timeline events for the silence audit entries not reported yet (created, expired), oldest first.</summary>
    public IReadOnlyList<TimelineEvent> FromSilenceAudit(IReadOnlyList<SilenceAuditEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var list = new List<TimelineEvent>();
        lock (_lock)
        {
            foreach (var e in entries.OrderBy(e => e.Sequence))
            {
                if (e.Sequence <= _silenceAuditSeen) continue;
                _silenceAuditSeen = e.Sequence;
                string kind = e.Action == SilenceAuditAction.Created ? TimelineKinds.SilenceCreated : TimelineKinds.SilenceExpired;
                list.Add(new TimelineEvent
                {
                    At = e.At,
                    Source = TimelineSources.Silences,
                    Actor = e.By.Length > IncidentNames.MaxNameLength ? e.By[..IncidentNames.MaxNameLength] : e.By,
                    Kind = kind,
                    Text = $"silence {e.SilenceId} {(e.Action == SilenceAuditAction.Created ? "created" : "expired")} by {e.By}: {e.Detail}",
                    DedupKey = $"silence:{e.SilenceId}:{kind}",
                    Fields = new Dictionary<string, string> { ["silence_id"] = e.SilenceId },
                });
            }
        }
        return list;
    }

    private static TimelineEvent AlertEvent(string kind, DateTimeOffset at, LabelSet labels, double value, string state)
    {
        string name = labels["alertname"];
        string shown = string.Join(", ", labels.Where(l => l.Key != "alertname").Select(l => $"{l.Key}=\"{l.Value}\""));
        string valueText = double.IsNaN(value) ? "" : $" (value {value.ToString("G6", CultureInfo.InvariantCulture)})";
        var fields = new Dictionary<string, string>(StringComparer.Ordinal) { ["alertname"] = name, ["state"] = state };
        foreach (var l in labels)
        {
            if (fields.Count >= 24) break;
            if (l.Key != "alertname") fields["label." + l.Key] = l.Value.Length > 200 ? l.Value[..200] : l.Value;
        }
        return new TimelineEvent
        {
            At = at,
            Source = TimelineSources.Alerting,
            Actor = "monitor",
            Kind = kind,
            Text = $"{name} {{{shown}}} {state}{valueText}",
            DedupKey = $"{kind}:{labels.FingerprintHex}:{at.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}",
            Fingerprint = labels.FingerprintHex,
            Fields = fields,
        };
    }
}
