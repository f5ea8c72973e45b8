using System.Globalization;
using System.Text;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Monitor.Slo;

/// <summary>
/// One multiwindow burn-rate condition of the SRE Workbook (ch. 5, "Alerting on SLOs"): the alert
/// fires when the error ratio over both <see cref="LongWindow"/> and <see cref="ShortWindow"/>
/// exceeds <see cref="Factor"/> times the error budget.
/// </summary>
/// <param name="Name">The <c>exh_tier</c> label: <c>page-fast</c>, <c>page-slow</c>, <c>ticket-fast</c>, <c>ticket-slow</c>.</param>
/// <param name="Severity">The <c>sloth_severity</c> label: <c>page</c> or <c>ticket</c>.</param>
/// <param name="Factor">Burn rate: 1 spends exactly the period's budget in the period.</param>
/// <param name="LongWindow">The long window (<c>1h</c>, <c>6h</c>, <c>1d</c>, <c>3d</c>); the traffic guard counts events over it.</param>
/// <param name="ShortWindow">The short window (<c>5m</c>, <c>30m</c>, <c>2h</c>, <c>6h</c>): the alert resets soon after the burn stops.</param>
public sealed record SloBurnRateTier(string Name, string Severity, double Factor, string LongWindow, string ShortWindow);

/// <summary>A Prometheus rule group (rule-file format).</summary>
/// <param name="Name">The group name (Sloth's: <c>sloth-slo-sli-recordings-&lt;id&gt;</c>, <c>sloth-slo-meta-recordings-&lt;id&gt;</c>, <c>sloth-slo-alerts-&lt;id&gt;</c>).</param>
/// <param name="Interval">The group's <c>interval</c>, or null for Prometheus's global evaluation interval.</param>
/// <param name="Rules">The rules in evaluation order.</param>
public sealed record PromRuleGroup(string Name, TimeSpan? Interval, IReadOnlyList<PromRule> Rules);

/// <summary>A recording rule (<see cref="Record"/> set) or an alerting rule (<see cref="Alert"/> set).</summary>
/// <param name="Record">The recorded series name, or null for an alert.</param>
/// <param name="Alert">The alert name, or null for a recording rule.</param>
/// <param name="Expr">The PromQL expression.</param>
/// <param name="For">The alert's <c>for</c>, or null.</param>
/// <param name="Labels">Labels added to the result.</param>
/// <param name="Annotations">Alert annotations (Prometheus templates), sorted by name; empty for recording rules.</param>
public sealed record PromRule(string? Record, string? Alert, string Expr, TimeSpan? For, LabelSet Labels, IReadOnlyDictionary<string, string> Annotations);

/// <summary>An Alertmanager inhibition rule (<c>inhibit_rules</c> entry, matcher syntax of Alertmanager 0.22+).</summary>
/// <param name="SourceMatchers">Matchers an alert must satisfy to mute others, e.g. <c>exh_tier="page-fast"</c>.</param>
/// <param name="TargetMatchers">Matchers of the alerts it mutes.</param>
/// <param name="Equal">Labels whose values must be equal in source and target.</param>
public sealed record AlertmanagerInhibitRule(IReadOnlyList<string> SourceMatchers, IReadOnlyList<string> TargetMatchers, IReadOnlyList<string> Equal);

/// <summary>
/// Turns <see cref="SloServiceSpec"/>s into Prometheus rules with Sloth's names and shape (so
/// Sloth dashboards work): per SLO the SLI recording rules <c>slo:sli_error:ratio_rate&lt;window&gt;</c>
/// for 5m, 30m, 1h, 2h, 6h, 1d, 3d and the 30d period, the metadata rules
/// (<c>slo:objective:ratio</c>, <c>slo:error_budget:ratio</c>, <c>slo:time_period:days</c>,
/// <c>slo:current_burn_rate:ratio</c>, <c>slo:period_burn_rate:ratio</c>,
/// <c>slo:period_error_budget_remaining:ratio</c>, <c>sloth_slo_info</c>) and the multiwindow
/// multi-burn-rate alerts of the SRE Workbook. Beyond Sloth:
/// <list type="bullet">
/// <item>each burn-rate condition is its own alert rule (same alert name, <c>sloth_severity</c>
/// as Sloth, plus <c>exh_tier</c> and a default <c>severity</c>), so
/// <see cref="InhibitRules"/> can let a faster tier mute the slower ones;</item>
/// <item>a minimum-traffic guard: a tier fires only when its long window holds at least
/// <see cref="MinEventsFor"/> events (a thin market must not page on one failed order);</item>
/// <item>an events SLI with no events (or no error series yet) records 0, not NaN or nothing, so the
/// 30d mean stays defined and the absent alert means what it says;</item>
/// <item>an SLI-absent alert (<c>&lt;alert name&gt;SLIAbsent</c>) when the 5m SLI series is gone.</item>
/// </list>
/// Output is deterministic: rule order follows the spec, labels and annotations are sorted.
/// </summary>
public static class SloRuleGenerator
{
    /// <summary>The SLI windows recorded from the spec's queries, as Sloth.</summary>
    public static IReadOnlyList<string> SliWindows { get; } = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

