using System.Globalization;
using System.Net;
using System.Text;
using System.Xml.Linq;

namespace ExchangeHealth.Incidents.Reports;

/// <summary>
/// The HTML form of an <see cref="IncidentReport"/>: ONE self-contained file (inline CSS, inline SVG
/// charts, no script, no external URL; a Content-Security-Policy that forbids both) that opens
/// offline and prints. Every text from the incident (title, notes, labels, follow-ups) is
/// HTML-escaped, so <c>&lt;script&gt;</c> or SQL-looking text shows as text.
/// </summary>
/// <remarks>
/// Structure, for readers and tests: <c>section#summary</c>, <c>table#durations</c>,
/// <c>table#budget</c>, <c>section#charts</c> with one <c>figure.sli-chart</c> per chart
/// (<c>data-chart</c> = the chart id, <c>data-slo</c> = the <c>sloth_id</c> for SLO charts) holding an
/// <c>svg</c> whose markers are <c>g.marker[data-kind]</c>, <c>table#timeline</c> with one
/// <c>tr.event[data-at]</c> per event in time order, <c>table#alerts</c>, <c>section#follow-ups</c>
/// and <c>footer#definitions</c>.
/// </remarks>
public static class IncidentReportHtml
{
    private const string Css =
        "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1320px}" +
        "table{border-collapse:collapse;margin:8px 0 16px}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:13px;vertical-align:top}" +
        "th{background:#f3f3f3}td.num{text-align:right}td.missing{color:#b00020}.problems{border-left:4px solid #b00020;padding:4px 12px;background:#fdf2f2}" +
        "dl.summary{display:grid;grid-template-columns:max-content auto;gap:2px 16px}dl.summary dt{font-weight:bold}dl.summary dd{margin:0}" +
        ".charts{display:flex;flex-wrap:wrap;gap:12px}figure.sli-chart{margin:0;max-width:640px}figcaption{font-size:12px;color:#555}" +
        "td.text{white-space:pre-wrap;word-break:break-word}.done{color:#137333}.open{color:#b06000}" +
        "footer{margin-top:32px;border-top:1px solid #ccc;font-size:12px;color:#555}code{font-size:12px}";

