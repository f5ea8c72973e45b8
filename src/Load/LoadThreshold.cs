using System.Globalization;

namespace ExchangeHealth.Load;

/// <summary>What a <see cref="LoadThreshold"/> compares.</summary>
public enum ThresholdMetric
{
    /// <summary>A percentile of the response time (<see cref="LoadThreshold.Percentile"/> says which).</summary>
    Percentile,
    /// <summary>The largest response time.</summary>
    Max,
    /// <summary>The mean response time.</summary>
    Mean,
    /// <summary>Errors (see <see cref="LoadReport.Errors"/>): a share of the commands sent, or a count.</summary>
    Errors,
    /// <summary>Rejected acknowledgements: a share of the acknowledgements, or a count.</summary>
    Rejects,
    /// <summary>Dropped sends: a share of the scheduled commands, or a count.</summary>
    Dropped,
    /// <summary>Late sends: a share of the scheduled commands, or a count.</summary>
    Late,
    /// <summary>The achieved rate: acknowledgements per second.</summary>
    Rate,
}

/// <summary>How a threshold compares the actual value with its limit.</summary>
public enum ThresholdOperator
{
    /// <summary><c>&lt;</c></summary>
    Less,
    /// <summary><c>&lt;=</c></summary>
    LessOrEqual,
    /// <summary><c>&gt;</c></summary>
    Greater,
    /// <summary><c>&gt;=</c></summary>
    GreaterOrEqual,
}

/// <summary>The kind of number a threshold's limit is.</summary>
public enum ThresholdUnit
{
    /// <summary>A latency, nanoseconds.</summary>
    Nanoseconds,
    /// <summary>A share, percent (0..100).</summary>
    Percent,
    /// <summary>A count.</summary>
    Count,
    /// <summary>Commands per second.</summary>
    PerSecond,
}

/// <summary>The outcome of checking a threshold against a report.</summary>
/// <param name="Threshold">The threshold.</param>
/// <param name="Passed">Whether the actual value satisfies it.</param>
/// <param name="Actual">The actual value in the threshold's unit (ns, %, count, per second).</param>
/// <param name="ActualText">The actual value, formatted with its unit.</param>
public sealed record ThresholdResult(LoadThreshold Threshold, bool Passed, double Actual, string ActualText);

/// <summary>
/// A pass/fail criterion on a load run, written <c>METRIC OP VALUE[UNIT]</c>:
/// <list type="bullet">
/// <item><c>p50</c>, <c>p99</c>, <c>p99.9</c>, ... (any <c>pN</c>, 0 &lt; N ≤ 100), <c>max</c>, <c>mean</c>: response time, with a unit <c>ns</c>, <c>us</c>, <c>µs</c>, <c>ms</c> or <c>s</c> (<c>p99&lt;1ms</c>).</item>
/// <item><c>errors</c>, <c>rejects</c>, <c>dropped</c>, <c>late</c>: a share with <c>%</c> (<c>errors&lt;0.1%</c>) or a count without (<c>errors&lt;=0</c>).</item>
/// <item><c>rate</c>: achieved acknowledgements per second (<c>rate&gt;=5000</c>, <c>/s</c> optional).</item>
/// </list>
/// Operators: <c>&lt;</c>, <c>&lt;=</c>, <c>&gt;</c>, <c>&gt;=</c>. Spaces are allowed around them.
/// </summary>
/// <remarks>
/// Latency percentiles come from a log-linear histogram (<see cref="Engine.Diagnostics.LatencyHistogram"/>)
/// whose buckets are at most 1/128 (0.78 %) of their value wide; a percentile is reported as its
/// bucket's middle, within 0.4 % of the exact value. A threshold within that margin of the actual
/// value may pass or fail either way.
/// </remarks>
public sealed record LoadThreshold
{
    private LoadThreshold(string text, ThresholdMetric metric, double percentile, ThresholdOperator op, double limit, ThresholdUnit unit)
    {
        Text = text;
        Metric = metric;
        Percentile = percentile;
        Operator = op;
        Limit = limit;
        Unit = unit;
    }

    /// <summary>The threshold as written (trimmed).</summary>
    public string Text { get; }

    /// <summary>What is compared.</summary>
    public ThresholdMetric Metric { get; }