    /// <summary>The SLO period window (Sloth's default), recorded as the mean of the 5m ratios.</summary>
    public const string PeriodWindow = "30d";

    /// <summary>The SLO period in days (<c>slo:time_period:days</c>).</summary>
    public const int PeriodDays = 30;

    /// <summary>
    /// Bad events a tier's threshold must stand for under the automatic traffic guard: a tier fires
    /// only when its long window has at least <c>ceil(3 / (factor * error budget))</c> events.
    /// </summary>
    public const int AutoGuardBadEvents = 3;

    /// <summary>The default <c>for</c> of the SLI-absent alert.</summary>
    public static TimeSpan DefaultAbsentFor { get; } = TimeSpan.FromMinutes(10);

    /// <summary>The four burn-rate tiers, fastest first (SRE Workbook table 5-8; Sloth's windows and factors).</summary>
    public static IReadOnlyList<SloBurnRateTier> Tiers { get; } =
    [
        new("page-fast", "page", 14.4, "1h", "5m"),
        new("page-slow", "page", 6, "6h", "30m"),
        new("ticket-fast", "ticket", 3, "1d", "2h"),
        new("ticket-slow", "ticket", 1, "3d", "6h"),
    ];

    /// <summary>The rule groups of every SLO of <paramref name="spec"/>: SLI, metadata and (when any alert is enabled) alert groups per SLO.</summary>
    /// <param name="spec">A parsed spec.</param>
    /// <returns>Groups in spec order.</returns>
    public static IReadOnlyList<PromRuleGroup> Groups(SloServiceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var groups = new List<PromRuleGroup>();
        foreach (var slo in spec.Slos)
        {
            groups.Add(new PromRuleGroup($"sloth-slo-sli-recordings-{slo.Id}", slo.Intervals.SliError, SliRules(spec, slo)));
            groups.Add(new PromRuleGroup($"sloth-slo-meta-recordings-{slo.Id}", slo.Intervals.Metadata, MetaRules(spec, slo)));
            var alerts = AlertRules(spec, slo);
            if (alerts.Count > 0) groups.Add(new PromRuleGroup($"sloth-slo-alerts-{slo.Id}", slo.Intervals.Alert, alerts));
        }
        return groups;
    }

    /// <summary>
    /// The inhibition rules of <paramref name="spec"/>: for each SLO and each enabled tier, one rule
    /// muting the enabled slower tiers of the same SLO, with <c>equal: [sloth_id, &lt;exh.group_by&gt;...]</c>
    /// (a page-fast burn on BTC/USD mutes BTC/USD's page-slow and ticket alerts, not ETH/USD's).
    /// </summary>
    /// <param name="spec">A parsed spec.</param>
    /// <returns>Rules in spec and tier order.</returns>
    public static IReadOnlyList<AlertmanagerInhibitRule> InhibitRules(SloServiceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var rules = new List<AlertmanagerInhibitRule>();
        foreach (var slo in spec.Slos)
        {
            var enabled = EnabledTiers(slo).ToList();
            for (int i = 0; i < enabled.Count - 1; i++)
            {
                string idMatcher = Matcher("sloth_id", "=", slo.Id);
                var slower = enabled.Skip(i + 1).Select(t => t.Name).ToList();
                string target = slower.Count == 1 ? Matcher("exh_tier", "=", slower[0]) : Matcher("exh_tier", "=~", string.Join('|', slower));
                rules.Add(new AlertmanagerInhibitRule(
                    [idMatcher, Matcher("exh_tier", "=", enabled[i].Name)],
                    [idMatcher, target],
                    ["sloth_id", .. slo.Extensions.GroupBy]));
            }
        }
        return rules;
    }

