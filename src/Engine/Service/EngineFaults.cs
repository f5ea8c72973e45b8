using System.Globalization;
using ExchangeHealth.Engine.Journal;

namespace ExchangeHealth.Engine.Service;

/// <summary>The engine's fault-injection hooks (admin API only). Names are the <c>fault</c> label of <c>exh_fault_active</c>.</summary>
public enum FaultKind
{
    /// <summary><c>matcher_latency</c>: add <see cref="FaultInfo.Value"/> microseconds of busy time to every command in the matcher.</summary>
    MatcherLatency,
    /// <summary><c>matcher_stall</c>: the matcher thread stops for the fault's duration (the heartbeat stops too).</summary>
    MatcherStall,
    /// <summary><c>journal_write_failure</c>: every journal write fails as on a full disk; commands are rejected <c>internal</c>.</summary>
    JournalWriteFailure,
    /// <summary><c>slow_fsync</c>: every journal fsync takes <see cref="FaultInfo.Value"/> milliseconds longer.</summary>
    SlowFsync,
    /// <summary><c>internal_rejects</c>: reject a share <see cref="FaultInfo.Value"/> (0..1) of commands as <c>internal</c> before journaling.</summary>
    InternalRejects,
}

/// <summary>An active fault.</summary>
/// <param name="Kind">Which fault.</param>
/// <param name="Value">Its size: microseconds (matcher_latency), milliseconds (slow_fsync), share 0..1 (internal_rejects), unused otherwise.</param>
/// <param name="StartedAt">When it was injected.</param>
/// <param name="ExpiresAt">When it ends by itself.</param>
public sealed record FaultInfo(FaultKind Kind, double Value, DateTimeOffset StartedAt, DateTimeOffset ExpiresAt)
{
    /// <summary>The fault's label value, e.g. <c>slow_fsync</c>.</summary>
    public string Name => EngineFaults.NameOf(Kind);
}

/// <summary>
/// Time-bounded fault injection for chaos experiments. Every fault has a duration (at most
/// <see cref="MaxDuration"/>) and ends by itself; injecting and clearing are logged as events
/// (<c>fault.injected</c>, <c>fault.cleared</c>, <c>fault.expired</c>). Thread-safe; the hot-path
/// checks are a volatile read when no fault is active.
/// </summary>
public sealed class EngineFaults : IJournalFaultHooks
{
    /// <summary>Longest fault duration accepted: 10 minutes.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromMinutes(10);
    /// <summary>Largest matcher latency per command: 100,000 µs.</summary>
    public const double MaxMatcherLatencyMicroseconds = 100_000;
    /// <summary>Largest extra fsync delay: 10,000 ms.</summary>
    public const double MaxSlowFsyncMilliseconds = 10_000;

    private static readonly FaultKind[] Kinds = Enum.GetValues<FaultKind>();
    private readonly FaultInfo?[] _active = new FaultInfo?[Kinds.Length];
    private readonly object _lock = new();
    private readonly TimeProvider _time;
    private readonly EngineEventLog _events;
    private readonly Random _random = new();
    private int _anyActive;

    /// <summary>Creates the hooks.</summary>
    public EngineFaults(TimeProvider time, EngineEventLog events)
    {
        _time = time;
        _events = events;
    }

    /// <summary>Every fault kind.</summary>
    public static IReadOnlyList<FaultKind> All => Kinds;

    /// <summary>The snake_case name of a fault kind.</summary>
    public static string NameOf(FaultKind kind) => kind switch
    {
        FaultKind.MatcherLatency => "matcher_latency",
        FaultKind.MatcherStall => "matcher_stall",
        FaultKind.JournalWriteFailure => "journal_write_failure",
        FaultKind.SlowFsync => "slow_fsync",
        FaultKind.InternalRejects => "internal_rejects",
        _ => kind.ToString(),
    };

    /// <summary>Parses a snake_case fault name.</summary>
    public static bool TryParse(string name, out FaultKind kind)
    {
        foreach (var k in Kinds)
            if (string.Equals(NameOf(k), name, StringComparison.OrdinalIgnoreCase)) { kind = k; return true; }
        kind = default;
        return false;
    }

