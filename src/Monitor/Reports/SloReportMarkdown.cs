using System.Text;

namespace ExchangeHealth.Monitor.Reports;

/// <summary>
/// The Markdown form of an <see cref="SloReport"/> (GitHub-flavoured tables) and its short summary
/// for chat (Slack renders bullets and bold, not tables).
/// </summary>
public static class SloReportMarkdown
{
    /// <summary>Columns of each period's summary table, in order.</summary>
    public static IReadOnlyList<string> SummaryColumns { get; } =
        ["SLO", "Series", "Objective", "Achieved", "Met", "Budget left", "Budget burned", "Burn rate", "Incidents"];

    /// <summary>The whole report: per period a summary table, then per SLO and series the worst burn-rate moments and the incidents.</summary>
    /// <param name="report">The report.</param>
    /// <returns>Markdown text, <c>\n</c> line ends.</returns>
    public static string Render(SloReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder();
        sb.Append("# SLO report, ").Append(SloFormat.Time(report.At)).Append("\n\n");
        sb.Append("Generated ").Append(SloFormat.Time(report.GeneratedAt)).Append(" from ").Append(report.Source.ToString())
          .Append(". Incidents: ").Append(report.IncidentSource).Append(".\n\n");
        sb.Append("Achieved = 1 - bad/all events over the period (time share for time-based SLIs). Budget left = 1 - burned/allowed, ")
          .Append("allowed = (100 % - objective) x the period (the whole calendar month for month to date). ")
          .Append("Budget times are time-equivalents at the period's mean traffic.\n\n");

        for (int i = 0; i < report.Periods.Count; i++)
        {
            var period = report.Periods[i];
            sb.Append("## ").Append(period.Title).Append("\n\n");
            sb.Append(SloFormat.Time(period.Start)).Append(" to ").Append(SloFormat.Time(period.End))
              .Append(" (").Append(SloFormat.Duration(period.Elapsed)).Append(" of ").Append(SloFormat.Duration(period.BudgetLength)).Append(").\n\n");
            AppendTable(sb, report, i);
            sb.Append('\n');
        }

        sb.Append("## Details\n");
        foreach (var entry in report.Slos)
        {
            sb.Append("\n### ").Append(Escape(entry.Service + " / " + entry.Slo)).Append(entry.Series.Count > 0 ? ", " + Escape(entry.SeriesText) : "").Append("\n\n");
            if (entry.Description.Length > 0) sb.Append(Escape(entry.Description)).Append("\n\n");
            foreach (var r in entry.Results)
            {
                sb.Append("**").Append(r.Period.Title).Append("**: ");
                if (!r.HasData)
                {
                    sb.Append("no data (the SLI's queries returned no series or no events in this period).\n\n");
                    continue;
                }
                sb.Append(SloFormat.Sli(r.Achieved!.Value, entry.ObjectivePercent)).Append(" against ").Append(SloFormat.Objective(entry.ObjectivePercent));
                if (r.TotalEvents is { } total) sb.Append(", ").Append(SloFormat.Count(r.BadEvents ?? 0)).Append(" bad of ").Append(SloFormat.Count(total)).Append(" events");
                sb.Append("; ").Append(SloFormat.BudgetTime(r.BudgetRemaining!.Value)).Append(" of ").Append(SloFormat.BudgetTime(r.BudgetAllowed)).Append(" budget left.\n\n");
                if (r.WorstBurns.Count > 0)
                {
                    sb.Append("Worst burn rates (").Append(SloFormat.Duration(r.Step)).Append(" windows): ");
                    sb.Append(string.Join("; ", r.WorstBurns.Select(w => $"{SloFormat.Rate(w.BurnRate)} to {SloFormat.Time(w.Time)} (error ratio {SloFormat.ErrorPercent(w.ErrorRatio)})")));
                    sb.Append(".\n\n");
                }
                if (r.Incidents.Count == 0)
                {
                    sb.Append("No incidents.\n\n");
                    continue;
                }
                sb.Append("| Start | End | Duration | Severity | Alerts | Error ratio | Budget burned |\n");
                sb.Append("|---|---|---|---|---|---|---|\n");
                foreach (var x in r.Incidents)
                {
                    sb.Append("| ").Append(SloFormat.TimeSeconds(x.Incident.Start))
                      .Append(" | ").Append(x.Incident.Ongoing ? "ongoing" : SloFormat.TimeSeconds(x.Incident.End))
                      .Append(" | ").Append(SloFormat.Duration(x.Incident.Duration))
                      .Append(" | ").Append(x.Incident.Severity)
                      .Append(" | ").Append(Escape(string.Join(", ", x.Incident.Alerts)))
                      .Append(" | ").Append(x.ErrorRatio is { } er ? SloFormat.ErrorPercent(er) : "no data")
                      .Append(" | ").Append(x.BudgetBurned is { } b ? $"{SloFormat.BudgetTime(b)} ({SloFormat.BudgetPercent(x.BudgetFraction ?? 0)} of the budget)" : "no data")
                      .Append(" |\n");
                }
                sb.Append('\n');
            }
        }
        while (sb.Length > 1 && sb[^1] == '\n' && sb[^2] == '\n') sb.Length--;
        return sb.ToString().Replace("\n\n\n", "\n\n", StringComparison.Ordinal);
    }