    /// <summary>
    /// The traffic guard of <paramref name="tier"/> for <paramref name="slo"/>: 0 when there is none
    /// (<c>exh.min_events: 0</c>, or a raw SLI without <c>exh.events_query</c>), the configured
    /// <c>exh.min_events</c>, else <see cref="AutoMinEvents"/>.
    /// </summary>
    public static long MinEventsFor(SloDefinition slo, SloBurnRateTier tier)
    {
        ArgumentNullException.ThrowIfNull(slo);
        ArgumentNullException.ThrowIfNull(tier);
        if (!slo.Sli.IsEvents && slo.Extensions.EventsQuery is null) return 0;
        return slo.Extensions.MinEvents ?? AutoMinEvents(slo.ErrorBudgetRatio, tier.Factor);
    }

    /// <summary>
    /// The automatic traffic guard: <c>ceil(<see cref="AutoGuardBadEvents"/> / (factor * budget))</c>,
    /// the traffic at which the tier's threshold stands for 3 bad events, so fewer than 3 failures
    /// never fire it (99.95%, page-fast: 417 events in the hour).
    /// </summary>
    public static long AutoMinEvents(double errorBudgetRatio, double factor) =>
        (long)Math.Ceiling(Math.Round(AutoGuardBadEvents / (factor * errorBudgetRatio), 6));

    /// <summary>Renders a complete rule file (Prometheus rule-file YAML) for <paramref name="specs"/>.</summary>
    /// <param name="specs">The specs of one spec file.</param>
    /// <param name="header">Comment lines written first (without <c>#</c>), e.g. the "generated by" notice.</param>
    /// <returns>The file text, <c>\n</c> line ends, ending with a newline.</returns>
    public static string RenderRuleFile(IEnumerable<SloServiceSpec> specs, IEnumerable<string> header)
    {
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentNullException.ThrowIfNull(header);
        var sb = new StringBuilder();
        foreach (string line in header) sb.Append("# ").Append(line).Append('\n');
        var groups = specs.SelectMany(Groups).ToList();
        if (groups.Count == 0)
        {
            sb.Append("groups: []\n");
            return sb.ToString();
        }
        sb.Append("groups:\n");
        foreach (var group in groups)
        {
            sb.Append("  - name: ").Append(Yaml.Scalar(group.Name)).Append('\n');
            if (group.Interval is { } interval) sb.Append("    interval: ").Append(PromDuration.Format(interval)).Append('\n');
            sb.Append("    rules:\n");
            foreach (var rule in group.Rules)
            {
                if (rule.Record is not null) sb.Append("      - record: ").Append(Yaml.Scalar(rule.Record)).Append('\n');
                else sb.Append("      - alert: ").Append(Yaml.Scalar(rule.Alert!)).Append('\n');
                sb.Append("        expr: ");
                Yaml.AppendText(sb, rule.Expr, "          ");
                if (rule.For is { } f) sb.Append("        for: ").Append(PromDuration.Format(f)).Append('\n');
                if (rule.Labels.Count > 0)
                {
                    sb.Append("        labels:\n");
                    foreach (var (name, value) in rule.Labels) sb.Append("          ").Append(name).Append(": ").Append(Yaml.Scalar(value)).Append('\n');
                }
                if (rule.Annotations.Count > 0)
                {
                    sb.Append("        annotations:\n");
                    foreach (var (name, value) in rule.Annotations.OrderBy(a => a.Key, StringComparer.Ordinal))
                    {
                        sb.Append("          ").Append(name).Append(": ");
                        Yaml.AppendText(sb, value, "            ");
                    }
                }
            }
        }
        return sb.ToString();
    }

    /// <summary>
    /// Renders an Alertmanager file whose only key is <c>inhibit_rules:</c> for <paramref name="specs"/>
    /// (merge its list into alertmanager.yml, or load it as our monitor's inhibition config).
    /// </summary>
    /// <param name="specs">The specs of every spec file.</param>
    /// <param name="header">Comment lines written first (without <c>#</c>).</param>
    /// <returns>The file text, <c>\n</c> line ends.</returns>
    public static string RenderInhibitFile(IEnumerable<SloServiceSpec> specs, IEnumerable<string> header)
    {
        ArgumentNullException.ThrowIfNull(specs);
        ArgumentNullException.ThrowIfNull(header);
        var sb = new StringBuilder();
        foreach (string line in header) sb.Append("# ").Append(line).Append('\n');
        var rules = specs.SelectMany(InhibitRules).ToList();
        if (rules.Count == 0)
        {
            sb.Append("inhibit_rules: []\n");
            return sb.ToString();
        }
        sb.Append("inhibit_rules:\n");
        foreach (var rule in rules)
        {
            sb.Append("  - source_matchers:\n");
            foreach (string m in rule.SourceMatchers) sb.Append("      - ").Append(Yaml.Quoted(m)).Append('\n');
            sb.Append("    target_matchers:\n");
            foreach (string m in rule.TargetMatchers) sb.Append("      - ").Append(Yaml.Quoted(m)).Append('\n');
            sb.Append("    equal: [").Append(string.Join(", ", rule.Equal)).Append("]\n");
        }
        return sb.ToString();
    }

