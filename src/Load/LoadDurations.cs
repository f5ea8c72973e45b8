using System.Globalization;

namespace ExchangeHealth.Load;

/// <summary>Parsing and formatting of the durations, latencies and rates the load driver's options take.</summary>
public static class LoadDurations
{
    /// <summary>
    /// Parses a duration: a non-negative decimal number and a unit <c>ns</c>, <c>us</c>, <c>µs</c>,
    /// <c>ms</c>, <c>s</c>, <c>m</c> or <c>h</c> (e.g. <c>30s</c>, <c>1.5m</c>, <c>250ms</c>); a bare
    /// number is seconds.
    /// </summary>
    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (!TryParseNanoseconds(text, allowMinutes: true, requireUnit: false, out double ns)) return false;
        if (ns > TimeSpan.MaxValue.Ticks * 100.0) return false;
        duration = TimeSpan.FromTicks((long)Math.Round(ns / 100.0));
        return true;
    }

    /// <summary>
    /// Parses <c>NUMBER UNIT</c> into nanoseconds. Units: <c>ns</c>, <c>us</c>, <c>µs</c> (or
    /// <c>μs</c>), <c>ms</c>, <c>s</c>, and with <paramref name="allowMinutes"/> <c>m</c>, <c>h</c>.
    /// </summary>
    internal static bool TryParseNanoseconds(string? text, bool allowMinutes, bool requireUnit, out double nanoseconds)
    {
        nanoseconds = 0;
        if (string.IsNullOrWhiteSpace(text)) return false;
        string t = text.Trim();
        int split = t.Length;
        while (split > 0 && !char.IsAsciiDigit(t[split - 1]) && t[split - 1] != '.') split--;
        string number = t[..split].Trim();
        string unit = t[split..].Trim();
        if (number.Length == 0) return false;
        if (!double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value) || !double.IsFinite(value))
            return false;
        double? factor = UnitFactor(unit, allowMinutes, requireUnit);
        if (factor is null) return false;
        nanoseconds = value * factor.Value;
        return true;
    }

    /// <summary>Nanoseconds per unit, or null for an unknown unit.</summary>
    internal static double? UnitFactor(string unit, bool allowMinutes, bool requireUnit) => unit switch
    {
        "" => requireUnit ? null : 1e9,
        "ns" => 1,
        "us" or "\u00b5s" or "\u03bcs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" or "min" when allowMinutes => 60e9,
        "h" when allowMinutes => 3600e9,
        _ => null,
    };

    /// <summary>Formats a duration briefly: <c>250ms</c>, <c>30s</c>, <c>1.5m</c>, <c>2h</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        double s = duration.TotalSeconds;
        if (s >= 3600 && s % 3600 == 0) return (s / 3600).ToString("0.###", CultureInfo.InvariantCulture) + "h";
        if (s >= 60 && s % 60 == 0) return (s / 60).ToString("0.###", CultureInfo.InvariantCulture) + "m";
        if (s >= 1) return s.ToString("0.###", CultureInfo.InvariantCulture) + "s";
        return (s * 1000).ToString("0.###", CultureInfo.InvariantCulture) + "ms";
    }

    /// <summary>Formats a latency in nanoseconds with a readable unit: <c>850ns</c>, <c>85.2µs</c>, <c>1.25ms</c>, <c>2.10s</c> (3 significant digits).</summary>
    public static string FormatLatency(double nanoseconds)
    {
        if (double.IsNaN(nanoseconds)) return "-";
        double abs = Math.Abs(nanoseconds);
        if (abs < 1_000) return nanoseconds.ToString("0", CultureInfo.InvariantCulture) + "ns";
        if (abs < 1_000_000) return Significant(nanoseconds / 1e3) + "µs";
        if (abs < 1_000_000_000) return Significant(nanoseconds / 1e6) + "ms";
        return Significant(nanoseconds / 1e9) + "s";
    }

    /// <summary>Formats a rate: <c>4,998/s</c>.</summary>
    public static string FormatRate(double perSecond) => perSecond.ToString("N0", CultureInfo.InvariantCulture) + "/s";

    private static string Significant(double v) => Math.Abs(v) switch
    {
        < 10 => v.ToString("0.00", CultureInfo.InvariantCulture),
        < 100 => v.ToString("0.0", CultureInfo.InvariantCulture),
        _ => v.ToString("0", CultureInfo.InvariantCulture),
    };
}