    /// <summary>For <see cref="ThresholdMetric.Percentile"/>: which one (e.g. 99.9); otherwise 0.</summary>
    public double Percentile { get; }

    /// <summary>The comparison.</summary>
    public ThresholdOperator Operator { get; }

    /// <summary>The limit, in <see cref="Unit"/> (nanoseconds, percent, count or per second).</summary>
    public double Limit { get; }

    /// <summary>The unit of <see cref="Limit"/>.</summary>
    public ThresholdUnit Unit { get; }

    /// <summary>Parses a threshold.</summary>
    /// <exception cref="FormatException">The text is not a valid threshold; the message names it and says what is wrong.</exception>
    public static LoadThreshold Parse(string text)
    {
        if (!TryParse(text, out var threshold, out string? error)) throw new FormatException(error);
        return threshold!;
    }

    /// <summary>Parses a threshold; on failure <paramref name="error"/> names the threshold and says what is wrong.</summary>
    public static bool TryParse(string? text, out LoadThreshold? threshold, out string? error)
    {
        threshold = null;
        string t = (text ?? "").Trim();
        string Bad(string why) => $"threshold '{t}': {why}";
        int opAt = t.IndexOfAny(['<', '>']);
        if (opAt < 0)
        {
            error = Bad(t.Contains('=', StringComparison.Ordinal) ? "'=' is not a comparison; use <, <=, > or >=" : "expected METRIC OP VALUE, e.g. p99<1ms, errors<0.1%, rate>=5000");
            return false;
        }
        string metricText = t[..opAt].Trim().ToLowerInvariant();
        bool orEqual = opAt + 1 < t.Length && t[opAt + 1] == '=';
        var op = t[opAt] == '<' ? (orEqual ? ThresholdOperator.LessOrEqual : ThresholdOperator.Less)
                                : (orEqual ? ThresholdOperator.GreaterOrEqual : ThresholdOperator.Greater);
        string valueText = t[(opAt + (orEqual ? 2 : 1))..].Trim();
        if (metricText.Length == 0) { error = Bad("the metric is missing before the operator"); return false; }
        if (valueText.Length == 0) { error = Bad("the value is missing after the operator"); return false; }

        ThresholdMetric metric;
        double percentile = 0;
        switch (metricText)
        {
            case "max": metric = ThresholdMetric.Max; break;
            case "mean" or "avg": metric = ThresholdMetric.Mean; break;
            case "errors" or "error": metric = ThresholdMetric.Errors; break;
            case "rejects" or "rejected": metric = ThresholdMetric.Rejects; break;
            case "dropped" or "drops": metric = ThresholdMetric.Dropped; break;
            case "late": metric = ThresholdMetric.Late; break;
            case "rate": metric = ThresholdMetric.Rate; break;
            default:
                if (metricText.Length > 1 && metricText[0] == 'p'
                    && double.TryParse(metricText[1..], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out percentile)
                    && percentile > 0 && percentile <= 100)
                {
                    metric = ThresholdMetric.Percentile;
                    break;
                }
                error = Bad(metricText.Length > 1 && metricText[0] == 'p'
                    ? $"'{metricText}' is not a percentile: use p followed by a number above 0 and at most 100 (p50, p99, p99.9)"
                    : $"unknown metric '{metricText}' (use pN, max, mean, errors, rejects, dropped, late or rate)");
                return false;
        }

        double limit;
        ThresholdUnit unit;
        switch (metric)
        {
            case ThresholdMetric.Percentile or ThresholdMetric.Max or ThresholdMetric.Mean:
                if (!SplitNumber(valueText, out double number, out string unitText))
                {
                    error = Bad($"'{valueText}' is not a latency (a number and a unit: ns, us, µs, ms or s, e.g. 1ms)");
                    return false;
                }
                if (unitText.Length == 0)
                {
                    error = Bad($"the latency '{valueText}' needs a unit: ns, us, µs, ms or s (e.g. {valueText}ms)");
                    return false;
                }
                if (LoadDurations.UnitFactor(unitText, allowMinutes: false, requireUnit: true) is not { } factor)
                {
                    error = Bad($"unknown unit '{unitText}' (use ns, us, µs, ms or s)");
                    return false;
                }
                limit = number * factor;
                unit = ThresholdUnit.Nanoseconds;
                break;
            case ThresholdMetric.Rate:
                string rateText = valueText.EndsWith("/s", StringComparison.Ordinal) ? valueText[..^2].Trim() : valueText;
                if (!double.TryParse(rateText, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out limit) || !double.IsFinite(limit))
                {
                    error = Bad($"'{valueText}' is not a rate (commands per second, e.g. 5000 or 5000/s)");
                    return false;
                }
                unit = ThresholdUnit.PerSecond;
                break;
            default:
                bool percent = valueText.EndsWith('%');
                string countText = percent ? valueText[..^1].Trim() : valueText;
                if (!double.TryParse(countText, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out limit) || !double.IsFinite(limit))
                {
                    error = Bad($"'{valueText}' is not a share or a count (e.g. 0.1% or 10)");
                    return false;
                }
                if (percent && limit > 100)
                {
                    error = Bad($"{limit.ToString(CultureInfo.InvariantCulture)}% is more than 100%");
                    return false;
                }
                unit = percent ? ThresholdUnit.Percent : ThresholdUnit.Count;
                break;
        }
        threshold = new LoadThreshold(t, metric, percentile, op, limit, unit);
        error = null;
        return true;
    }