    /// <summary>Formats a number as Prometheus and Sloth print it: shortest round-trip digits, invariant culture.</summary>
    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static IEnumerable<SloBurnRateTier> EnabledTiers(SloDefinition slo) =>
        Tiers.Where(t => !(t.Severity == "page" ? slo.Alerting.Page : slo.Alerting.Ticket).Disabled);

    /// <summary>The selector of one SLO's series, in Sloth's label order.</summary>
    private static string Selector(SloDefinition slo, SloServiceSpec spec) =>
        $"{{sloth_id=\"{slo.Id}\", sloth_service=\"{spec.Service}\", sloth_slo=\"{slo.Name}\"}}";

    private static LabelSet IdentityLabels(SloServiceSpec spec, SloDefinition slo) =>
        slo.Labels.Merge(LabelSet.Of("sloth_id", slo.Id, "sloth_service", spec.Service, "sloth_slo", slo.Name));

    private static List<PromRule> SliRules(SloServiceSpec spec, SloDefinition slo)
    {
        var rules = new List<PromRule>();
        var identity = IdentityLabels(spec, slo);
        foreach (string window in SliWindows)
            rules.Add(Recording($"slo:sli_error:ratio_rate{window}", SliExpression(slo.Sli, window), identity.With("sloth_window", window)));
        string ratio5m = "slo:sli_error:ratio_rate5m" + Selector(slo, spec);
        rules.Add(Recording(
            $"slo:sli_error:ratio_rate{PeriodWindow}",
            $"sum_over_time({ratio5m}[{PeriodWindow}])\n/ ignoring (sloth_window)\ncount_over_time({ratio5m}[{PeriodWindow}])",
            identity.With("sloth_window", PeriodWindow)));
        return rules;
    }

    /// <summary>
    /// The error ratio over <paramref name="window"/>. Events: <c>error / (total &gt; 0) or total * 0</c>,
    /// which is Sloth's <c>error / total</c> except that no traffic gives 0 instead of NaN, and a
    /// missing error series (a labelled counter before its first event) gives 0 instead of no series.
    /// Raw: the query in parentheses, as Sloth.
    /// </summary>
    internal static string SliExpression(SloSli sli, string window)
    {
        if (!sli.IsEvents) return "(" + SloSpecParser.ExpandWindow(sli.ErrorRatioQuery!, window) + ")";
        string error = SloSpecParser.ExpandWindow(sli.ErrorQuery!, window);
        string total = SloSpecParser.ExpandWindow(sli.TotalQuery!, window);
        return "(\n" + Indent("(" + error + ")", "  ") + "\n  /\n" + Indent("((" + total + ") > 0)", "  ") + "\n)\nor\n(" + total + ") * 0";
    }

    private static List<PromRule> MetaRules(SloServiceSpec spec, SloDefinition slo)
    {
        var identity = IdentityLabels(spec, slo);
        string sel = Selector(slo, spec);
        string objective = Number(slo.ObjectiveRatio);
        return
        [
            Recording("slo:objective:ratio", $"vector({objective})", identity),
            Recording("slo:error_budget:ratio", $"vector(1-{objective})", identity),
            Recording("slo:time_period:days", $"vector({PeriodDays.ToString(CultureInfo.InvariantCulture)})", identity),
            Recording("slo:current_burn_rate:ratio",
                $"slo:sli_error:ratio_rate5m{sel}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{sel}", identity),
            Recording("slo:period_burn_rate:ratio",
                $"slo:sli_error:ratio_rate{PeriodWindow}{sel}\n/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{sel}", identity),
            Recording("slo:period_error_budget_remaining:ratio", $"1 - slo:period_burn_rate:ratio{sel}", identity),
            Recording("sloth_slo_info", "vector(1)", identity.Merge(LabelSet.Of(
                "sloth_mode", "cli-gen-prom",
                "sloth_objective", Number(slo.ObjectivePercent),
                "sloth_spec", SloServiceSpec.Version,
                "sloth_version", "exh"))),
        ];
    }

