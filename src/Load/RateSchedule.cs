using System.Globalization;

namespace ExchangeHealth.Load;

/// <summary>One stage of an open-model load: the arrival rate moves linearly from <see cref="FromRate"/> to <see cref="ToRate"/> over <see cref="Duration"/>.</summary>
/// <param name="FromRate">Commands per second at the start of the stage (≥ 0).</param>
/// <param name="ToRate">Commands per second at the end of the stage (≥ 0); equal to <paramref name="FromRate"/> for a constant rate.</param>
/// <param name="Duration">Length of the stage (&gt; 0).</param>
public sealed record LoadStage(double FromRate, double ToRate, TimeSpan Duration)
{
    /// <summary>A stage at a constant rate.</summary>
    public static LoadStage Constant(double rate, TimeSpan duration) => new(rate, rate, duration);

    /// <summary>The stage as the CLI writes it: <c>10s:5000</c> or <c>30s:1000-20000</c>.</summary>
    public override string ToString() => FromRate == ToRate
        ? string.Create(CultureInfo.InvariantCulture, $"{LoadDurations.Format(Duration)}:{FromRate:0.###}")
        : string.Create(CultureInfo.InvariantCulture, $"{LoadDurations.Format(Duration)}:{FromRate:0.###}-{ToRate:0.###}");
}

/// <summary>
/// The arrival rate of an open-model load as a function of time: a list of <see cref="LoadStage"/>s
/// (constant or linear), then the last stage's final rate for as long as the run lasts. Gives the
/// <b>intended</b> send time of every command: command <c>i</c> (0-based) is due at the time
/// <c>t</c> where the integral of the rate from 0 to <c>t</c> equals <c>i</c>, so at a constant
/// rate <c>R</c> command <c>i</c> is due at <c>i / R</c> seconds. The schedule never depends on
/// when commands were actually sent: a driver that falls behind does not slow the schedule down
/// (no coordinated omission).
/// </summary>
public sealed class RateSchedule
{
    private readonly LoadStage[] _stages;
    private readonly double[] _startSeconds;
    private readonly double[] _startCounts;
    private readonly double _endSeconds;
    private readonly double _endCount;
    private readonly double _holdRate;

    /// <summary>Creates a schedule.</summary>
    /// <param name="stages">At least one stage; rates finite and ≥ 0, durations &gt; 0.</param>
    /// <exception cref="ArgumentException">No stage, a negative or non-finite rate, or a non-positive duration.</exception>
    public RateSchedule(IReadOnlyList<LoadStage> stages)
    {
        ArgumentNullException.ThrowIfNull(stages);
        if (stages.Count == 0) throw new ArgumentException("a rate schedule needs at least one stage", nameof(stages));
        _stages = [.. stages];
        _startSeconds = new double[_stages.Length];
        _startCounts = new double[_stages.Length];
        double seconds = 0, count = 0;
        for (int i = 0; i < _stages.Length; i++)
        {
            var s = _stages[i];
            if (!double.IsFinite(s.FromRate) || !double.IsFinite(s.ToRate) || s.FromRate < 0 || s.ToRate < 0)
                throw new ArgumentException($"stage {i + 1}: rates must be finite and not negative", nameof(stages));
            if (s.Duration <= TimeSpan.Zero) throw new ArgumentException($"stage {i + 1}: the duration must be positive", nameof(stages));
            _startSeconds[i] = seconds;
            _startCounts[i] = count;
            double d = s.Duration.TotalSeconds;
            seconds += d;
            count += (s.FromRate + s.ToRate) / 2 * d;
        }
        _endSeconds = seconds;
        _endCount = count;
        _holdRate = _stages[^1].ToRate;
    }

    /// <summary>A constant rate for ever.</summary>
    /// <exception cref="ArgumentException">The rate is negative or not finite.</exception>
    public static RateSchedule Constant(double rate) => new([LoadStage.Constant(rate, TimeSpan.FromSeconds(1))]);

    /// <summary>
    /// Parses a ramp <c>FROM:TO:DURATION</c> (e.g. <c>1000:20000:30s</c>): the rate moves linearly
    /// from FROM to TO commands/s over DURATION, then stays at TO.
    /// </summary>
    /// <param name="text">The ramp.</param>
    /// <param name="schedule">The schedule, or null on failure.</param>
    /// <param name="error">On failure, what is wrong (naming the text).</param>
    public static bool TryParseRamp(string? text, out RateSchedule? schedule, out string? error)
    {
        schedule = null;
        string t = (text ?? "").Trim();
        string[] parts = t.Split(':');
        if (parts.Length != 3)
        {
            error = $"--ramp '{t}': expected FROM:TO:DURATION, e.g. 1000:20000:30s";
            return false;
        }
        if (!TryParseRate(parts[0], out double from) || !TryParseRate(parts[1], out double to))
        {
            error = $"--ramp '{t}': rates must be non-negative numbers of commands per second";
            return false;
        }
        if (!LoadDurations.TryParse(parts[2], out var duration) || duration <= TimeSpan.Zero)
        {
            error = $"--ramp '{t}': '{parts[2]}' is not a positive duration (e.g. 30s, 2m, 500ms)";
            return false;
        }
        schedule = new RateSchedule([new LoadStage(from, to, duration)]);
        error = null;
        return true;
    }

