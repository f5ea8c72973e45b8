using System.Globalization;

namespace ExchangeHealth.Monitor.Reports;

/// <summary>
/// Numbers for humans in SLO reports (invariant culture, a space before units): <c>99.95 %</c>,
/// <c>21.6 min</c>, <c>1 h 51 min</c>, <c>14.4x</c>, <c>25,920,000</c>, <c>2025-03-20 12:00 UTC</c>.
/// </summary>
internal static class SloFormat
{
    private static readonly CultureInfo _inv = CultureInfo.InvariantCulture;

    /// <summary>Decimals that make an achieved SLI comparable with its objective: one more than the objective has, at least 2 (99.95 -> 3).</summary>
    public static int SliDecimals(double objectivePercent)
    {
        string text = objectivePercent.ToString("0.##########", _inv);
        int dot = text.IndexOf('.', StringComparison.Ordinal);
        int decimals = dot < 0 ? 0 : text.Length - dot - 1;
        return Math.Clamp(decimals + 1, 2, 6);
    }

    /// <summary>
    /// An achieved SLI (ratio 0..1) as a percentage with <see cref="SliDecimals"/> decimals, rounded
    /// down so that a value below the objective never prints as meeting it (0.99949 at objective
    /// 99.95 is <c>99.949 %</c>, not <c>99.95 %</c>); exactly 1 is <c>100 %</c>.
    /// </summary>
    public static string Sli(double ratio, double objectivePercent)
    {
        if (ratio >= 1) return "100 %";
        int decimals = SliDecimals(objectivePercent);
        double scale = Math.Pow(10, decimals);
        // Tolerate binary noise (0.9995 * 100 = 99.94999...) before rounding down.
        double floored = Math.Floor((ratio * 100 * scale) + 1e-6) / scale;
        return floored.ToString("F" + decimals.ToString(_inv), _inv) + " %";
    }

    /// <summary>An objective in percent as written in the spec: <c>99.95 %</c>.</summary>
    public static string Objective(double objectivePercent) => objectivePercent.ToString("0.######", _inv) + " %";

    /// <summary>A share of the error budget (1 = all of it) with one decimal: <c>86.1 %</c>, <c>-12.5 %</c> when overspent.</summary>
    public static string BudgetPercent(double fraction) => Fixed(fraction * 100, 1) + " %";

    /// <summary>
    /// An error ratio (0..1) as a percentage with 3 significant digits: <c>10 %</c>, <c>0.0139 %</c>, <c>0 %</c>.
    /// </summary>
    public static string ErrorPercent(double ratio)
    {
        double p = ratio * 100;
        if (p == 0) return "0 %";
        int magnitude = (int)Math.Floor(Math.Log10(Math.Abs(p)));
        int decimals = Math.Clamp(2 - magnitude, 0, 8);
        return Math.Round(p, decimals).ToString("0." + new string('#', Math.Max(decimals, 1)), _inv) + " %";
    }

    /// <summary>
    /// An amount of error budget as time: seconds under a minute (<c>42 s</c>), one-decimal minutes
    /// under 100 minutes (<c>21.6 min</c>), hours under 48 hours (<c>7.2 h</c>), then days (<c>3.1 d</c>).
    /// Negative amounts keep their sign (overspent budget).
    /// </summary>
    public static string BudgetTime(TimeSpan span)
    {
        string sign = span < TimeSpan.Zero ? "-" : "";
        var a = span.Duration();
        if (a < TimeSpan.FromMinutes(1)) return sign + Math.Round(a.TotalSeconds).ToString("0", _inv) + " s";
        if (a < TimeSpan.FromMinutes(100)) return sign + Fixed(a.TotalMinutes, 1) + " min";
        if (a < TimeSpan.FromHours(48)) return sign + Fixed(a.TotalHours, 1) + " h";
        return sign + Fixed(a.TotalDays, 1) + " d";
    }

    /// <summary>A duration of an incident: <c>42 s</c>, <c>55 min</c>, <c>1 h 51 min</c>, <c>2 d 3 h</c> (rounded to the unit shown).</summary>
    public static string Duration(TimeSpan span)
    {
        var a = span.Duration();
        if (a < TimeSpan.FromMinutes(1)) return Math.Round(a.TotalSeconds).ToString("0", _inv) + " s";
        long minutes = (long)Math.Round(a.TotalMinutes);
        if (minutes < 60) return minutes.ToString(_inv) + " min";
        if (minutes < 48 * 60)
        {
            long h = minutes / 60, m = minutes % 60;
            return m == 0 ? $"{h.ToString(_inv)} h" : $"{h.ToString(_inv)} h {m.ToString(_inv)} min";
        }
        long hours = (long)Math.Round(a.TotalHours);
        long d = hours / 24, rh = hours % 24;
        return rh == 0 ? $"{d.ToString(_inv)} d" : $"{d.ToString(_inv)} d {rh.ToString(_inv)} h";
    }

    /// <summary>A burn rate: <c>0.28x</c>, <c>14.4x</c>, <c>120x</c>.</summary>
    public static string Rate(double rate)
    {
        string format = Math.Abs(rate) < 10 ? "0.##" : Math.Abs(rate) < 100 ? "0.#" : "0";
        return rate.ToString(format, _inv) + "x";
    }

    /// <summary>An event count with thousands separators: <c>25,920,000</c>.</summary>
    public static string Count(double count) => Math.Round(count).ToString("#,0", _inv);

    /// <summary>A UTC time to the minute: <c>2025-03-20 12:00 UTC</c>.</summary>
    public static string Time(DateTimeOffset time) => time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm", _inv) + " UTC";

    /// <summary>A UTC time to the second: <c>2025-03-20 12:00:05 UTC</c>.</summary>
    public static string TimeSeconds(DateTimeOffset time) => time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", _inv) + " UTC";

    /// <summary>Fixed decimals without a negative zero (<c>-0.0</c> prints as <c>0.0</c>).</summary>
    private static string Fixed(double value, int decimals)
    {
        double r = Math.Round(value, decimals);
        if (r == 0) r = 0;
        return r.ToString("F" + decimals.ToString(_inv), _inv);
    }
}