    /// <summary>
    /// A short summary for chat: the report time, then per period one bullet per SLO and series
    /// (achieved vs objective, budget left, incidents), missed objectives in bold.
    /// </summary>
    /// <param name="report">The report.</param>
    /// <returns>Markdown text (Slack mrkdwn compatible: bullets, <c>*bold*</c>), <c>\n</c> line ends.</returns>
    public static string Summary(SloReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var sb = new StringBuilder();
        sb.Append("*SLO report, ").Append(SloFormat.Time(report.At)).Append("*\n");
        for (int i = 0; i < report.Periods.Count; i++)
        {
            sb.Append('\n').Append(report.Periods[i].Title).Append(":\n");
            foreach (var entry in report.Slos)
            {
                var r = entry.Results[i];
                sb.Append("• ").Append(entry.Service).Append('/').Append(entry.Slo);
                if (entry.Series.Count > 0) sb.Append(" (").Append(entry.SeriesText).Append(')');
                sb.Append(": ");
                if (!r.HasData)
                {
                    sb.Append("no data\n");
                    continue;
                }
                string achieved = SloFormat.Sli(r.Achieved!.Value, entry.ObjectivePercent);
                bool met = r.Met(entry.ObjectivePercent) == true;
                sb.Append(met ? achieved : "*" + achieved + " (missed)*").Append(" of ").Append(SloFormat.Objective(entry.ObjectivePercent))
                  .Append(", ").Append(SloFormat.BudgetTime(r.BudgetRemaining!.Value)).Append(" of budget left (").Append(SloFormat.BudgetPercent(r.BudgetRemainingFraction!.Value)).Append(')');
                if (r.Incidents.Count > 0) sb.Append(", ").Append(r.Incidents.Count).Append(r.Incidents.Count == 1 ? " incident" : " incidents");
                sb.Append('\n');
            }
        }
        while (sb.Length > 1 && sb[^1] == '\n' && sb[^2] == '\n') sb.Length--;
        return sb.ToString().Replace("\n\n\n", "\n\n", StringComparison.Ordinal);
    }

    private static void AppendTable(StringBuilder sb, SloReport report, int period)
    {
        sb.Append("| ").Append(string.Join(" | ", SummaryColumns)).Append(" |\n");
        sb.Append('|').Append(string.Concat(Enumerable.Repeat("---|", SummaryColumns.Count))).Append('\n');
        foreach (var entry in report.Slos)
        {
            var r = entry.Results[period];
            sb.Append("| ").Append(Escape(entry.Service + " / " + entry.Slo))
              .Append(" | ").Append(Escape(entry.SeriesText))
              .Append(" | ").Append(SloFormat.Objective(entry.ObjectivePercent));
            if (!r.HasData)
            {
                sb.Append(" | no data | - | - | - | - | ").Append(r.Incidents.Count).Append(" |\n");
                continue;
            }
            sb.Append(" | ").Append(SloFormat.Sli(r.Achieved!.Value, entry.ObjectivePercent))
              .Append(" | ").Append(r.Met(entry.ObjectivePercent) == true ? "yes" : "**no**")
              .Append(" | ").Append(SloFormat.BudgetPercent(r.BudgetRemainingFraction!.Value)).Append(" (").Append(SloFormat.BudgetTime(r.BudgetRemaining!.Value)).Append(')')
              .Append(" | ").Append(SloFormat.BudgetTime(r.BudgetBurned!.Value)).Append(" of ").Append(SloFormat.BudgetTime(r.BudgetAllowed))
              .Append(" | ").Append(SloFormat.Rate(r.BurnRate(entry.ErrorBudgetRatio)!.Value))
              .Append(" | ").Append(r.Incidents.Count)
              .Append(" |\n");
        }
    }

    /// <summary>Escapes the characters that would break a table cell or start emphasis.</summary>
    internal static string Escape(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal)
            .Replace("*", "\\*", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal)
            .Replace("\n", " ", StringComparison.Ordinal);
}
