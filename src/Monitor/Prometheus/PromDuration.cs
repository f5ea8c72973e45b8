using System.Globalization;
using System.Text;

namespace ExchangeHealth.Monitor.Prometheus;

/// <summary>
/// Prometheus durations (<c>model.Duration</c>): one or more <c>&lt;number&gt;&lt;unit&gt;</c>
/// terms, units <c>y w d h m s ms</c> in decreasing order, each at most once, e.g. <c>1h30m</c>,
/// <c>5m</c>, <c>0s</c>. A year is 365 days and a week 7 days, as in Prometheus.
/// </summary>
public static class PromDuration
{
    private static readonly (string Unit, long Ms)[] Units =
    [
        ("y", 365L * 24 * 3600 * 1000), ("w", 7L * 24 * 3600 * 1000), ("d", 24L * 3600 * 1000),
        ("h", 3600L * 1000), ("m", 60L * 1000), ("s", 1000L), ("ms", 1L),
    ];

    /// <summary>Parses <paramref name="text"/>; false (with a reason) when it is not a Prometheus duration.</summary>
    public static bool TryParse(string? text, out TimeSpan value, out string error)
    {
        value = TimeSpan.Zero;
        error = "";
        if (string.IsNullOrEmpty(text)) { error = "empty duration"; return false; }
        if (text == "0") return true;
        long total = 0;
        int lastUnit = -1;
        int i = 0;
        while (i < text.Length)
        {
            int start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i])) i++;
            if (i == start) { error = $"'{text}' is not a duration (expected e.g. 30s, 5m, 1h30m)"; return false; }
            if (!long.TryParse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out long n))
            { error = $"'{text}': number too large"; return false; }
            int unitStart = i;
            while (i < text.Length && char.IsAsciiLetter(text[i])) i++;
            string unit = text[unitStart..i];
            int u = Array.FindIndex(Units, x => x.Unit == unit);
            if (u < 0) { error = $"'{text}': unknown unit '{unit}' (use y, w, d, h, m, s, ms)"; return false; }
            if (u <= lastUnit) { error = $"'{text}': units must appear once each, largest first"; return false; }
            lastUnit = u;
            try { total = checked(total + checked(n * Units[u].Ms)); }
            catch (OverflowException) { error = $"'{text}': duration too large"; return false; }
        }
        value = TimeSpan.FromMilliseconds(total);
        return true;
    }

    /// <summary>Parses <paramref name="text"/>.</summary>
    /// <exception cref="FormatException">Not a Prometheus duration; the message says why.</exception>
    public static TimeSpan Parse(string text) =>
        TryParse(text, out var value, out string error) ? value : throw new FormatException(error);

    /// <summary>Formats like Prometheus: <c>1h30m</c>, <c>5m</c>, <c>1d</c>, <c>250ms</c>, <c>0s</c>; sub-millisecond parts are dropped.</summary>
    public static string Format(TimeSpan value)
    {
        long ms = (long)value.TotalMilliseconds;
        if (ms == 0) return "0s";
        var sb = new StringBuilder();
        if (ms < 0) { sb.Append('-'); ms = -ms; }
        foreach (var (unit, size) in Units)
        {
            if (ms < size) continue;
            // Prometheus prints weeks and years only when they divide the value exactly.
            if ((unit == "y" || unit == "w") && ms % size != 0) continue;
            sb.Append((ms / size).ToString(CultureInfo.InvariantCulture)).Append(unit);
            ms %= size;
        }
        return sb.ToString();
    }
}
