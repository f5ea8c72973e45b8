using System.Text;

namespace ExchangeHealth.Telemetry;

/// <summary>
/// Converts OpenTelemetry instrument names, units and attribute keys to Prometheus metric and
/// label names, following the OpenTelemetry specification "Prometheus and OpenMetrics
/// Compatibility" (section "OTLP Metric points to Prometheus", "Metric Metadata" and
/// "Metric Attributes").
/// </summary>
/// <remarks>
/// <para>
/// Metric names: every character outside <c>[a-zA-Z0-9_:]</c> becomes <c>_</c>, runs of <c>_</c>
/// collapse to one, a leading digit gets a <c>_</c> in front. The unit (UCUM, as given to
/// <c>Meter.CreateCounter(name, unit, ...)</c>) becomes a suffix unless the name already ends with
/// it: <c>s</c> → <c>_seconds</c>, <c>ms</c> → <c>_milliseconds</c>, <c>By</c> → <c>_bytes</c>,
/// <c>By/s</c> → <c>_bytes_per_second</c>, <c>1</c> → <c>_ratio</c> (gauges only); annotations in
/// braces such as <c>{order}</c> are dropped and add no suffix. Counters then get <c>_total</c>
/// (an existing <c>_total</c> is moved after the unit).
/// </para>
/// <para>
/// Examples: <c>exh.order_ack.latency</c> (histogram, <c>s</c>) → <c>exh_order_ack_latency_seconds</c>;
/// <c>exh.orders.received</c> (counter, <c>{order}</c>) → <c>exh_orders_received_total</c>;
/// <c>exh.inbound_queue.depth</c> (up-down counter, <c>{command}</c>) → <c>exh_inbound_queue_depth</c>.
/// </para>
/// </remarks>
public static class PrometheusNaming
{
    /// <summary>UCUM unit → (Prometheus plural word, singular word for the <c>per_</c> form).</summary>
    private static readonly Dictionary<string, (string Plural, string Singular)> _units = new(StringComparer.Ordinal)
    {
        // time
        ["d"] = ("days", "day"),
        ["h"] = ("hours", "hour"),
        ["min"] = ("minutes", "minute"),
        ["s"] = ("seconds", "second"),
        ["ms"] = ("milliseconds", "millisecond"),
        ["us"] = ("microseconds", "microsecond"),
        ["ns"] = ("nanoseconds", "nanosecond"),
        ["wk"] = ("weeks", "week"),
        ["mo"] = ("months", "month"),
        ["a"] = ("years", "year"),
        // information
        ["bit"] = ("bits", "bit"),
        ["By"] = ("bytes", "byte"),
        ["KiBy"] = ("kibibytes", "kibibyte"),
        ["MiBy"] = ("mebibytes", "mebibyte"),
        ["GiBy"] = ("gibibytes", "gibibyte"),
        ["TiBy"] = ("tebibytes", "tebibyte"),
        ["kBy"] = ("kilobytes", "kilobyte"),
        ["KBy"] = ("kilobytes", "kilobyte"),
        ["MBy"] = ("megabytes", "megabyte"),
        ["GBy"] = ("gigabytes", "gigabyte"),
        ["TBy"] = ("terabytes", "terabyte"),
        // SI and others
        ["m"] = ("meters", "meter"),
        ["g"] = ("grams", "gram"),
        ["V"] = ("volts", "volt"),
        ["A"] = ("amperes", "ampere"),
        ["J"] = ("joules", "joule"),
        ["W"] = ("watts", "watt"),
        ["Hz"] = ("hertz", "hertz"),
        ["Cel"] = ("celsius", "celsius"),
        ["%"] = ("percent", "percent"),
    };

    /// <summary>
    /// The Prometheus metric family name for an OpenTelemetry instrument: the name used on the
    /// <c># TYPE</c> line and by counter and gauge samples; histogram samples add <c>_bucket</c>,
    /// <c>_sum</c> and <c>_count</c> to it.
    /// </summary>
    /// <param name="instrumentName">The instrument (or view) name, e.g. <c>exh.match.latency</c>.</param>
    /// <param name="unit">The UCUM unit, e.g. <c>s</c>, <c>By</c>, <c>{order}</c>, <c>1</c>; null or empty for none.</param>
    /// <param name="type">The Prometheus type the metric is exposed as (decides <c>_total</c> and <c>_ratio</c>).</param>
    /// <returns>A name matching <c>[a-zA-Z_:][a-zA-Z0-9_:]*</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="instrumentName"/> is null.</exception>
    public static string GetMetricName(string instrumentName, string? unit, PrometheusMetricType type)
    {
        ArgumentNullException.ThrowIfNull(instrumentName);
        string name = Sanitize(instrumentName, allowColon: true).TrimEnd('_');
        bool counter = type == PrometheusMetricType.Counter;
        if (counter && name.EndsWith("_total", StringComparison.Ordinal))
            name = name[..^"_total".Length];

        string unitSuffix = GetUnitSuffix(unit, type);
        if (unitSuffix.Length > 0 && !name.EndsWith("_" + unitSuffix, StringComparison.Ordinal) && name != unitSuffix)
            name = name.Length == 0 ? unitSuffix : name + "_" + unitSuffix;

        if (counter)
            name = name.Length == 0 ? "total" : name + "_total";
        if (name.Length == 0)
            name = "_";
        return name;
    }

