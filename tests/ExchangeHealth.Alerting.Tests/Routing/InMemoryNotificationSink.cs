using ExchangeHealth.Alerting.Model;

namespace ExchangeHealth.Alerting.Tests.Routing;

/// <summary>
/// Test double of the outbox with the same contract as <see cref="INotificationSink"/>: enqueue
/// is idempotent per dedup key (false for a duplicate), and <see cref="GetLastAsync"/> returns the
/// highest sequence stored for (receiver, group key). Can be told to fail the next enqueues.
/// </summary>
public sealed class InMemoryNotificationSink : INotificationSink
{
    private readonly Lock _lock = new();
    private readonly List<Notification> _stored = [];
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>How many of the next enqueues throw (a database outage).</summary>
    public int FailNext { get; set; }

    /// <summary>Everything stored, in enqueue order.</summary>
    public IReadOnlyList<Notification> Notifications
    {
        get { lock (_lock) return [.. _stored]; }
    }

    public Task<bool> EnqueueAsync(Notification notification, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notification);
        TaskCompletionSource changed;
        lock (_lock)
        {
            if (FailNext > 0)
            {
                FailNext--;
                throw new IOException("outbox unavailable (test)");
            }
            if (!_keys.Add(notification.DedupKey)) return Task.FromResult(false);
            _stored.Add(notification);
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.SetResult();
        return Task.FromResult(true);
    }

    public Task<NotificationLogEntry?> GetLastAsync(string receiver, string groupKey, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var last = _stored.Where(n => n.Receiver == receiver && n.GroupKey == groupKey).MaxBy(n => n.Sequence);
            return Task.FromResult(last is null ? null : new NotificationLogEntry(last.Sequence, last.Kind, last.FiringHash, last.ResolvedHash, last.CreatedAt));
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> notifications are stored.</summary>
    public async Task WaitForCountAsync(int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (_stored.Count >= count) return;
                changed = _changed.Task;
            }
            await changed.WaitAsync(cts.Token);
        }
    }
}
