using System.Net;
using System.Text;
using System.Xml.Linq;

namespace ExchangeHealth.Monitor.Reports;

/// <summary>
/// The HTML form of an <see cref="SloReport"/>: one self-contained file (inline CSS, inline SVG
/// charts, no script, no external asset) that opens offline and prints. Per SLO, series and period
/// two charts: the error ratio per step against the error budget (the ratio the objective allows),
/// and the budget burn-down against an even burn.
/// </summary>
public static class SloReportHtml
{
    private const string Css =
        "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1320px}" +
        "table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:13px}" +
        "th{background:#f3f3f3}td.num{text-align:right}.miss{color:#b00020;font-weight:bold}.ok{color:#137333}" +
        ".nodata{color:#777;font-style:italic}.charts{display:flex;flex-wrap:wrap;gap:8px}h3{margin-top:28px}.muted{color:#666;font-size:12px}";

    /// <summary>Renders the report.</summary>
    /// <param name="report">The report.</param>
    /// <returns>An HTML5 document, <c>\n</c> line ends.</returns>
    public static string Render(SloReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder();
        string title = "SLO report, " + SloFormat.Time(report.At);
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>").Append(E(title)).Append("</title>\n");
        sb.Append("<style>").Append(Css).Append("</style>\n</head>\n<body>\n");
        sb.Append("<h1>").Append(E(title)).Append("</h1>\n");
        sb.Append("<p class=\"muted\">Generated ").Append(E(SloFormat.Time(report.GeneratedAt))).Append(" from ").Append(E(report.Source.ToString()))
          .Append(". Incidents: ").Append(E(report.IncidentSource)).Append(". Achieved = 1 - bad/all events over the period (time share for time-based SLIs); ")
          .Append("budget left = 1 - burned/allowed, allowed = (100 % - objective) x the period (the whole calendar month for month to date).</p>\n");

        for (int i = 0; i < report.Periods.Count; i++)
        {
            var period = report.Periods[i];
            sb.Append("<h2>").Append(E(period.Title)).Append("</h2>\n<p class=\"muted\">").Append(E(SloFormat.Time(period.Start))).Append(" to ")
              .Append(E(SloFormat.Time(period.End))).Append("</p>\n");
            sb.Append("<table>\n<tr>");
            foreach (string c in SloReportMarkdown.SummaryColumns) sb.Append("<th>").Append(E(c)).Append("</th>");
            sb.Append("</tr>\n");
            foreach (var entry in report.Slos)
            {
                var r = entry.Results[i];
                sb.Append("<tr><td><a href=\"#").Append(Anchor(entry)).Append("\">").Append(E(entry.Service + " / " + entry.Slo)).Append("</a></td><td>")
                  .Append(E(entry.SeriesText)).Append("</td><td class=\"num\">").Append(E(SloFormat.Objective(entry.ObjectivePercent))).Append("</td>");
                if (!r.HasData)
                {
                    sb.Append("<td class=\"nodata\" colspan=\"5\">no data</td><td class=\"num\">").Append(r.Incidents.Count).Append("</td></tr>\n");
                    continue;
                }
                bool met = r.Met(entry.ObjectivePercent) == true;
                sb.Append("<td class=\"num\">").Append(E(SloFormat.Sli(r.Achieved!.Value, entry.ObjectivePercent))).Append("</td>")
                  .Append(met ? "<td class=\"ok\">yes</td>" : "<td class=\"miss\">no</td>")
                  .Append("<td class=\"num\">").Append(E(SloFormat.BudgetPercent(r.BudgetRemainingFraction!.Value))).Append(" (").Append(E(SloFormat.BudgetTime(r.BudgetRemaining!.Value))).Append(")</td>")
                  .Append("<td class=\"num\">").Append(E(SloFormat.BudgetTime(r.BudgetBurned!.Value))).Append(" of ").Append(E(SloFormat.BudgetTime(r.BudgetAllowed))).Append("</td>")
                  .Append("<td class=\"num\">").Append(E(SloFormat.Rate(r.BurnRate(entry.ErrorBudgetRatio)!.Value))).Append("</td>")
                  .Append("<td class=\"num\">").Append(r.Incidents.Count).Append("</td></tr>\n");
            }
            sb.Append("</table>\n");
        }

        foreach (var entry in report.Slos)
        {
            sb.Append("<h3 id=\"").Append(Anchor(entry)).Append("\">").Append(E(entry.Service + " / " + entry.Slo));
            if (entry.Series.Count > 0) sb.Append(", ").Append(E(entry.SeriesText));
            sb.Append("</h3>\n");
            if (entry.Description.Length > 0) sb.Append("<p>").Append(E(entry.Description)).Append("</p>\n");
            foreach (var r in entry.Results)
            {
                sb.Append("<h4>").Append(E(r.Period.Title)).Append("</h4>\n");
                if (!r.HasData)
                {
                    sb.Append("<p class=\"nodata\">No data: the SLI's queries returned no series or no events in this period.</p>\n");
                    continue;
                }
                sb.Append("<div class=\"charts\">\n");
                sb.Append(ErrorRatioChart(entry, r).ToString(SaveOptions.DisableFormatting)).Append('\n');
                sb.Append(BurnDownChart(entry, r).ToString(SaveOptions.DisableFormatting)).Append('\n');
                sb.Append("</div>\n");
                if (r.WorstBurns.Count > 0)
                {
                    sb.Append("<p>Worst burn rates (").Append(E(SloFormat.Duration(r.Step))).Append(" windows): ")
                      .Append(E(string.Join("; ", r.WorstBurns.Select(w => $"{SloFormat.Rate(w.BurnRate)} to {SloFormat.Time(w.Time)} (error ratio {SloFormat.ErrorPercent(w.ErrorRatio)})"))))
                      .Append("</p>\n");
                }
                if (r.Incidents.Count == 0)
                {
                    sb.Append("<p>No incidents.</p>\n");
                    continue;
                }
                sb.Append("<table>\n<tr><th>Start</th><th>End</th><th>Duration</th><th>Severity</th><th>Alerts</th><th>Error ratio</th><th>Budget burned</th></tr>\n");
                foreach (var x in r.Incidents)
                {
                    sb.Append("<tr><td>").Append(E(SloFormat.TimeSeconds(x.Incident.Start))).Append("</td><td>")
                      .Append(E(x.Incident.Ongoing ? "ongoing" : SloFormat.TimeSeconds(x.Incident.End))).Append("</td><td class=\"num\">")
                      .Append(E(SloFormat.Duration(x.Incident.Duration))).Append("</td><td>").Append(E(x.Incident.Severity)).Append("</td><td>")
                      .Append(E(string.Join(", ", x.Incident.Alerts))).Append("</td><td class=\"num\">")
                      .Append(E(x.ErrorRatio is { } er ? SloFormat.ErrorPercent(er) : "no data")).Append("</td><td class=\"num\">")
                      .Append(E(x.BudgetBurned is { } b ? $"{SloFormat.BudgetTime(b)} ({SloFormat.BudgetPercent(x.BudgetFraction ?? 0)})" : "no data")).Append("</td></tr>\n");
                }
                sb.Append("</table>\n");
            }
        }
        sb.Append("</body>\n</html>\n");
        return sb.ToString();
    }