    /// <summary>
    /// The unit suffix (without the leading <c>_</c>) for a UCUM unit, or an empty string when the
    /// unit adds none.
    /// </summary>
    /// <param name="unit">The UCUM unit, e.g. <c>s</c>, <c>By/s</c>, <c>{order}</c>, <c>1</c>; null or empty for none.</param>
    /// <param name="type">The Prometheus type: <c>1</c> becomes <c>ratio</c> only for <see cref="PrometheusMetricType.Gauge"/>.</param>
    /// <returns>For example <c>seconds</c>, <c>bytes_per_second</c>, <c>ratio</c>, or <c>""</c>.</returns>
    /// <remarks>
    /// Portions in braces are annotations ("a count of orders") and are dropped, so
    /// <c>{order}</c> gives no suffix and <c>{request}/s</c> gives <c>per_second</c>. A unit that is
    /// not in the table is sanitized and used as it is (<c>packets</c> → <c>packets</c>).
    /// </remarks>
    public static string GetUnitSuffix(string? unit, PrometheusMetricType type)
    {
        if (string.IsNullOrWhiteSpace(unit))
            return string.Empty;
        string u = RemoveAnnotations(unit).Trim();
        if (u.Length == 0)
            return string.Empty;
        if (u == "1")
            return type == PrometheusMetricType.Gauge ? "ratio" : string.Empty;

        int slash = u.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
            return UnitWord(u, singular: false);

        string numerator = u[..slash].Trim();
        string denominator = u[(slash + 1)..].Trim();
        string top = numerator is "" or "1" ? string.Empty : UnitWord(numerator, singular: false);
        string bottom = denominator is "" or "1" ? string.Empty : UnitWord(denominator, singular: true);
        if (bottom.Length == 0)
            return top;
        return top.Length == 0 ? "per_" + bottom : top + "_per_" + bottom;
    }

    /// <summary>
    /// The Prometheus label name for an OpenTelemetry attribute key: characters outside
    /// <c>[a-zA-Z0-9_]</c> become <c>_</c>, runs of <c>_</c> collapse to one, a leading digit gets a
    /// <c>_</c> in front (so <c>http.request.method</c> → <c>http_request_method</c>).
    /// </summary>
    /// <param name="attributeKey">The attribute (tag) key.</param>
    /// <returns>A name matching <c>[a-zA-Z_][a-zA-Z0-9_]*</c>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="attributeKey"/> is null.</exception>
    /// <remarks>
    /// Two keys can map to the same label name (<c>a.b</c> and <c>a_b</c>); the exporter then joins
    /// their values with <c>;</c> in the ordinal order of the original keys, as the specification asks.
    /// </remarks>
    public static string GetLabelName(string attributeKey)
    {
        ArgumentNullException.ThrowIfNull(attributeKey);
        string name = Sanitize(attributeKey, allowColon: false);
        return name.Length == 0 ? "_" : name;
    }

    private static string UnitWord(string ucum, bool singular)
    {
        if (_units.TryGetValue(ucum, out var words))
            return singular ? words.Singular : words.Plural;
        return Sanitize(ucum, allowColon: false).Trim('_');
    }

    private static string RemoveAnnotations(string unit)
    {
        if (!unit.Contains('{', StringComparison.Ordinal))
            return unit;
        var sb = new StringBuilder(unit.Length);
        int depth = 0;
        foreach (char c in unit)
        {
            if (c == '{') depth++;
            else if (c == '}' && depth > 0) depth--;
            else if (depth == 0) sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>Replaces invalid characters with <c>_</c>, collapses runs of <c>_</c>, guards a leading digit.</summary>
    private static string Sanitize(string value, bool allowColon)
    {
        var sb = new StringBuilder(value.Length + 1);
        foreach (char c in value)
        {
            bool valid = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_'
                || (allowColon && c == ':');
            char output = valid ? c : '_';
            if (output == '_' && sb.Length > 0 && sb[^1] == '_')
                continue;
            sb.Append(output);
        }
        if (sb.Length > 0 && char.IsAsciiDigit(sb[0]))
            sb.Insert(0, '_');
        return sb.ToString();
    }
}