    /// <summary>Checks the threshold against <paramref name="report"/>.</summary>
    public ThresholdResult Evaluate(LoadReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        double actual = Metric switch
        {
            ThresholdMetric.Percentile => report.ResponseTime.Count == 0 ? double.NaN : report.ResponseTime.ValueAtPercentile(Percentile),
            ThresholdMetric.Max => report.ResponseTime.Count == 0 ? double.NaN : report.ResponseTime.Max,
            ThresholdMetric.Mean => report.ResponseTime.Count == 0 ? double.NaN : report.ResponseTime.Mean,
            ThresholdMetric.Errors => Share(report.Errors, report.Sent),
            ThresholdMetric.Rejects => Share(report.Rejected, report.Acknowledged),
            ThresholdMetric.Dropped => Share(report.Dropped, report.Scheduled),
            ThresholdMetric.Late => Share(report.Late, report.Scheduled),
            _ => report.AchievedRate,
        };
        // No acknowledgement at all: a latency threshold cannot be met.
        bool passed = !double.IsNaN(actual) && Operator switch
        {
            ThresholdOperator.Less => actual < Limit,
            ThresholdOperator.LessOrEqual => actual <= Limit,
            ThresholdOperator.Greater => actual > Limit,
            _ => actual >= Limit,
        };
        return new ThresholdResult(this, passed, actual, Format(actual));
    }

    /// <summary>The limit formatted with its unit, e.g. <c>1.00ms</c>, <c>0.1%</c>, <c>5,000/s</c>.</summary>
    public string LimitText => Format(Limit);

    /// <summary>The operator as written: <c>&lt;</c>, <c>&lt;=</c>, <c>&gt;</c> or <c>&gt;=</c>.</summary>
    public string OperatorText => Operator switch
    {
        ThresholdOperator.Less => "<",
        ThresholdOperator.LessOrEqual => "<=",
        ThresholdOperator.Greater => ">",
        _ => ">=",
    };

    /// <inheritdoc/>
    public override string ToString() => Text;

    private double Share(long part, long whole) => Unit == ThresholdUnit.Percent
        ? (whole == 0 ? (part == 0 ? 0 : 100) : 100.0 * part / whole)
        : part;

    private string Format(double value) => double.IsNaN(value) ? "no acknowledgements" : Unit switch
    {
        ThresholdUnit.Nanoseconds => LoadDurations.FormatLatency(value),
        ThresholdUnit.Percent => value.ToString("0.####", CultureInfo.InvariantCulture) + "%",
        ThresholdUnit.Count => value.ToString("N0", CultureInfo.InvariantCulture),
        _ => LoadDurations.FormatRate(value),
    };

    private static bool SplitNumber(string text, out double number, out string unit)
    {
        int i = 0;
        while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.')) i++;
        unit = text[i..].Trim();
        return double.TryParse(text[..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out number) && double.IsFinite(number);
    }
}