    private static List<PromRule> AlertRules(SloServiceSpec spec, SloDefinition slo)
    {
        var rules = new List<PromRule>();
        string selector = Selector(slo, spec);
        string budget = Number(slo.ErrorBudgetRatio);
        foreach (var tier in EnabledTiers(slo))
        {
            var alert = tier.Severity == "page" ? slo.Alerting.Page : slo.Alerting.Ticket;
            string threshold = $"({Number(tier.Factor)} * {budget})";
            var expr = new StringBuilder();
            expr.Append("(\n");
            expr.Append("  slo:sli_error:ratio_rate").Append(tier.LongWindow).Append(selector).Append(" > ").Append(threshold).Append('\n');
            expr.Append("  and ignoring (sloth_window)\n");
            expr.Append("  slo:sli_error:ratio_rate").Append(tier.ShortWindow).Append(selector).Append(" > ").Append(threshold).Append('\n');
            expr.Append(')');
            long minEvents = MinEventsFor(slo, tier);
            if (minEvents > 0)
            {
                string events = EventsExpression(slo, tier.LongWindow);
                expr.Append("\nand on (").Append(string.Join(", ", slo.Extensions.GroupBy)).Append(")\n(\n");
                expr.Append(Indent(events + " >= " + minEvents.ToString(CultureInfo.InvariantCulture), "  ")).Append("\n)");
            }

            var labels = slo.Alerting.Labels.Merge(alert.Labels);
            if (!labels.Contains("severity")) labels = labels.With("severity", tier.Severity == "page" ? "critical" : "warning");
            labels = labels.With("sloth_severity", tier.Severity).With("exh_tier", tier.Name);

            var annotations = new SortedDictionary<string, string>(StringComparer.Ordinal)
            {
                ["title"] = $"({tier.Severity}) {{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO error budget burn rate is too fast.",
                ["summary"] = "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected.",
                ["description"] = BurnDescription(slo, tier, minEvents),
            };
            foreach (var (k, v) in slo.Alerting.Annotations) annotations[k] = v;
            foreach (var (k, v) in alert.Annotations) annotations[k] = v;
            rules.Add(new PromRule(null, slo.Alerting.Name, expr.ToString(), alert.For, labels, annotations));
        }

        var absentFor = slo.Extensions.AbsentFor ?? (rules.Count > 0 ? DefaultAbsentFor : TimeSpan.Zero);
        if (absentFor > TimeSpan.Zero)
        {
            string name = (slo.Alerting.Name ?? "SLO") + "SLIAbsent";
            string series = "slo:sli_error:ratio_rate5m" + selector;
            var labels = slo.Alerting.Labels;
            if (!labels.Contains("severity")) labels = labels.With("severity", "warning");
            string period = PromDuration.Format(absentFor);
            var annotations = new SortedDictionary<string, string>(StringComparer.Ordinal)
            {
                ["summary"] = $"{{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}} SLO: no SLI series for {period}; the SLO cannot alert.",
                ["description"] =
                    $"{series} has had no series for at least {period}: the SLI's source metrics are gone " +
                    "(the engine or canary is down or no longer scraped, or a job or metric was renamed). " +
                    "Until it is back this SLO is blind: its burn-rate alerts cannot fire.",
            };
            foreach (var (k, v) in slo.Alerting.Annotations)
                if (k.StartsWith("runbook", StringComparison.Ordinal)) annotations[k] = v;
            rules.Add(new PromRule(null, name, $"absent({series})", absentFor, labels, annotations));
        }
        return rules;
    }

    /// <summary>Events in <paramref name="window"/> for the traffic guard: <c>exh.events_query</c>, else <c>(total_query) * seconds</c>.</summary>
    internal static string EventsExpression(SloDefinition slo, string window)
    {
        if (slo.Extensions.EventsQuery is { } q) return "(" + SloSpecParser.ExpandWindow(q, window) + ")";
        long seconds = (long)PromDuration.Parse(window).TotalSeconds;
        return "(" + SloSpecParser.ExpandWindow(slo.Sli.TotalQuery!, window) + ") * " + seconds.ToString(CultureInfo.InvariantCulture);
    }

