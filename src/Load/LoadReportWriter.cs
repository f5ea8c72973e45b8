using System.Globalization;
using System.Text;
using System.Text.Json;
using ExchangeHealth.Engine.Diagnostics;

namespace ExchangeHealth.Load;

/// <summary>
/// Writes a <see cref="LoadReport"/> as JSON (<c>load-report.json</c>), CSV (<c>load-report.csv</c>:
/// the per-second timeline) and Markdown (<c>load-report.md</c>: parameters, results, latency
/// percentiles, rejects, errors, thresholds, definitions and the timeline).
/// </summary>
/// <remarks>
/// JSON keys are snake_case; latencies are in microseconds with three decimals (keys end in
/// <c>_us</c>); shares are fractions 0..1 (keys end in <c>_share</c>); rates are per second.
/// </remarks>
public static class LoadReportWriter
{
    /// <summary>File name of the JSON report.</summary>
    public const string JsonFileName = "load-report.json";
    /// <summary>File name of the CSV timeline.</summary>
    public const string CsvFileName = "load-report.csv";
    /// <summary>File name of the Markdown report.</summary>
    public const string MarkdownFileName = "load-report.md";

    /// <summary>The CSV header: one row per timeline interval (normally one second).</summary>
    public const string CsvHeader =
        "second,elapsed_s,interval_s,offered,sent,acknowledged,rejected,errors,late,dropped,in_flight,p50_us,p90_us,p99_us,max_us";

    /// <summary>Writes the three files into <paramref name="directory"/> (created when missing) and returns their paths.</summary>
    /// <exception cref="IOException">A file cannot be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory is not writable.</exception>
    public static IReadOnlyList<string> WriteAll(LoadReport report, string directory)
    {
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(directory);
        string json = Path.Combine(directory, JsonFileName);
        string csv = Path.Combine(directory, CsvFileName);
        string md = Path.Combine(directory, MarkdownFileName);
        File.WriteAllText(json, ToJson(report));
        File.WriteAllText(csv, ToCsv(report));
        File.WriteAllText(md, ToMarkdown(report));
        return [md, csv, json];
    }

    // ------------------------------------------------------------------ JSON