    /// <summary>Error ratio per timeline step (percent) against the error budget line.</summary>
    internal static XElement ErrorRatioChart(SloReportEntry entry, SloPeriodResult r)
    {
        double budgetPercent = entry.ErrorBudgetRatio * 100;
        var points = r.Timeline.Select(p => (p.Time, p.ErrorRatio * 100)).ToList();
        return SvgChart.Render(
            $"Error ratio per {SloFormat.Duration(r.Step)} ({r.Period.Title})",
            r.Period.Start, r.Period.End,
            [new ChartSeries("error ratio", points, "#c5221f")],
            [new ChartLine("budget " + SloFormat.ErrorPercent(entry.ErrorBudgetRatio), budgetPercent, "#1a73e8")],
            v => SloFormat.ErrorPercent(v / 100), yMin: 0);
    }

    /// <summary>Budget remaining (percent of the period's budget) against an even burn (burn rate 1) over the budget length.</summary>
    internal static XElement BurnDownChart(SloReportEntry entry, SloPeriodResult r)
    {
        var remaining = new List<(DateTimeOffset, double?)> { (r.Period.Start, 100) };
        remaining.AddRange(r.Timeline.Select(p => (p.Time, (double?)(p.BudgetRemaining * 100))));
        double evenEnd = 100 * (1 - (r.Period.Elapsed / r.Period.BudgetLength));
        var even = new List<(DateTimeOffset, double?)> { (r.Period.Start, 100), (r.Period.End, evenEnd) };
        return SvgChart.Render(
            $"Error budget left ({r.Period.Title})",
            r.Period.Start, r.Period.End,
            [new ChartSeries("budget left", remaining, "#137333"), new ChartSeries("even burn", even, "#999999", Dashed: true)],
            [new ChartLine("exhausted", 0, "#b00020")],
            v => v.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + " %", yMin: 0, yMax: 100);
    }

    private static string Anchor(SloReportEntry entry)
    {
        var sb = new StringBuilder("slo-");
        foreach (char c in entry.SlothId + (entry.Series.Count > 0 ? "-" + entry.SeriesText : ""))
            sb.Append(char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-');
        return sb.ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