    private static string BurnDescription(SloDefinition slo, SloBurnRateTier tier, long minEvents)
    {
        var inv = CultureInfo.InvariantCulture;
        string where = slo.Extensions.GroupBy.Count == 0 ? "" : " (" + string.Join(", ", slo.Extensions.GroupBy.Select(l => $"{l} {{{{$labels.{l}}}}}")) + ")";
        string budgetPercent = (slo.ErrorBudgetRatio * 100).ToString("0.####", inv);
        string objective = slo.ObjectivePercent.ToString("0.####", inv);
        var exhaustion = TimeSpan.FromHours(Math.Round(PeriodDays * 24 / tier.Factor));
        string guard = minEvents > 0 ? $" Only alerts with at least {minEvents.ToString(inv)} events in {tier.LongWindow}." : "";
        return $"{{{{$labels.sloth_service}}}} {{{{$labels.sloth_slo}}}}{where}: error ratio {{{{ $value | humanizePercentage }}}} over the last {tier.LongWindow} " +
               $"(and over {tier.ShortWindow}) is above {Number(tier.Factor)}x the error budget of {budgetPercent}% (objective {objective}% over {PeriodDays}d). " +
               $"At this rate the {PeriodDays}d budget is gone in about {PromDuration.Format(exhaustion)}. Tier {tier.Name}.{guard}";
    }

    private static PromRule Recording(string name, string expr, LabelSet labels) =>
        new(name, null, expr, null, labels, new SortedDictionary<string, string>(StringComparer.Ordinal));

    private static string Matcher(string label, string op, string value) => $"{label}{op}\"{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}\"";

    private static string Indent(string text, string indent) =>
        string.Join('\n', text.Split('\n').Select(l => l.Length == 0 ? l : indent + l));

    /// <summary>The few YAML emitting rules the generator needs (block scalars, plain or double-quoted scalars).</summary>
    internal static class Yaml
    {
        private static readonly string[] _keywords = ["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"];

        /// <summary>A scalar: plain when unambiguous as a string, else double-quoted.</summary>
        public static string Scalar(string value) => IsPlainSafe(value) ? value : Quoted(value);

        /// <summary>A double-quoted YAML scalar (JSON-compatible escapes).</summary>
        public static string Quoted(string value)
        {
            var sb = new StringBuilder("\"");
            foreach (char c in value)
            {
                switch (c)
                {
                    case '\\': sb.Append("\\\\"); break;
                    case '"': sb.Append("\\\""); break;
                    case '\n': sb.Append("\\n"); break;
                    case '\t': sb.Append("\\t"); break;
                    case '\r': sb.Append("\\r"); break;
                    default:
                        if (char.IsControl(c)) sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                        else sb.Append(c);
                        break;
                }
            }
            return sb.Append('"').ToString();
        }

        /// <summary>
        /// Appends a value after <c>key: </c> and a newline: multi-line text as a literal block
        /// (<c>|-</c>, or <c>|</c> when it ends with one newline; lines indented by <paramref name="indent"/>),
        /// anything a block cannot hold exactly (leading or trailing spaces on a line, control
        /// characters, several final newlines) and single lines as a scalar.
        /// </summary>
        public static void AppendText(StringBuilder sb, string value, string indent)
        {
            bool finalNewline = value.EndsWith('\n') && !value.EndsWith("\n\n", StringComparison.Ordinal);
            string body = finalNewline ? value[..^1] : value;
            var lines = body.Split('\n');
            bool block = (lines.Length > 1 || finalNewline) && body.Length > 0 && !char.IsWhiteSpace(body[0])
                && lines.All(l => l.Length == 0 || (!char.IsWhiteSpace(l[^1]) && !l.Any(char.IsControl)));
            if (!block)
            {
                sb.Append(Scalar(value)).Append('\n');
                return;
            }
            sb.Append(finalNewline ? "|\n" : "|-\n");
            foreach (string line in lines)
            {
                if (line.Length > 0) sb.Append(indent).Append(line);
                sb.Append('\n');
            }
        }

        private static bool IsPlainSafe(string s)
        {
            if (s.Length == 0 || char.IsWhiteSpace(s[0]) || char.IsWhiteSpace(s[^1])) return false;
            if (_keywords.Contains(s.ToLowerInvariant())) return false;
            char first = s[0];
            if (!(char.IsAsciiLetter(first) || first == '_' || first == '/' || IsDurationLike(s))) return false;
            foreach (char c in s)
            {
                if (char.IsControl(c) || "{}[],#&*!|>'\"%@`\\".Contains(c, StringComparison.Ordinal)) return false;
            }
            return !s.Contains(": ", StringComparison.Ordinal) && !s.EndsWith(':');
        }

        private static bool IsDurationLike(string s) => PromDuration.TryParse(s, out _, out _) && s != "0";
    }
}
