using ExchangeHealth.Alerting.Model;

namespace ExchangeHealth.Alerting.Notify;

/// <summary>
/// The outcome of one delivery attempt of a <see cref="Notification"/> by an <see cref="INotifier"/>:
/// <see cref="Delivered"/>, <see cref="Retry"/> (transient: try again later) or <see cref="Failed"/>
/// (permanent: the outbox marks the entry dead at once). Closed hierarchy: only these three.
/// </summary>
public abstract record DeliveryResult
{
    private DeliveryResult() { }

    /// <summary>The receiver accepted the notification (Slack answered <c>ok</c>, the webhook 2xx).</summary>
    public sealed record Delivered : DeliveryResult
    {
        /// <summary>The one instance.</summary>
        public static Delivered Instance { get; } = new();
    }

    /// <summary>Transient failure; the outbox tries again with exponential backoff.</summary>
    /// <param name="After">
    /// The receiver's requested wait (HTTP <c>Retry-After</c>, Slack <c>ratelimited</c>); the next
    /// attempt is not earlier than this. Null: the outbox's own backoff.
    /// </param>
    /// <param name="Error">What went wrong, for <c>last_error</c> and the log (never a secret).</param>
    public sealed record Retry(TimeSpan? After, string Error) : DeliveryResult;

    /// <summary>Permanent failure (bad token, unknown channel, 4xx): retrying cannot help.</summary>
    /// <param name="Error">What went wrong, for <c>last_error</c> and the log (never a secret).</param>
    public sealed record Failed(string Error) : DeliveryResult;
}

/// <summary>
/// Delivers notifications for one receiver (Alertmanager's <c>notify.Notifier</c>): Slack, a
/// webhook, the console. Called by <see cref="OutboxDeliverer"/> for each due outbox entry, at most
/// once at a time per (receiver, group key) and in sequence order. Implementations must be
/// idempotent per <see cref="Notification.DedupKey"/> as far as the receiver allows, because an
/// attempt whose outcome is unknown (timeout, crash) is repeated.
/// </summary>
public interface INotifier
{
    /// <summary>Delivers <paramref name="notification"/> once.</summary>
    /// <param name="notification">The notification, as stored in the outbox.</param>
    /// <param name="cancellationToken">Cancelled at shutdown or when the outbox's overall attempt timeout passes.</param>
    /// <returns>The outcome; exceptions other than cancellation are treated by the outbox as <see cref="DeliveryResult.Retry"/>.</returns>
    Task<DeliveryResult> DeliverAsync(Notification notification, CancellationToken cancellationToken);
}