    /// <summary>Renders the report.</summary>
    /// <param name="report">The report.</param>
    /// <returns>An HTML5 document, <c>\n</c> line ends, UTF-8 when written as such.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="report"/> is null.</exception>
    public static string Render(IncidentReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder();
        var inc = report.Details.Incident;
        string title = IncidentReportContent.Title(report);
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
        sb.Append("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
        sb.Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
        sb.Append("<title>").Append(E(title)).Append("</title>\n<style>").Append(Css).Append("</style>\n</head>\n<body>\n");
        sb.Append("<h1>Post-incident report: ").Append(E(title)).Append("</h1>\n");

        if (report.Problems.Count > 0)
        {
            sb.Append("<div class=\"problems\" id=\"problems\"><p><strong>Missing figures</strong></p><ul>\n");
            foreach (string p in report.Problems) sb.Append("<li>").Append(E(p)).Append("</li>\n");
            sb.Append("</ul></div>\n");
        }

        sb.Append("<section id=\"summary\">\n<h2>Summary</h2>\n<dl class=\"summary\">\n");
        foreach (var (label, value) in IncidentReportContent.Summary(report))
            sb.Append("<dt>").Append(E(label)).Append("</dt><dd>").Append(E(value)).Append("</dd>\n");
        sb.Append("</dl>\n</section>\n");

        sb.Append("<section id=\"response\">\n<h2>Response times</h2>\n<table id=\"durations\">\n<tr><th>Measure</th><th>Definition</th><th>From</th><th>To</th><th>Duration</th></tr>\n");
        foreach (var d in report.Durations)
        {
            sb.Append("<tr data-name=\"").Append(E(d.Name)).Append("\"><td>").Append(E($"{d.Name} ({d.Title.ToLowerInvariant()})")).Append("</td><td>").Append(E(d.Definition))
              .Append("</td><td>").Append(E(IncidentReportContent.Opt(d.From))).Append("</td><td>").Append(E(IncidentReportContent.Opt(d.To))).Append("</td>")
              .Append(d.Value is null ? "<td class=\"missing\">" : "<td class=\"num\">").Append(E(IncidentReportContent.DurationValue(d))).Append("</td></tr>\n");
        }
        sb.Append("</table>\n</section>\n");

        sb.Append("<section id=\"budget-burned\">\n<h2>Error budget burned</h2>\n");
        if (report.Budgets.Count == 0) sb.Append("<p>No SLO specs were given.</p>\n");
        else
        {
            sb.Append("<table id=\"budget\">\n<tr>");
            foreach (string c in IncidentReportContent.BudgetColumns) sb.Append("<th>").Append(E(c)).Append("</th>");
            sb.Append("</tr>\n");
            foreach (var b in report.Budgets)
            {
                var cells = IncidentReportContent.BudgetCells(report, b);
                sb.Append("<tr data-slo=\"").Append(E(b.SlothId)).Append("\" data-series=\"").Append(E(b.SeriesText)).Append("\">");
                for (int i = 0; i < cells.Length; i++)
                {
                    bool missing = i == 3 && b.ErrorRatio is null;
                    sb.Append(missing ? "<td class=\"missing\">" : i is >= 2 and <= 7 ? "<td class=\"num\">" : "<td>").Append(E(cells[i])).Append("</td>");
                }
                sb.Append("</tr>\n");
            }
            sb.Append("</table>\n");
        }
        sb.Append("</section>\n");

        sb.Append("<section id=\"charts\">\n<h2>SLIs around the incident</h2>\n<div class=\"charts\">\n");
        foreach (var chart in report.Charts)
        {
            sb.Append("<figure class=\"sli-chart\" id=\"chart-").Append(E(chart.Id)).Append("\" data-chart=\"").Append(E(chart.Id)).Append('"');
            if (chart.SlothId is not null) sb.Append(" data-slo=\"").Append(E(chart.SlothId)).Append('"');
            if (chart.Missing is not null) sb.Append(" data-missing=\"true\"");
            sb.Append(">\n").Append(IncidentReportCharts.Render(report, chart).ToString(SaveOptions.DisableFormatting)).Append("\n<figcaption>");
            sb.Append(string.Join("<br>", IncidentReportContent.ChartCaption(report, chart).Select(E)));
            if (chart.Query.Length > 0) sb.Append("<br>Query: <code>").Append(E(IncidentReportContent.OneLine(chart.Query))).Append("</code>");
            sb.Append("</figcaption>\n</figure>\n");
        }
        sb.Append("</div>\n</section>\n");

        sb.Append("<section id=\"timeline-section\">\n<h2>Timeline</h2>\n");
        if (report.Details.Timeline.Count == 0) sb.Append("<p>No events.</p>\n");
        else
        {
            sb.Append("<table id=\"timeline\">\n<tr><th>Time (UTC)</th><th>Source</th><th>Actor</th><th>Kind</th><th>Text</th></tr>\n");
            foreach (var e in report.Details.Timeline)
            {
                sb.Append("<tr class=\"event\" data-at=\"").Append(e.At.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture))
                  .Append("\" data-kind=\"").Append(E(e.Kind)).Append("\"><td>").Append(E(IncidentReportFormat.TimeMs(e.At))).Append("</td><td>").Append(E(e.Source))
                  .Append("</td><td>").Append(E(e.Actor)).Append("</td><td>").Append(E(e.Kind)).Append("</td><td class=\"text\">").Append(E(e.Text)).Append("</td></tr>\n");
            }
            sb.Append("</table>\n");
        }
        sb.Append("</section>\n");

        sb.Append("<section id=\"alerts-section\">\n<h2>Alerts</h2>\n");
        if (report.Details.Alerts.Count == 0) sb.Append("<p>No alerts (declared by hand).</p>\n");
        else
        {
            sb.Append("<table id=\"alerts\">\n<tr><th>Alert</th><th>Labels</th><th>Summary</th><th>Started (UTC)</th><th>Fired (UTC)</th><th>Ended (UTC)</th></tr>\n");
            foreach (var a in report.Details.Alerts.OrderBy(a => a.StartsAt).ThenBy(a => a.Fingerprint, StringComparer.Ordinal))
            {
                sb.Append("<tr data-fingerprint=\"").Append(E(a.Fingerprint)).Append("\"><td>").Append(E(a.AlertName)).Append("</td><td>").Append(E(IncidentReportContent.AlertLabels(a)))
                  .Append("</td><td class=\"text\">").Append(E(IncidentReportContent.AlertSummary(a))).Append("</td><td>").Append(E(IncidentReportFormat.TimeMs(a.StartsAt)))
                  .Append("</td><td>").Append(E(a.FiredAt is { } f ? IncidentReportFormat.TimeMs(f) : "-"))
                  .Append("</td><td>").Append(E(a.EndsAt is { } x ? IncidentReportFormat.TimeMs(x) : "firing")).Append("</td></tr>\n");
            }
            sb.Append("</table>\n");
        }
        sb.Append("</section>\n");

        sb.Append("<section id=\"follow-ups\">\n<h2>Follow-ups</h2>\n");
        if (report.Details.FollowUps.Count == 0) sb.Append("<p>None recorded.</p>\n");
        else
        {
            int done = report.Details.FollowUps.Count(f => f.Done);
            sb.Append("<p>").Append(done).Append(" done, ").Append(report.Details.FollowUps.Count - done).Append(" open.</p>\n");
            sb.Append("<table id=\"follow-up-table\">\n<tr><th>Status</th><th>Action</th><th>Owner</th><th>Added</th></tr>\n");
            foreach (var f in report.Details.FollowUps.OrderBy(f => f.Done).ThenBy(f => f.Id))
            {
                sb.Append("<tr class=\"").Append(f.Done ? "done" : "open").Append("\"><td>").Append(f.Done ? "done" : "open").Append("</td><td class=\"text\">").Append(E(f.Text))
                  .Append("</td><td>").Append(E(f.Owner ?? "-")).Append("</td><td>").Append(E($"{IncidentReportFormat.TimeMs(f.CreatedAt)} UTC by {f.CreatedBy}")).Append("</td></tr>\n");
            }
            sb.Append("</table>\n");
        }
        sb.Append("</section>\n");

        sb.Append("<footer id=\"definitions\">\n<h2>Definitions</h2>\n");
        foreach (string line in IncidentReportContent.Footer(report)) sb.Append("<p>").Append(E(line)).Append("</p>\n");
        sb.Append("</footer>\n</body>\n</html>\n");
        return sb.ToString();
    }

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