    /// <summary>The report as one indented JSON object.</summary>
    public static string ToJson(LoadReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("tool", "exh load");
            w.WriteString("started_at", r.StartedAt.ToString("O", CultureInfo.InvariantCulture));
            w.WriteString("target", r.Target);
            w.WriteString("model", r.Model == LoadModel.Open ? "open" : "closed");
            w.WriteString("load_shape", r.LoadShape);
            w.WriteNumber("connections", r.Connections);
            w.WriteStartArray("accounts");
            foreach (long a in r.Accounts) w.WriteNumberValue(a);
            w.WriteEndArray();
            w.WriteString("workload", r.Workload);
            w.WriteString("stop_reason", StopReasonName(r.StopReason));
            if (r.StopMessage is null) w.WriteNull("stop_message"); else w.WriteString("stop_message", r.StopMessage);
            if (r.Duration is { } d) w.WriteNumber("duration_seconds", d.TotalSeconds); else w.WriteNull("duration_seconds");
            if (r.Count is { } n) w.WriteNumber("count_limit", n); else w.WriteNull("count_limit");
            w.WriteNumber("send_window_seconds", Math.Round(r.SendWindow.TotalSeconds, 6));
            w.WriteNumber("elapsed_seconds", Math.Round(r.Elapsed.TotalSeconds, 6));

            w.WriteStartObject("counts");
            w.WriteNumber("scheduled", r.Scheduled);
            w.WriteNumber("sent", r.Sent);
            w.WriteNumber("acknowledged", r.Acknowledged);
            w.WriteNumber("accepted", r.Acknowledged - r.Rejected);
            w.WriteNumber("rejected", r.Rejected);
            w.WriteNumber("late", r.Late);
            w.WriteNumber("dropped", r.Dropped);
            w.WriteNumber("not_sent", r.NotSent);
            w.WriteNumber("unacknowledged", r.Unacknowledged);
            w.WriteNumber("session_errors", r.SessionErrorCount);
            w.WriteNumber("connection_errors", r.ConnectionErrors.Count);
            w.WriteNumber("errors", r.Errors);
            w.WriteNumber("skipped", r.Skipped);
            w.WriteEndObject();

            w.WriteNumber("error_share", Math.Round(r.ErrorShare, 8));
            w.WriteNumber("reject_share", Math.Round(r.RejectShare, 8));
            w.WriteNumber("late_threshold_us", Micro(r.LateThreshold.TotalNanoseconds));
            w.WriteNumber("max_lateness_us", Micro(r.MaxLateness.TotalNanoseconds));
            w.WriteNumber("max_in_flight_per_connection", r.MaxInFlightPerConnection);

            w.WriteStartObject("rates");
            if (r.OfferedRate is { } offered) w.WriteNumber("offered_per_second", Math.Round(offered, 3)); else w.WriteNull("offered_per_second");
            w.WriteNumber("sent_per_second", Math.Round(r.SentRate, 3));
            w.WriteNumber("achieved_per_second", Math.Round(r.AchievedRate, 3));
            w.WriteEndObject();

            w.WriteStartObject("latency");
            w.WriteString("response_time_measured_from", r.Model == LoadModel.Open ? "intended send time (schedule slot)" : "send time");
            w.WriteString("service_time_measured_from", "actual send time");
            w.WriteString("unit", "microseconds");
            w.WriteNumber("histogram_relative_error", LoadReport.HistogramRelativeError);
            w.WriteNumber("percentile_error_bound", LoadReport.HistogramRelativeError / 2);
            WriteLatency(w, "response_time", r.ResponseTime);
            WriteLatency(w, "service_time", r.ServiceTime);
            w.WriteEndObject();

            w.WriteStartArray("rejects_by_reason");
            foreach (var x in r.RejectsByReason)
            {
                w.WriteStartObject();
                w.WriteString("reason", x.Name);
                w.WriteString("category", x.Category);
                w.WriteNumber("count", x.Count);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("session_errors");
            foreach (var x in r.SessionErrors)
            {
                w.WriteStartObject();
                w.WriteString("code", x.Name);
                w.WriteNumber("count", x.Count);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartArray("connection_errors");
            foreach (var x in r.ConnectionErrors)
            {
                w.WriteStartObject();
                w.WriteNumber("connection", x.Connection);
                w.WriteNumber("account", x.AccountId);
                w.WriteNumber("elapsed_seconds", Math.Round(x.ElapsedSeconds, 3));
                w.WriteString("message", x.Message);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteStartObject("workload_counters");
            foreach (var c in r.WorkloadCounters) w.WriteNumber(c.Name, c.Value);
            w.WriteEndObject();
            if (r.PreFill is { } p)
            {
                w.WriteStartObject("prefill");
                w.WriteNumber("commands", p.Commands);
                w.WriteNumber("acknowledged", p.Acknowledged);
                w.WriteNumber("rejected", p.Rejected);
                w.WriteNumber("elapsed_seconds", Math.Round(p.Elapsed.TotalSeconds, 6));
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("prefill");
            }

            w.WriteStartArray("thresholds");
            foreach (var t in r.Thresholds)
            {
                w.WriteStartObject();
                w.WriteString("threshold", t.Threshold.Text);
                w.WriteBoolean("passed", t.Passed);
                w.WriteString("actual", t.ActualText);
                if (double.IsFinite(t.Actual)) w.WriteNumber("actual_value", t.Actual); else w.WriteNull("actual_value");
                w.WriteNumber("limit_value", t.Threshold.Limit);
                w.WriteString("unit", UnitName(t.Threshold.Unit));
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteBoolean("thresholds_passed", r.ThresholdsPassed);

            w.WriteStartArray("timeline");
            foreach (var t in r.Timeline)
            {
                w.WriteStartObject();
                w.WriteNumber("second", t.Second);
                w.WriteNumber("elapsed_seconds", t.ElapsedSeconds);
                w.WriteNumber("interval_seconds", t.IntervalSeconds);
                w.WriteNumber("offered", t.Offered);
                w.WriteNumber("sent", t.Sent);
                w.WriteNumber("acknowledged", t.Acknowledged);
                w.WriteNumber("rejected", t.Rejected);
                w.WriteNumber("errors", t.Errors);
                w.WriteNumber("late", t.Late);
                w.WriteNumber("dropped", t.Dropped);
                w.WriteNumber("in_flight", t.InFlight);
                w.WriteNumber("p50_us", Micro(t.P50Nanoseconds));
                w.WriteNumber("p90_us", Micro(t.P90Nanoseconds));
                w.WriteNumber("p99_us", Micro(t.P99Nanoseconds));
                w.WriteNumber("max_us", Micro(t.MaxNanoseconds));
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartObject("definitions");
            foreach (var (term, meaning) in LoadReport.Definitions) w.WriteString(term.Replace(' ', '_'), meaning);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteLatency(Utf8JsonWriter w, string name, LatencyHistogram h)
    {
        w.WriteStartObject(name);
        w.WriteNumber("count", h.Count);
        w.WriteNumber("min_us", Micro(h.Min));
        w.WriteNumber("mean_us", Micro(h.Mean));
        foreach (double p in LoadReport.ReportedPercentiles) w.WriteNumber(PercentileKey(p) + "_us", Micro(h.ValueAtPercentile(p)));
        w.WriteNumber("max_us", Micro(h.Max));
        w.WriteEndObject();
    }

    /// <summary><c>p50</c>, <c>p99_9</c>, <c>p99_99</c>: a percentile as a JSON key.</summary>
    internal static string PercentileKey(double p) => "p" + p.ToString("0.##", CultureInfo.InvariantCulture).Replace('.', '_');

    private static double Micro(double nanoseconds) => Math.Round(nanoseconds / 1000.0, 3);

    private static string UnitName(ThresholdUnit unit) => unit switch
    {
        ThresholdUnit.Nanoseconds => "ns",
        ThresholdUnit.Percent => "percent",
        ThresholdUnit.Count => "count",
        _ => "per_second",
    };

    /// <summary>snake_case name of a stop reason: <c>duration</c>, <c>count</c>, <c>end_of_input</c>, <c>cancelled</c>, <c>connections_lost</c>, <c>connect_failed</c>, <c>input_error</c>.</summary>
    public static string StopReasonName(LoadStopReason reason) => reason switch
    {
        LoadStopReason.Duration => "duration",
        LoadStopReason.Count => "count",
        LoadStopReason.EndOfInput => "end_of_input",
        LoadStopReason.Cancelled => "cancelled",
        LoadStopReason.ConnectionsLost => "connections_lost",
        LoadStopReason.ConnectFailed => "connect_failed",
        _ => "input_error",
    };

    // ------------------------------------------------------------------ CSV

    /// <summary>The timeline as CSV: <see cref="CsvHeader"/>, then one row per interval (latencies in microseconds).</summary>
    public static string ToCsv(LoadReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var sb = new StringBuilder();
        sb.Append(CsvHeader).Append('\n');
        foreach (var t in r.Timeline)
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"{t.Second},{t.ElapsedSeconds:0.######},{t.IntervalSeconds:0.######},{t.Offered:0.###},{t.Sent},{t.Acknowledged},{t.Rejected},{t.Errors},{t.Late},{t.Dropped},{t.InFlight},")
              .Append(CultureInfo.InvariantCulture, $"{Micro(t.P50Nanoseconds):0.###},{Micro(t.P90Nanoseconds):0.###},{Micro(t.P99Nanoseconds):0.###},{Micro(t.MaxNanoseconds):0.###}\n");
        }
        return sb.ToString();
    }

    // ------------------------------------------------------------------ Markdown

    /// <summary>The report as Markdown.</summary>
    public static string ToMarkdown(LoadReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var sb = new StringBuilder();
        void Line(string text = "") => sb.Append(text).Append('\n');
        string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);
        string Pct(long part, long whole) => whole == 0 ? "-" : (100.0 * part / whole).ToString("0.###", CultureInfo.InvariantCulture) + "%";

        Line("# Load test report");
        Line();
        Line($"{(r.ThresholdsPassed ? "**PASSED**" : "**FAILED**")}: {Verdict(r)}");
        Line();
        Line("## Run");
        Line();
        Line("| parameter | value |");
        Line("|---|---|");
        Line($"| started | {r.StartedAt.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)} |");
        Line($"| target | {r.Target} |");
        Line($"| model | {(r.Model == LoadModel.Open ? "open (constant arrival schedule)" : "closed (send on acknowledgement)")} |");
        Line($"| load | {Escape(r.LoadShape)} |");
        Line($"| connections | {r.Connections} (accounts {string.Join(", ", r.Accounts.Distinct())}) |");
        Line($"| workload | {Escape(r.Workload)} |");
        Line($"| bounds | {(r.Duration is { } d ? "duration " + LoadDurations.Format(d) : "no duration")}{(r.Count is { } limit ? ", count " + N(limit) : "")} |");
        Line($"| stopped by | {StopReasonName(r.StopReason)}{(r.StopMessage is null ? "" : ": " + Escape(r.StopMessage))} |");
        Line(string.Create(CultureInfo.InvariantCulture, $"| send window / elapsed | {r.SendWindow.TotalSeconds:0.###} s / {r.Elapsed.TotalSeconds:0.###} s |"));
        if (r.PreFill is { } p)
            Line(string.Create(CultureInfo.InvariantCulture, $"| pre-fill (not measured) | {N(p.Commands)} orders, {N(p.Acknowledged)} acknowledged, {N(p.Rejected)} rejected, {p.Elapsed.TotalSeconds:0.###} s |"));
        Line();

        Line("## Results");
        Line();
        Line("| measure | value |");
        Line("|---|---:|");
        Line($"| offered rate | {(r.OfferedRate is { } o ? LoadDurations.FormatRate(o) : "- (closed model)")} |");
        Line($"| sent rate | {LoadDurations.FormatRate(r.SentRate)} |");
        Line($"| achieved rate | {LoadDurations.FormatRate(r.AchievedRate)} |");
        Line($"| scheduled | {N(r.Scheduled)} |");
        Line($"| sent | {N(r.Sent)} |");
        Line($"| acknowledged | {N(r.Acknowledged)} |");
        Line($"| accepted | {N(r.Acknowledged - r.Rejected)} |");
        Line($"| rejected | {N(r.Rejected)} ({Pct(r.Rejected, r.Acknowledged)} of acknowledged) |");
        Line($"| late sends (> {LoadDurations.FormatLatency(r.LateThreshold.TotalNanoseconds)} behind schedule) | {N(r.Late)} ({Pct(r.Late, r.Scheduled)}); max lateness {LoadDurations.FormatLatency(r.MaxLateness.TotalNanoseconds)} |");
        Line($"| dropped sends (connection at {N(r.MaxInFlightPerConnection)} in flight) | {N(r.Dropped)} ({Pct(r.Dropped, r.Scheduled)}) |");
        Line($"| not sent (connection down) | {N(r.NotSent)} |");
        Line($"| unacknowledged | {N(r.Unacknowledged)} |");
        Line($"| session errors | {N(r.SessionErrorCount)} |");
        Line($"| connection errors | {N(r.ConnectionErrors.Count)} |");
        Line($"| **errors** | **{N(r.Errors)}** ({Pct(r.Errors, r.Sent)} of sent) |");
        if (r.Skipped > 0) Line($"| skipped workload commands | {N(r.Skipped)} |");
        Line();

        Line("## Latency");
        Line();
        Line($"Response time is measured from each command's {(r.Model == LoadModel.Open ? "intended send time (its slot in the schedule)" : "send time")} to its acknowledgement; " +
             "service time from the actual send. " +
             string.Create(CultureInfo.InvariantCulture,
                 $"Percentiles come from log-linear histograms (buckets {LoadReport.HistogramRelativeError * 100:0.##}% of their value wide), so each is within ±{LoadReport.HistogramRelativeError * 50:0.##}% of the exact value; min, mean and max are exact."));
        Line();
        Line("| | response time | service time |");
        Line("|---|---:|---:|");
        Line($"| count | {N(r.ResponseTime.Count)} | {N(r.ServiceTime.Count)} |");
        Line($"| min | {Lat(r.ResponseTime, r.ResponseTime.Min)} | {Lat(r.ServiceTime, r.ServiceTime.Min)} |");
        Line($"| mean | {Lat(r.ResponseTime, r.ResponseTime.Mean)} | {Lat(r.ServiceTime, r.ServiceTime.Mean)} |");
        foreach (double pct in LoadReport.ReportedPercentiles)
            Line($"| p{pct.ToString("0.##", CultureInfo.InvariantCulture)} | {Lat(r.ResponseTime, r.ResponseTime.ValueAtPercentile(pct))} | {Lat(r.ServiceTime, r.ServiceTime.ValueAtPercentile(pct))} |");
        Line($"| max | {Lat(r.ResponseTime, r.ResponseTime.Max)} | {Lat(r.ServiceTime, r.ServiceTime.Max)} |");
        Line();

        if (r.RejectsByReason.Count > 0)
        {
            Line("## Rejects by reason");
            Line();
            Line("| reason | category | count |");
            Line("|---|---|---:|");
            foreach (var x in r.RejectsByReason) Line($"| {x.Name} | {x.Category} | {N(x.Count)} |");
            Line();
        }
        if (r.SessionErrors.Count > 0 || r.ConnectionErrors.Count > 0)
        {
            Line("## Errors");
            Line();
            foreach (var x in r.SessionErrors) Line($"- session error `{x.Name}`: {N(x.Count)}");
            foreach (var x in r.ConnectionErrors) Line($"- {Escape(x.Message)}");
            Line();
        }
        if (r.Thresholds.Count > 0)
        {
            Line("## Thresholds");
            Line();
            Line("| threshold | actual | result |");
            Line("|---|---:|---|");
            foreach (var t in r.Thresholds) Line($"| `{t.Threshold.Text}` | {t.ActualText} | {(t.Passed ? "passed" : "**FAILED**")} |");
            Line();
        }
        if (r.WorkloadCounters.Count > 0)
        {
            Line("## Workload counters");
            Line();
            Line("| counter | value | meaning |");
            Line("|---|---:|---|");
            foreach (var c in r.WorkloadCounters) Line($"| {c.Name} | {N(c.Value)} | {Escape(c.Description)} |");
            Line();
        }
        Line("## Definitions");
        Line();
        foreach (var (term, meaning) in LoadReport.Definitions) Line($"- **{term}**: {meaning}.");
        Line();
        Line("## Timeline");
        Line();
        Line("One row per second (the last may be shorter); latencies are of the acknowledgements received in that second. The same rows are in `load-report.csv`.");
        Line();
        Line("| s | offered | sent | acknowledged | rejected | errors | late | dropped | in flight | p50 | p99 | max |");
        Line("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var t in r.Timeline)
        {
            Line(string.Create(CultureInfo.InvariantCulture,
                $"| {t.ElapsedSeconds:0.##} | {t.Offered:N0} | {N(t.Sent)} | {N(t.Acknowledged)} | {N(t.Rejected)} | {N(t.Errors)} | {N(t.Late)} | {N(t.Dropped)} | {N(t.InFlight)} | ") +
                $"{LatOrDash(t.Acknowledged, t.P50Nanoseconds)} | {LatOrDash(t.Acknowledged, t.P99Nanoseconds)} | {LatOrDash(t.Acknowledged, t.MaxNanoseconds)} |");
        }
        return sb.ToString();
    }

    /// <summary>One sentence: what was achieved and what failed.</summary>
    public static string Verdict(LoadReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        string rate = r.OfferedRate is { } o
            ? $"{LoadDurations.FormatRate(r.AchievedRate)} achieved of {LoadDurations.FormatRate(o)} offered"
            : $"{LoadDurations.FormatRate(r.AchievedRate)} achieved";
        string latency = r.ResponseTime.Count == 0 ? "no acknowledgements"
            : $"p99 {LoadDurations.FormatLatency(r.ResponseTime.ValueAtPercentile(99))}";
        var failed = r.Thresholds.Where(t => !t.Passed).Select(t => $"{t.Threshold.Text} (actual {t.ActualText})").ToList();
        string thresholds = r.Thresholds.Count == 0 ? "no thresholds"
            : failed.Count == 0 ? $"all {r.Thresholds.Count} thresholds passed" : "failed: " + string.Join(", ", failed);
        return string.Create(CultureInfo.InvariantCulture,
            $"{rate}, {latency}, {r.Errors:N0} errors, {r.Rejected:N0} rejects; {thresholds}.");
    }

    private static string Lat(LatencyHistogram h, double ns) => h.Count == 0 ? "-" : LoadDurations.FormatLatency(ns);

    private static string LatOrDash(long count, long ns) => count == 0 ? "-" : LoadDurations.FormatLatency(ns);

    private static string Escape(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);
}
