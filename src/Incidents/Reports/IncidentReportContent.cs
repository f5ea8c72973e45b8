using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Monitor.Reports;

namespace ExchangeHealth.Incidents.Reports;

/// <summary>
/// The text of the report's cells, shared by <see cref="IncidentReportMarkdown"/> and
/// <see cref="IncidentReportHtml"/> so both say the same (each escapes it for its format).
/// </summary>
internal static class IncidentReportContent
{
    /// <summary>The document title: <c>Incident #42: title</c>.</summary>
    public static string Title(IncidentReport r) => $"Incident #{r.Details.Incident.Id}: {r.Details.Incident.Title}";

    /// <summary>The summary as (label, value) rows.</summary>
    public static List<(string Label, string Value)> Summary(IncidentReport r)
    {
        var i = r.Details.Incident;
        var w = r.Window;
        string end = w.EndKind switch
        {
            ImpactWindowEnd.Mitigated => "mitigated",
            ImpactWindowEnd.Resolved => "resolved",
            _ => "ongoing at the report time",
        };
        var rows = new List<(string, string)>
        {
            ("Incident", "#" + i.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ("Title", i.Title),
            ("Severity", IncidentNames.Format(i.Severity)),
            ("Status", IncidentNames.Format(i.Status)),
            ("Commander", i.Commander is { Length: > 0 } c ? c : "(none)"),
            ("Impact window", $"{IncidentReportFormat.TimeMs(w.Start)} to {IncidentReportFormat.TimeMs(w.End)} UTC ({IncidentReportFormat.Duration(w.Length)}, end: {end})"),
            ("Markets", i.Markets.Count == 0 ? "(none listed)" : string.Join(", ", i.Markets)),
            ("Services", i.Services.Count == 0 ? "(none listed)" : string.Join(", ", i.Services)),
            ("Started", Opt(i.StartedAt)),
            ("Detected", Opt(r.Duration("TTD").To)),
            ("Acknowledged", Opt(r.Duration("TTA").To) + (i.AcknowledgedBy is { Length: > 0 } by ? " by " + by : "")),
            ("Mitigated", Opt(r.Duration("TTM").To)),
            ("Resolved", Opt(r.Duration("TTR").To)),
            ("Alerts", r.Details.Alerts.Count.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        };
        if (i.ClosedAt is { } closed) rows.Add(("Closed", Opt(closed)));
        if (i.GroupKey is { Length: > 0 } g) rows.Add(("Alert group", g));
        if (i.SlackChannelName is { Length: > 0 } ch) rows.Add(("Slack channel", "#" + ch));
        return rows;
    }

    /// <summary>A time with milliseconds and <c>UTC</c>, or <c>-</c>.</summary>
    public static string Opt(DateTimeOffset? t) => t is { } v ? IncidentReportFormat.TimeMs(v) + " UTC" : "-";

    /// <summary>A duration's value, or <c>unavailable (why)</c>.</summary>
    public static string DurationValue(IncidentDuration d) =>
        d.Value is { } v ? IncidentReportFormat.Duration(v) : "unavailable (" + (d.Missing ?? "unknown") + ")";

    /// <summary>Column headers of the budget table.</summary>
    public static readonly string[] BudgetColumns =
        ["SLO", "Series", "Objective", "Error ratio", "Burn rate", "Bad / all events", "Budget burned", "As time", "Source"];

    /// <summary>The cells of one budget row (missing numbers say <c>unavailable: why</c> in the error-ratio cell).</summary>
    public static string[] BudgetCells(IncidentReport r, SloBudgetBurn b)
    {
        string slo = $"{b.Service}/{b.Slo}";
        string series = b.SeriesText + (b.Affected ? "" : " (not listed as affected)");
        string objective = SloFormat.Objective(b.ObjectivePercent);
        string source = SourceText(b.Source, b.Step);
        if (b.Missing is not null && b.ErrorRatio is null)
            return [slo, series, objective, "unavailable: " + b.Missing, "-", "-", "-", "-", source];
        string events = b.BadEvents is { } bad && b.TotalEvents is { } total ? $"{SloFormat.Count(bad)} / {SloFormat.Count(total)}" : "-";
        string burned = b.BudgetBurned is { } f ? $"{SloFormat.ErrorPercent(f)} of the {IncidentReportFormat.Duration(r.Period)} budget" : "-";
        string time = b.BudgetBurnedTime is { } t ? $"{SloFormat.BudgetTime(t)} of {SloFormat.BudgetTime(b.BudgetAllowed)}" : "-";
        string ratio = SloFormat.ErrorPercent(b.ErrorRatio!.Value) + (b.Coverage is < 0.999 and { } c ? $" (data for {SloFormat.ErrorPercent(c)} of the window)" : "");
        return [slo, series, objective, ratio, b.BurnRate is { } br ? SloFormat.Rate(br) : "-", events, burned, time, source];
    }

    /// <summary>Which data a figure came from, in words.</summary>
    public static string SourceText(SliDataSource source, TimeSpan? step) => source switch
    {
        SliDataSource.SpecQueries => "spec queries" + (step is { } s ? $", window = step = {Monitor.Prometheus.PromDuration.Format(s)}" : ""),
        SliDataSource.RecordingRule => "recording rule slo:sli_error:ratio_rate5m" + (step is { } s2 ? $", sampled every {Monitor.Prometheus.PromDuration.Format(s2)}" : ""),
        _ => "none",
    };

    /// <summary>The caption of a chart: range, resolution, source, missing data, markers outside its range, omitted series (the query is separate: <see cref="IncidentChart.Query"/>).</summary>
    public static List<string> ChartCaption(IncidentReport r, IncidentChart c)
    {
        var lines = new List<string>
        {
            $"{IncidentReportFormat.Time(c.From)} to {IncidentReportFormat.Time(c.To)}, one point per {Monitor.Prometheus.PromDuration.Format(c.Step)}. " +
            (c.Kind == IncidentChartKind.SloErrorRatio ? "Data: " + SourceText(c.Source, null) + "; dashed line: the error budget (the error ratio the objective allows). " : "") +
            "Shaded: the impact window.",
        };
        if (c.Missing is not null) lines.Add("No data: " + c.Missing);
        var outside = IncidentReportCharts.MarkersOutside(r, c).ToList();
        if (outside.Count > 0)
            lines.Add("Outside the chart's range: " + string.Join("; ", outside.Select(m => $"{m.Label} at {IncidentReportFormat.TimeMs(m.At)} UTC")));
        if (c.Omitted > 0) lines.Add($"{c.Omitted} more series not drawn.");
        return lines;
    }

    /// <summary>A query on one line (line breaks of multi-line spec queries become spaces).</summary>
    public static string OneLine(string query) => string.Join(' ', query.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>An alert's labels without <c>alertname</c>: <c>market=BTC-USD, severity=critical</c>.</summary>
    public static string AlertLabels(IncidentAlert a) =>
        string.Join(", ", a.Labels.Where(l => l.Key != "alertname").Select(l => $"{l.Key}={l.Value}"));

    /// <summary>An alert's summary annotation (or description), or empty.</summary>
    public static string AlertSummary(IncidentAlert a) =>
        a.Annotations.TryGetValue("summary", out string s) && s.Length > 0 ? s : a.Annotations["description"];

    /// <summary>The footer: definitions, method, generation time and source.</summary>
    public static List<string> Footer(IncidentReport r)
    {
        string period = IncidentReportFormat.Duration(r.Period);
        return
        [
            "TTD (time to detect) = detected − started; TTA (time to acknowledge) = acknowledged − detected; " +
            "TTM (time to mitigate) = mitigated − started; TTR (time to resolve) = resolved − started. " +
            "Started is the first alert's start (activeAt) or the declared start; detected is the first firing.",
            "Impact window = started → (mitigated ?? resolved ?? report time).",
            $"Budget burned = bad events in the impact window / bad events the SLO allows over its {period} period " +
            $"≈ error ratio over the window × window length / ((1 − objective) × {period}). The error ratio comes from Prometheus range queries " +
            "over the window whose steps tile it exactly (about 1 minute each; the SLO spec's {{.window}} = the step): " +
            "events SLIs give Σ bad / Σ all events, raw SLIs the mean of the steps' ratios. When the spec's queries return nothing, " +
            "the mean of the recording rule slo:sli_error:ratio_rate5m over the steps is used (it lags by up to 5 minutes); the Source column says which. " +
            "\"As time\" is the same share as minutes of full outage: error ratio × window length, out of (1 − objective) × period.",
            "Burn rate = error ratio / (1 − objective): 1 spends exactly the budget over the period.",
            "Charts: the impact window with a margin before and after (at least 25 % of the window); markers: engine faults, first firing, acknowledgement, mitigation, resolution.",
            $"Generated {IncidentReportFormat.TimeMs(r.GeneratedAt)} UTC" + (r.PrometheusSource is { } s ? $" from {s}." : " without Prometheus."),
        ];
    }
}
