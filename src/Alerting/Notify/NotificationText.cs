using System.Globalization;
using ExchangeHealth.Alerting.Model;

namespace ExchangeHealth.Alerting.Notify;

/// <summary>What a human-readable notification says, shared by the Slack and console notifiers.</summary>
internal static class NotificationText
{
    /// <summary>Labels that say where the problem is, in display order.</summary>
    public static readonly string[] WhereLabels = ["market", "instance", "job", "service"];

    public static int FiringCount(Notification n) => n.Alerts.Count(a => a.StatusAt(n.CreatedAt) == AlertStatus.Firing);

    public static int ResolvedCount(Notification n) => n.Alerts.Count - FiringCount(n);

    public static string StatusWord(Notification n) => n.Status == AlertStatus.Firing ? "FIRING" : "RESOLVED";

    /// <summary>The alert name: group label, common label, or the first alert's; "alert" when none has one.</summary>
    public static string AlertName(Notification n)
    {
        string name = n.GroupLabels["alertname"];
        if (name.Length == 0) name = n.CommonLabels["alertname"];
        if (name.Length == 0 && n.Alerts.Count > 0)
        {
            var names = n.Alerts.Select(a => a.Name).Where(s => s.Length > 0).Distinct(StringComparer.Ordinal).ToList();
            name = names.Count switch { 0 => "", 1 => names[0], _ => string.Join(", ", names.Take(3)) + (names.Count > 3 ? ", ..." : "") };
        }
        return name.Length == 0 ? "alert" : name;
    }

    /// <summary>An annotation: the common one, else the first firing alert's, else the first alert's; "" when none.</summary>
    public static string Annotation(Notification n, string name)
    {
        string v = n.CommonAnnotations[name];
        if (v.Length > 0) return v;
        foreach (var a in n.Alerts.Where(a => a.StatusAt(n.CreatedAt) == AlertStatus.Firing))
        {
            v = a.Annotations[name];
            if (v.Length > 0) return v;
        }
        foreach (var a in n.Alerts)
        {
            v = a.Annotations[name];
            if (v.Length > 0) return v;
        }
        return "";
    }

    /// <summary>What is wrong: annotation <c>summary</c>, else <c>description</c>, else "".</summary>
    public static string What(Notification n)
    {
        string s = Annotation(n, "summary");
        return s.Length > 0 ? s : Annotation(n, "description");
    }

    /// <summary>Where: <c>market=BTC-USD, instance=engine-1</c> from the common labels, or the distinct values across alerts (at most 3 each).</summary>
    public static string Where(Notification n)
    {
        var parts = new List<string>();
        foreach (string label in WhereLabels)
        {
            string common = n.CommonLabels[label];
            if (common.Length > 0)
            {
                parts.Add(label + "=" + common);
                continue;
            }
            var values = n.Alerts.Select(a => a.Labels[label]).Where(v => v.Length > 0).Distinct(StringComparer.Ordinal).ToList();
            if (values.Count == 0) continue;
            parts.Add(label + "=" + string.Join("|", values.Take(3)) + (values.Count > 3 ? $"|+{values.Count - 3}" : ""));
        }
        return string.Join(", ", parts);
    }

    /// <summary>The first firing alert's value, else the first alert's (NaN when none).</summary>
    public static double Value(Notification n)
    {
        var a = n.Alerts.FirstOrDefault(a => a.StatusAt(n.CreatedAt) == AlertStatus.Firing) ?? n.Alerts.FirstOrDefault();
        return a?.Value ?? double.NaN;
    }

    public static DateTimeOffset? StartedAt(Notification n) => n.Alerts.Count == 0 ? null : n.Alerts.Min(a => a.StartsAt);

    public static DateTimeOffset? ResolvedAt(Notification n) =>
        n.Status == AlertStatus.Resolved && n.Alerts.Count > 0 ? n.Alerts.Max(a => a.EndsAt ?? n.CreatedAt) : null;

    /// <summary>
    /// Prometheus's <c>humanize</c> template function: SI prefixes (k, M, G, ... and m, u, n, ...)
    /// with four significant digits, e.g. 1234567 → <c>1.235M</c>, 0.00025 → <c>250u</c>.
    /// </summary>
    public static string Humanize(double v)
    {
        if (v == 0 || !double.IsFinite(v)) return FormatG4(v);
        string prefix = "";
        if (Math.Abs(v) >= 1)
        {
            foreach (string p in (string[])["k", "M", "G", "T", "P", "E", "Z", "Y"])
            {
                if (Math.Abs(v) < 1000) break;
                prefix = p;
                v /= 1000;
            }
            return FormatG4(v) + prefix;
        }
        foreach (string p in (string[])["m", "u", "n", "p", "f", "a", "z", "y"])
        {
            if (Math.Abs(v) >= 1) break;
            prefix = p;
            v *= 1000;
        }
        return FormatG4(v) + prefix;
    }

    /// <summary>A threshold annotation humanized when it is a number, else as written.</summary>
    public static string HumanizeText(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) ? Humanize(d) : text;

    /// <summary>
    /// Annotation <c>error_budget_remaining</c> as a percentage: a number is a ratio (0.42 → <c>42%</c>,
    /// as our SLO rules compute it); text ending in <c>%</c> is shown as written; "" when absent.
    /// </summary>
    public static string BudgetPercent(string annotation)
    {
        string t = annotation.Trim();
        if (t.Length == 0 || t.EndsWith('%')) return t;
        return double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double ratio)
            ? (ratio * 100).ToString("0.#", CultureInfo.InvariantCulture) + "%"
            : t;
    }

    public static string Utc(DateTimeOffset t) => t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    private static string FormatG4(double v)
    {
        if (double.IsNaN(v)) return "NaN";
        if (double.IsPositiveInfinity(v)) return "+Inf";
        if (double.IsNegativeInfinity(v)) return "-Inf";
        return v.ToString("G4", CultureInfo.InvariantCulture);
    }
}
