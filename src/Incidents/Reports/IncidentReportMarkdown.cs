using System.Text;

namespace ExchangeHealth.Incidents.Reports;

/// <summary>
/// The Markdown form of an <see cref="IncidentReport"/>: the same sections and figures as
/// <see cref="IncidentReportHtml"/> (CommonMark with GitHub tables). Charts are images linked by
/// relative file name (the SVG files <see cref="IncidentReportService"/> writes beside the
/// Markdown, e.g. <c>incident-42-command-rate.svg</c>), each with its caption as text.
/// </summary>
/// <remarks>
/// Incident text is escaped for Markdown: <c>&lt;</c>, <c>&gt;</c> and <c>&amp;</c> become entities
/// (so raw HTML such as <c>&lt;script&gt;</c> is never passed through by a renderer), Markdown
/// punctuation is backslash-escaped, <c>|</c> cannot break a table and line breaks become spaces.
/// </remarks>
public static class IncidentReportMarkdown
{
    /// <summary>Renders the report.</summary>
    /// <param name="report">The report.</param>
    /// <param name="chartFile">The relative file name of a chart's SVG, or null to leave that chart out with a note; null for no chart files at all.</param>
    /// <returns>The Markdown text, <c>\n</c> line ends.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="report"/> is null.</exception>
    public static string Render(IncidentReport report, Func<IncidentChart, string?>? chartFile = null)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder();
        sb.Append("# Post-incident report: ").Append(M(IncidentReportContent.Title(report))).Append("\n\n");
        if (report.Problems.Count > 0)
        {
            sb.Append("> **Missing figures**\n");
            foreach (string p in report.Problems) sb.Append("> - ").Append(M(p)).Append('\n');
            sb.Append('\n');
        }

        sb.Append("## Summary\n\n| | |\n|---|---|\n");
        foreach (var (label, value) in IncidentReportContent.Summary(report)) Row(sb, "**" + M(label) + "**", M(value));
        sb.Append('\n');

        sb.Append("## Response times\n\n| Measure | Definition | From | To | Duration |\n|---|---|---|---|---:|\n");
        foreach (var d in report.Durations)
            Row(sb, M($"{d.Name} ({d.Title.ToLowerInvariant()})"), M(d.Definition), M(IncidentReportContent.Opt(d.From)), M(IncidentReportContent.Opt(d.To)), M(IncidentReportContent.DurationValue(d)));
        sb.Append('\n');

        sb.Append("## Error budget burned\n\n");
        if (report.Budgets.Count == 0) sb.Append("No SLO specs were given.\n\n");
        else
        {
            sb.Append("| ").Append(string.Join(" | ", IncidentReportContent.BudgetColumns)).Append(" |\n|---|---|---:|---:|---:|---:|---:|---:|---|\n");
            foreach (var b in report.Budgets) Row(sb, [.. IncidentReportContent.BudgetCells(report, b).Select(M)]);
            sb.Append('\n');
        }

        sb.Append("## SLIs around the incident\n\n");
        foreach (var chart in report.Charts)
        {
            sb.Append("### ").Append(M(chart.Title)).Append("\n\n");
            string? file = chartFile?.Invoke(chart);
            if (file is null) sb.Append("*Chart not written with this Markdown; see the HTML report.*\n\n");
            else sb.Append("![").Append(M(chart.Title)).Append("](").Append(Uri.EscapeDataString(file)).Append(")\n\n");
            foreach (string line in IncidentReportContent.ChartCaption(report, chart)) sb.Append(M(line)).Append("  \n");
            if (chart.Query.Length > 0) sb.Append("Query: ").Append(Code(IncidentReportContent.OneLine(chart.Query))).Append('\n');
            sb.Append('\n');
        }

        sb.Append("## Timeline\n\n");
        if (report.Details.Timeline.Count == 0) sb.Append("No events.\n\n");
        else
        {
            sb.Append("| Time (UTC) | Source | Actor | Kind | Text |\n|---|---|---|---|---|\n");
            foreach (var e in report.Details.Timeline) Row(sb, M(IncidentReportFormat.TimeMs(e.At)), M(e.Source), M(e.Actor), M(e.Kind), M(e.Text));
            sb.Append('\n');
        }

        sb.Append("## Alerts\n\n");
        if (report.Details.Alerts.Count == 0) sb.Append("No alerts (declared by hand).\n\n");
        else
        {
            sb.Append("| Alert | Labels | Summary | Started (UTC) | Fired (UTC) | Ended (UTC) |\n|---|---|---|---|---|---|\n");
            foreach (var a in report.Details.Alerts.OrderBy(a => a.StartsAt).ThenBy(a => a.Fingerprint, StringComparer.Ordinal))
            {
                Row(sb, M(a.AlertName), M(IncidentReportContent.AlertLabels(a)), M(IncidentReportContent.AlertSummary(a)), M(IncidentReportFormat.TimeMs(a.StartsAt)),
                    M(a.FiredAt is { } f ? IncidentReportFormat.TimeMs(f) : "-"), M(a.EndsAt is { } x ? IncidentReportFormat.TimeMs(x) : "firing"));
            }
            sb.Append('\n');
        }

        sb.Append("## Follow-ups\n\n");
        if (report.Details.FollowUps.Count == 0) sb.Append("None recorded.\n\n");
        else
        {
            int done = report.Details.FollowUps.Count(f => f.Done);
            sb.Append(done).Append(" done, ").Append(report.Details.FollowUps.Count - done).Append(" open.\n\n");
            foreach (var f in report.Details.FollowUps.OrderBy(f => f.Done).ThenBy(f => f.Id))
            {
                sb.Append(f.Done ? "- [x] " : "- [ ] ").Append(M(f.Text));
                if (f.Owner is { Length: > 0 } owner) sb.Append(" (owner: ").Append(M(owner)).Append(')');
                sb.Append(" - added ").Append(M(IncidentReportFormat.TimeMs(f.CreatedAt) + " UTC by " + f.CreatedBy)).Append('\n');
            }
            sb.Append('\n');
        }

        sb.Append("---\n\n## Definitions\n\n");
        foreach (string line in IncidentReportContent.Footer(report)) sb.Append(M(line)).Append("\n\n");
        return sb.ToString();
    }

    /// <summary>A code span that holds <paramref name="text"/> verbatim: a backtick fence longer than any run of backticks inside it (PromQL raw strings use them).</summary>
    internal static string Code(string text)
    {
        int longest = 0, run = 0;
        foreach (char c in text)
        {
            run = c == '`' ? run + 1 : 0;
            longest = Math.Max(longest, run);
        }
        string fence = new('`', longest + 1);
        string pad = text.StartsWith('`') || text.EndsWith('`') ? " " : "";
        return fence + pad + text + pad + fence;
    }

    private static void Row(StringBuilder sb, params string[] cells) => sb.Append("| ").Append(string.Join(" | ", cells)).Append(" |\n");

    /// <summary>Escapes text for a Markdown paragraph or table cell (see the class remarks).</summary>
    internal static string M(string text)
    {
        var sb = new StringBuilder(text.Length + 8);
        foreach (char c in text.ReplaceLineEndings(" "))
        {
            switch (c)
            {
                case '&': sb.Append("&amp;"); break;
                case '<': sb.Append("&lt;"); break;
                case '>': sb.Append("&gt;"); break;
                case '\\' or '`' or '*' or '_' or '[' or ']' or '|' or '#' or '!' or '~' or '{' or '}':
                    sb.Append('\\').Append(c);
                    break;
                default: sb.Append(c); break;
            }
        }
        return sb.ToString();
    }
}
