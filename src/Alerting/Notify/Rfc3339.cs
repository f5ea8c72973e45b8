using System.Globalization;
using System.Text.RegularExpressions;

namespace ExchangeHealth.Alerting.Notify;

/// <summary>RFC 3339 timestamps as Go's <c>time.Time</c> JSON encoding writes them (Alertmanager, Prometheus).</summary>
internal static partial class Rfc3339
{
    /// <summary>Go's zero time, which Alertmanager sends as <c>endsAt</c> of a firing alert.</summary>
    public static readonly DateTimeOffset GoZero = new(1, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [GeneratedRegex(@"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();

    /// <summary>UTC, fraction trimmed of trailing zeros (Go's RFC3339Nano): <c>2026-11-21T03:00:00.5Z</c>.</summary>
    public static string Format(DateTimeOffset value)
    {
        var utc = value.ToUniversalTime();
        string s = utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff", CultureInfo.InvariantCulture).TrimEnd('0').TrimEnd('.');
        return s + "Z";
    }

    /// <summary>Parses an RFC 3339 time with up to 9 fraction digits (beyond 100 ns truncated); false when malformed.</summary>
    public static bool TryParse(string? text, out DateTimeOffset value)
    {
        value = default;
        if (text is null) return false;
        var m = Pattern().Match(text);
        if (!m.Success) return false;
        int I(int g) => int.Parse(m.Groups[g].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture);
        try
        {
            TimeSpan offset = TimeSpan.Zero;
            if (!m.Groups[8].Success)
            {
                offset = new TimeSpan(I(10), I(11), 0);
                if (m.Groups[9].Value == "-") offset = -offset;
            }
            long fractionTicks = 0;
            if (m.Groups[7].Success)
            {
                string f = (m.Groups[7].Value + "0000000")[..7];
                fractionTicks = long.Parse(f, NumberStyles.None, CultureInfo.InvariantCulture);
            }
            value = new DateTimeOffset(I(1), I(2), I(3), I(4), I(5), I(6), offset).AddTicks(fractionTicks);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
