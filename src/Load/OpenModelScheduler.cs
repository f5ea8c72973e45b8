namespace ExchangeHealth.Load;

/// <summary>
/// The open model's clock: hands out each command's intended send time from a
/// <see cref="RateSchedule"/> and accounts for what happened to it: sent on time, sent
/// <b>late</b> (more than <see cref="LateThreshold"/> after its intended time), <b>dropped</b>
/// (not sent because its connection had the maximum number of requests in flight) or
/// <b>not sent</b> (its connection was down). One thread drives it; the counters may be read from
/// any thread.
/// </summary>
/// <remarks>
/// Latency of a command is measured from its intended time, not from when it was actually sent,
/// so time the driver spent behind schedule is part of the latency (no coordinated omission). The
/// schedule ends at the run's duration (commands due at or after it are not sent) or after
/// <c>count</c> commands, whichever comes first.
/// </remarks>
public sealed class OpenModelScheduler
{
    private readonly RateSchedule _schedule;
    private readonly TimeProvider _time;
    private readonly long _lateThresholdTicks;
    private readonly double _durationSeconds;
    private readonly long _count;
    private long _startTimestamp;
    private long _index;
    private long _sent;
    private long _late;
    private long _dropped;
    private long _notSent;
    private long _maxLatenessTicks;
    private long _nextIntended;
    private bool _hasNext;

    /// <summary>Creates a scheduler; nothing is due until <see cref="Start()"/>.</summary>
    /// <param name="schedule">The arrival rate over time.</param>
    /// <param name="time">The clock (timestamps are <see cref="TimeProvider.GetTimestamp"/> ticks).</param>
    /// <param name="lateThreshold">A command sent more than this after its intended time counts as late.</param>
    /// <param name="duration">Length of the run (null: unbounded).</param>
    /// <param name="count">Most commands to schedule (null: unbounded).</param>
    /// <exception cref="ArgumentOutOfRangeException">The threshold is negative, the duration not positive, or the count negative.</exception>
    public OpenModelScheduler(RateSchedule schedule, TimeProvider time, TimeSpan lateThreshold, TimeSpan? duration, long? count)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentOutOfRangeException.ThrowIfLessThan(lateThreshold, TimeSpan.Zero);
        if (duration is { } d) ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(d, TimeSpan.Zero, nameof(duration));
        if (count is { } c) ArgumentOutOfRangeException.ThrowIfNegative(c, nameof(count));
        _schedule = schedule;
        _time = time;
        LateThreshold = lateThreshold;
        _lateThresholdTicks = (long)(lateThreshold.TotalSeconds * time.TimestampFrequency);
        _durationSeconds = duration?.TotalSeconds ?? double.PositiveInfinity;
        _count = count ?? long.MaxValue;
    }

    /// <summary>The lateness above which a send counts as late.</summary>
    public TimeSpan LateThreshold { get; }

    /// <summary>The timestamp the schedule counts from.</summary>
    public long StartTimestamp => _startTimestamp;

    /// <summary>Commands whose intended time has been handed out and handled (sent, dropped or not sent).</summary>
    public long Scheduled => Volatile.Read(ref _index);

    /// <summary>Commands handed to a connection.</summary>
    public long Sent => Volatile.Read(ref _sent);

    /// <summary>Commands sent more than <see cref="LateThreshold"/> after their intended time.</summary>
    public long Late => Volatile.Read(ref _late);

    /// <summary>Commands not sent because their connection had the maximum number of requests in flight.</summary>
    public long Dropped => Volatile.Read(ref _dropped);

    /// <summary>Commands not sent because their connection was down.</summary>
    public long NotSent => Volatile.Read(ref _notSent);

    /// <summary>Largest lateness of a sent command.</summary>
    public TimeSpan MaxLateness => TimeSpan.FromSeconds(Volatile.Read(ref _maxLatenessTicks) / (double)_time.TimestampFrequency);

    /// <summary>Starts the schedule now.</summary>
    public void Start() => Start(_time.GetTimestamp());

    /// <summary>Starts the schedule at <paramref name="startTimestamp"/>.</summary>
    public void Start(long startTimestamp)
    {
        _startTimestamp = startTimestamp;
        _index = 0;
        _hasNext = false;
    }

    /// <summary>
    /// The intended time of the next command. False when the schedule is over: the next command would
    /// be due at or after the run's duration, or <c>count</c> commands were scheduled.
    /// </summary>
    /// <param name="intendedTimestamp">Its intended send time (<see cref="TimeProvider.GetTimestamp"/> ticks).</param>
    public bool TryPeekNext(out long intendedTimestamp)
    {
        if (!_hasNext)
        {
            if (_index >= _count) { intendedTimestamp = 0; return false; }
            double seconds = _schedule.SecondsOf(_index);
            if (!(seconds < _durationSeconds)) { intendedTimestamp = 0; return false; }
            _nextIntended = _startTimestamp + (long)(seconds * _time.TimestampFrequency);
            _hasNext = true;
        }
        intendedTimestamp = _nextIntended;
        return true;
    }

    /// <summary>The next command was sent at <paramref name="sendTimestamp"/>: counts its lateness and moves on.</summary>
    /// <returns>Its lateness in timestamp ticks (0 when on time or early).</returns>
    /// <exception cref="InvalidOperationException">No command is due (call <see cref="TryPeekNext"/> first).</exception>
    public long RecordSent(long sendTimestamp)
    {
        long intended = Take();
        long lateness = Math.Max(0, sendTimestamp - intended);
        Interlocked.Increment(ref _sent);
        if (lateness > _lateThresholdTicks) Interlocked.Increment(ref _late);
        if (lateness > _maxLatenessTicks) Volatile.Write(ref _maxLatenessTicks, lateness);
        return lateness;
    }

    /// <summary>The next command was not sent because its connection had the maximum in flight.</summary>
    /// <exception cref="InvalidOperationException">No command is due.</exception>
    public void RecordDropped()
    {
        Take();
        Interlocked.Increment(ref _dropped);
    }

    /// <summary>The next command was not sent because its connection was down.</summary>
    /// <exception cref="InvalidOperationException">No command is due.</exception>
    public void RecordNotSent()
    {
        Take();
        Interlocked.Increment(ref _notSent);
    }

    /// <summary>Seconds from the start to the intended time of command <paramref name="index"/>.</summary>
    public double SecondsOf(long index) => _schedule.SecondsOf(index);

    private long Take()
    {
        if (!TryPeekNext(out long intended)) throw new InvalidOperationException("no command is due: the schedule is over");
        _hasNext = false;
        Volatile.Write(ref _index, _index + 1);
        return intended;
    }
}
