namespace ExchangeHealth.Alerting.Slack;

/// <summary>
/// At most one message per interval (1 s) per Slack channel, as Slack's <c>chat.postMessage</c>
/// limit asks ("1 message per second per channel", docs.slack.dev rate limits). Callers reserve the
/// next free slot of the channel and wait for it, so concurrent senders are spaced, not rejected. A
/// 429 for a channel pushes its next slot past the <c>Retry-After</c>. One instance,
/// <see cref="Shared"/>, is shared by every <see cref="SlackNotifier"/> of the process.
/// </summary>
public sealed class SlackChannelPacer
{
    private readonly TimeSpan _interval;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, DateTimeOffset> _next = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>The process-wide pacer: 1 s per channel on the system clock.</summary>
    public static SlackChannelPacer Shared { get; } = new(TimeSpan.FromSeconds(1), TimeProvider.System);

    /// <summary>Creates a pacer (tests use short intervals or a manual clock).</summary>
    /// <param name="interval">Minimum spacing of two sends to one channel.</param>
    /// <param name="timeProvider">Clock of the waits.</param>
    public SlackChannelPacer(TimeSpan interval, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(interval, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _interval = interval;
        _time = timeProvider;
    }

    /// <summary>The spacing.</summary>
    public TimeSpan Interval => _interval;

    /// <summary>Reserves the channel's next slot and waits until it comes; the slot is used even when cancelled.</summary>
    public async Task WaitTurnAsync(string channel, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        DateTimeOffset slot;
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            slot = _next.TryGetValue(channel, out var next) && next > now ? next : now;
            _next[channel] = slot + _interval;
            if (_next.Count > 10_000) Prune(now);
        }
        // Timers may fire a little early: wait again until the clock has really reached the slot.
        for (var left = slot - _time.GetUtcNow(); left > TimeSpan.Zero; left = slot - _time.GetUtcNow())
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(left.TotalMilliseconds)), _time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Keeps the channel's next slot at least <paramref name="after"/> away (Slack answered 429 with this <c>Retry-After</c>).</summary>
    public void Defer(string channel, TimeSpan after)
    {
        ArgumentNullException.ThrowIfNull(channel);
        lock (_lock)
        {
            var until = _time.GetUtcNow() + after;
            if (!_next.TryGetValue(channel, out var next) || next < until) _next[channel] = until;
        }
    }

    private void Prune(DateTimeOffset now)
    {
        foreach (var key in _next.Where(p => p.Value <= now).Select(p => p.Key).ToList()) _next.Remove(key);
    }
}