    /// <summary>Starts (or replaces) a fault for <paramref name="duration"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The duration is not in (0, <see cref="MaxDuration"/>], or the value is outside the kind's range.</exception>
    public FaultInfo Inject(FaultKind kind, TimeSpan duration, double value = 0)
    {
        if (duration <= TimeSpan.Zero || duration > MaxDuration)
            throw new ArgumentOutOfRangeException(nameof(duration), duration, $"a fault lasts more than 0 and at most {MaxDuration.TotalSeconds} s");
        string? problem = kind switch
        {
            FaultKind.MatcherLatency when value is <= 0 or > MaxMatcherLatencyMicroseconds => $"latency_us must be in (0, {MaxMatcherLatencyMicroseconds}]",
            FaultKind.SlowFsync when value is <= 0 or > MaxSlowFsyncMilliseconds => $"delay_ms must be in (0, {MaxSlowFsyncMilliseconds}]",
            FaultKind.InternalRejects when value is <= 0 or > 1 || double.IsNaN(value) => "share must be in (0, 1]",
            _ => null,
        };
        if (problem is not null) throw new ArgumentOutOfRangeException(nameof(value), value, problem);
        var now = _time.GetUtcNow();
        var info = new FaultInfo(kind, value, now, now + duration);
        lock (_lock)
        {
            _active[(int)kind] = info;
            Volatile.Write(ref _anyActive, 1);
        }
        _events.Write("fault.injected", $"fault {info.Name} injected for {duration.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s",
            new Dictionary<string, string>
            {
                ["fault"] = info.Name,
                ["value"] = value.ToString(CultureInfo.InvariantCulture),
                ["duration_seconds"] = duration.TotalSeconds.ToString(CultureInfo.InvariantCulture),
                ["expires_at"] = info.ExpiresAt.ToString("O", CultureInfo.InvariantCulture),
            });
        return info;
    }

    /// <summary>Ends a fault now. Returns false when it was not active.</summary>
    public bool Clear(FaultKind kind) => End(kind, "fault.cleared", expiredOnly: false);

    /// <summary>Ends every fault now.</summary>
    public void ClearAll()
    {
        foreach (var k in Kinds) Clear(k);
    }

    /// <summary>The faults active now (expired ones are ended first).</summary>
    public IReadOnlyList<FaultInfo> Active
    {
        get
        {
            ExpireDue();
            lock (_lock)
            {
                var list = new List<FaultInfo>();
                foreach (var f in _active) if (f is not null) list.Add(f);
                return list;
            }
        }
    }

    /// <summary>True when <paramref name="kind"/> is active now.</summary>
    public bool IsActive(FaultKind kind) => Get(kind) is not null;

    /// <summary>Ends faults whose time is up (called by the service's timer and by readers).</summary>
    public void ExpireDue()
    {
        if (Volatile.Read(ref _anyActive) == 0) return;
        var now = _time.GetUtcNow();
        foreach (var k in Kinds)
        {
            var f = Volatile.Read(ref _active[(int)k]);
            if (f is not null && f.ExpiresAt <= now) End(k, "fault.expired", expiredOnly: true);
        }
    }

    /// <summary>The active fault of a kind, or null. Cheap when nothing is active.</summary>
    public FaultInfo? Get(FaultKind kind)
    {
        if (Volatile.Read(ref _anyActive) == 0) return null;
        var f = Volatile.Read(ref _active[(int)kind]);
        if (f is null) return null;
        if (f.ExpiresAt <= _time.GetUtcNow()) { End(kind, "fault.expired", expiredOnly: true); return null; }
        return f;
    }

    /// <summary>Matcher hook: extra busy time per command (µs), 0 when none.</summary>
    internal double MatcherLatencyMicroseconds => Get(FaultKind.MatcherLatency)?.Value ?? 0;

    /// <summary>Matcher hook: how long to stall now, or zero.</summary>
    internal TimeSpan TakeMatcherStall()
    {
        var f = Get(FaultKind.MatcherStall);
        if (f is null) return TimeSpan.Zero;
        var left = f.ExpiresAt - _time.GetUtcNow();
        return left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    /// <summary>Sequencer hook: true when this command is to be rejected as <c>internal</c>.</summary>
    internal bool ShouldRejectInternal()
    {
        var f = Get(FaultKind.InternalRejects);
        if (f is null) return false;
        lock (_random) return _random.NextDouble() < f.Value;
    }

    /// <inheritdoc/>
    void IJournalFaultHooks.BeforeWrite(int bytes)
    {
        if (Get(FaultKind.JournalWriteFailure) is not null)
            throw new IOException("No space left on device (injected fault journal_write_failure)");
    }

    /// <inheritdoc/>
    void IJournalFaultHooks.BeforeFlush()
    {
        var f = Get(FaultKind.SlowFsync);
        if (f is not null) Thread.Sleep(TimeSpan.FromMilliseconds(f.Value));
    }

    private bool End(FaultKind kind, string eventKind, bool expiredOnly)
    {
        FaultInfo? ended;
        lock (_lock)
        {
            ended = _active[(int)kind];
            if (ended is null) return false;
            if (expiredOnly && ended.ExpiresAt > _time.GetUtcNow()) return false;
            _active[(int)kind] = null;
            bool any = false;
            foreach (var f in _active) any |= f is not null;
            Volatile.Write(ref _anyActive, any ? 1 : 0);
        }
        _events.Write(eventKind, $"fault {ended.Name} {(eventKind == "fault.expired" ? "expired" : "cleared")}",
            new Dictionary<string, string> { ["fault"] = ended.Name });
        return true;
    }
}
