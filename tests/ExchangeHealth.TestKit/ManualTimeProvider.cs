namespace ExchangeHealth.TestKit;

/// <summary>
/// A clock that moves only when told (<see cref="Advance"/>), with timers: due timers fire on the
/// advancing thread, in due order (so <c>Task.Delay(d, timeProvider)</c> completes on Advance). Shared by
/// the test projects (logon and heartbeat timeouts, the rule watcher, the dispatcher, the canary).
/// </summary>
public sealed class ManualTimeProvider(DateTimeOffset start) : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private long _ticks;

    /// <summary>A clock starting at 2026-11-21 03:00 UTC.</summary>
    public ManualTimeProvider() : this(new DateTimeOffset(2026, 11, 21, 3, 0, 0, TimeSpan.Zero)) { }

    /// <inheritdoc/>
    public override DateTimeOffset GetUtcNow() => start.AddTicks(Interlocked.Read(ref _ticks));

    /// <inheritdoc/>
    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    /// <inheritdoc/>
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>Number of armed timers.</summary>
    public int ActiveTimers
    {
        get { lock (_lock) return _timers.Count; }
    }

    /// <summary>Due times of the armed timers.</summary>
    public IReadOnlyList<DateTimeOffset> TimerDueTimes
    {
        get { lock (_lock) return _timers.Select(t => start.AddTicks(t.DueAt)).ToList(); }
    }

    /// <inheritdoc/>
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves the clock forward, firing every timer that falls due on the way.</summary>
    public void Advance(TimeSpan by)
    {
        long target = Interlocked.Read(ref _ticks) + by.Ticks;
        while (true)
        {
            ManualTimer? next = null;
            lock (_lock)
            {
                foreach (var t in _timers)
                {
                    if (t.DueAt <= target && (next is null || t.DueAt < next.DueAt)) next = t;
                }
                if (next is null) break;
                if (next.DueAt > _ticks) Interlocked.Exchange(ref _ticks, next.DueAt);
                if (next.Period > 0) next.DueAt += next.Period;
                else _timers.Remove(next);
            }
            next.Fire();
        }
        Interlocked.Exchange(ref _ticks, target);
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public long DueAt;
        public long Period;

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._lock)
            {
                owner._timers.Remove(this);
                if (dueTime == Timeout.InfiniteTimeSpan) return true;
                DueAt = owner._ticks + Math.Max(0, dueTime.Ticks);
                Period = period == Timeout.InfiniteTimeSpan || period <= TimeSpan.Zero ? 0 : period.Ticks;
                owner._timers.Add(this);
            }
            return true;
        }

        public void Dispose()
        {
            lock (owner._lock) owner._timers.Remove(this);
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
