using System.Diagnostics.Metrics;

namespace ExchangeHealth.Alerting.Notify;

/// <summary>
/// The notification instruments of the metric contract (ARCHITECTURE.md), created on the host's
/// meter (<c>ExchangeHealth.Alerting</c>) and exposed by the standard OpenTelemetry → Prometheus
/// conversion (<c>ExchangeHealth.Telemetry.PrometheusNaming</c>):
/// <list type="table">
/// <item><term><see cref="NotificationsInstrument"/> (counter, <c>{notification}</c>)</term><description><c>exh_notifications_total{receiver, outcome}</c>, outcome <c>delivered</c> | <c>retried</c> | <c>failed</c> (dead: permanent error or dead-letter age reached)</description></item>
/// <item><term><see cref="OutboxDepthInstrument"/> (observable gauge, <c>{notification}</c>)</term><description><c>exh_notification_outbox_depth</c>: pending outbox entries, refreshed by <see cref="OutboxDeliverer"/> after every round (at least once per poll interval)</description></item>
/// </list>
/// Thread-safe.
/// </summary>
public sealed class NotificationMetrics
{
    /// <summary>Instrument name of <c>exh_notifications_total</c>.</summary>
    public const string NotificationsInstrument = "exh.notifications";

    /// <summary>Instrument name of <c>exh_notification_outbox_depth</c>.</summary>
    public const string OutboxDepthInstrument = "exh.notification.outbox.depth";

    /// <summary>Outcome label value: the receiver accepted the notification.</summary>
    public const string Delivered = "delivered";

    /// <summary>Outcome label value: an attempt failed and another is scheduled.</summary>
    public const string Retried = "retried";

    /// <summary>Outcome label value: the entry went dead (permanent failure or too old).</summary>
    public const string Failed = "failed";

    private readonly Counter<long> _notifications;
    private long _depth;

    /// <summary>Creates the instruments on <paramref name="meter"/> (the host creates the meter <c>ExchangeHealth.Alerting</c>).</summary>
    public NotificationMetrics(Meter meter)
    {
        ArgumentNullException.ThrowIfNull(meter);
        _notifications = meter.CreateCounter<long>(NotificationsInstrument, "{notification}",
            "Notification delivery attempts by receiver and outcome (delivered, retried, failed).");
        meter.CreateObservableGauge(OutboxDepthInstrument, () => Volatile.Read(ref _depth), "{notification}",
            "Notifications in the outbox not yet delivered (pending).");
    }

    /// <summary>The last depth set by <see cref="SetOutboxDepth"/>.</summary>
    public long OutboxDepth => Volatile.Read(ref _depth);

    /// <summary>Counts one outcome for <paramref name="receiver"/>.</summary>
    /// <param name="receiver">Receiver name (bounded: from the configuration).</param>
    /// <param name="outcome"><see cref="Delivered"/>, <see cref="Retried"/> or <see cref="Failed"/>.</param>
    public void Record(string receiver, string outcome) =>
        _notifications.Add(1, new KeyValuePair<string, object?>("receiver", receiver), new KeyValuePair<string, object?>("outcome", outcome));

    /// <summary>Sets the outbox depth the gauge reports.</summary>
    public void SetOutboxDepth(long pending) => Volatile.Write(ref _depth, pending);
}