    /// <summary>
    /// Parses stages, comma-separated, each <c>DURATION:RATE</c> (constant) or
    /// <c>DURATION:FROM-TO</c> (linear), e.g. <c>10s:1000,30s:1000-20000,20s:20000</c>. After the last
    /// stage its final rate holds.
    /// </summary>
    /// <param name="text">The stages.</param>
    /// <param name="schedule">The schedule, or null on failure.</param>
    /// <param name="error">On failure, what is wrong (naming the stage).</param>
    public static bool TryParseStages(string? text, out RateSchedule? schedule, out string? error)
    {
        schedule = null;
        var stages = new List<LoadStage>();
        string t = (text ?? "").Trim();
        foreach (string raw in t.Split(',', StringSplitOptions.TrimEntries))
        {
            int colon = raw.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                error = $"--stages: stage '{raw}' is not DURATION:RATE or DURATION:FROM-TO (e.g. 10s:1000 or 30s:1000-20000)";
                return false;
            }
            string durationText = raw[..colon].Trim();
            string rateText = raw[(colon + 1)..].Trim();
            if (!LoadDurations.TryParse(durationText, out var duration) || duration <= TimeSpan.Zero)
            {
                error = $"--stages: stage '{raw}': '{durationText}' is not a positive duration (e.g. 30s, 2m, 500ms)";
                return false;
            }
            int dash = rateText.IndexOf('-', StringComparison.Ordinal);
            double from, to;
            bool ok = dash < 0
                ? TryParseRate(rateText, out from) & TryParseRate(rateText, out to)
                : TryParseRate(rateText[..dash], out from) & TryParseRate(rateText[(dash + 1)..], out to);
            if (!ok)
            {
                error = $"--stages: stage '{raw}': '{rateText}' is not a rate or FROM-TO rates (non-negative commands per second)";
                return false;
            }
            stages.Add(new LoadStage(from, to, duration));
        }
        if (stages.Count == 0)
        {
            error = "--stages: no stage given";
            return false;
        }
        schedule = new RateSchedule(stages);
        error = null;
        return true;
    }

    /// <summary>Parses a non-negative rate in commands per second (digits, optional decimals, <c>_</c> separators, optional <c>/s</c>).</summary>
    public static bool TryParseRate(string? text, out double rate)
    {
        string t = (text ?? "").Trim().Replace("_", "", StringComparison.Ordinal);
        if (t.EndsWith("/s", StringComparison.Ordinal)) t = t[..^2];
        return double.TryParse(t, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out rate) && double.IsFinite(rate) && rate >= 0;
    }

    /// <summary>The stages.</summary>
    public IReadOnlyList<LoadStage> Stages => _stages;

    /// <summary>Total length of the stages (after it the last rate holds).</summary>
    public TimeSpan StagesDuration => TimeSpan.FromSeconds(_endSeconds);

    /// <summary>The rate at <paramref name="seconds"/> after the start, commands per second.</summary>
    public double RateAt(double seconds)
    {
        if (seconds >= _endSeconds) return _holdRate;
        if (seconds < 0) return 0;
        int k = StageAtTime(seconds);
        var s = _stages[k];
        double f = (seconds - _startSeconds[k]) / s.Duration.TotalSeconds;
        return s.FromRate + (s.ToRate - s.FromRate) * f;
    }

    /// <summary>The expected number of commands due in [0, <paramref name="seconds"/>): the integral of the rate.</summary>
    public double CountBefore(double seconds)
    {
        if (seconds <= 0) return 0;
        if (seconds >= _endSeconds) return _endCount + _holdRate * (seconds - _endSeconds);
        int k = StageAtTime(seconds);
        var s = _stages[k];
        double d = s.Duration.TotalSeconds;
        double tau = seconds - _startSeconds[k];
        return _startCounts[k] + s.FromRate * tau + (s.ToRate - s.FromRate) * tau * tau / (2 * d);
    }

    /// <summary>
    /// The intended send time of command <paramref name="index"/> (0-based), seconds after the
    /// start; <see cref="double.PositiveInfinity"/> when the rate drops to 0 for good before it.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is negative.</exception>
    public double SecondsOf(long index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        double x = index;
        if (x >= _endCount)
        {
            if (_holdRate <= 0) return double.PositiveInfinity;
            return _endSeconds + (x - _endCount) / _holdRate;
        }
        int k = StageAtCount(x);
        var s = _stages[k];
        double local = x - _startCounts[k];
        double b = s.FromRate;
        double a = (s.ToRate - s.FromRate) / (2 * s.Duration.TotalSeconds);
        // Solve a*tau^2 + b*tau = local for tau >= 0 in the stable form 2c / (b + sqrt(b^2 + 4ac)).
        double disc = Math.Max(0, b * b + 4 * a * local);
        double denom = b + Math.Sqrt(disc);
        double tau = denom > 0 ? 2 * local / denom : 0;
        return _startSeconds[k] + Math.Min(tau, s.Duration.TotalSeconds);
    }

    /// <summary>The stages as the CLI writes them, e.g. <c>10s:1000-5000, 20s:5000</c> (then the last rate holds).</summary>
    public override string ToString()
    {
        if (_stages.Length == 1 && _stages[0].FromRate == _stages[0].ToRate)
            return string.Create(CultureInfo.InvariantCulture, $"{_stages[0].FromRate:0.###}/s constant");
        return string.Join(", ", _stages.Select(s => s.ToString())) +
            string.Create(CultureInfo.InvariantCulture, $", then {_holdRate:0.###}/s");
    }

    private int StageAtTime(double seconds)
    {
        int k = Array.BinarySearch(_startSeconds, seconds);
        if (k < 0) k = ~k - 1;
        return Math.Clamp(k, 0, _stages.Length - 1);
    }

    private int StageAtCount(double count)
    {
        // The last stage whose start count is <= count and which has commands (zero-rate stages have none).
        int k = Array.BinarySearch(_startCounts, count);
        if (k < 0) k = ~k - 1;
        else while (k + 1 < _startCounts.Length && _startCounts[k + 1] <= count) k++;
        return Math.Clamp(k, 0, _stages.Length - 1);
    }
}
