using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Monitor.Slo;

/// <summary>
/// One service's SLOs: a YAML document in Sloth's <c>prometheus/v1</c> format (see
/// <see cref="SloSpecParser"/> for the accepted keys and docs/slo.md for our <c>exh:</c> extensions).
/// </summary>
/// <param name="Source">The spec file name used in error messages and generated headers.</param>
/// <param name="Line">1-based line of the document's first key.</param>
/// <param name="Service">The <c>service</c>: becomes the <c>sloth_service</c> label and the first part of <c>sloth_id</c>.</param>
/// <param name="Labels">The <c>labels</c>: added to every recording rule of every SLO of the document (an SLO's own labels win).</param>
/// <param name="Slos">The <c>slos</c>, in file order (at least one).</param>
public sealed record SloServiceSpec(string Source, int Line, string Service, LabelSet Labels, IReadOnlyList<SloDefinition> Slos)
{
    /// <summary>The only spec version accepted: <c>prometheus/v1</c>, as Sloth's <c>version</c> key.</summary>
    public const string Version = "prometheus/v1";
}

/// <summary>One SLO of a <see cref="SloServiceSpec"/>.</summary>
/// <param name="Line">1-based line of the SLO's first key (for errors naming it).</param>
/// <param name="Name">The <c>name</c>: the <c>sloth_slo</c> label; letters, digits, <c>_ . -</c>.</param>
/// <param name="Id">The <c>sloth_id</c> label, <c>&lt;service&gt;-&lt;name&gt;</c> as Sloth builds it; also names the rule groups.</param>
/// <param name="Description">The optional <c>description</c> (informational).</param>
/// <param name="ObjectivePercent">The <c>objective</c>, a percentage in the open interval (0, 100), e.g. 99.9.</param>
/// <param name="Labels">Spec labels merged with the SLO's <c>labels</c> (the SLO's win): added to every recording rule.</param>
/// <param name="Sli">What counts as an error: events (error and total queries) or a raw error ratio.</param>
/// <param name="Alerting">The <c>alerting</c> block: alert name, labels, annotations, page and ticket alerts.</param>
/// <param name="Intervals">Optional per-group evaluation intervals (Sloth's <c>interval</c> key).</param>
/// <param name="Extensions">Our <c>exh:</c> block (traffic guard, grouping labels, absent alert), defaults when absent.</param>
public sealed record SloDefinition(
    int Line,
    string Name,
    string Id,
    string Description,
    double ObjectivePercent,
    LabelSet Labels,
    SloSli Sli,
    SloAlerting Alerting,
    SloIntervals Intervals,
    SloExtensions Extensions)
{
    /// <summary>The objective as a ratio, <c>objective / 100</c> (0.999 for 99.9), as Sloth's <c>slo:objective:ratio</c>.</summary>
    public double ObjectiveRatio => ObjectivePercent / 100;

    /// <summary>
    /// The error budget as a ratio, <c>(100 - objective) / 100</c> (0.001 for 99.9; computed in
    /// double precision exactly as Sloth does, so the thresholds print the same digits).
    /// </summary>
    public double ErrorBudgetRatio => (100 - ObjectivePercent) / 100;
}

/// <summary>
/// The SLI of an SLO: either events (<see cref="ErrorQuery"/> and <see cref="TotalQuery"/>) or a
/// raw error ratio (<see cref="ErrorRatioQuery"/>). Queries contain the <c>{{.window}}</c>
/// placeholder, replaced by each window (<c>5m</c> ... <c>3d</c>).
/// </summary>
/// <param name="ErrorQuery">Events: bad events per second over <c>{{.window}}</c> (Sloth's <c>sli.events.error_query</c>); null for raw.</param>
/// <param name="TotalQuery">Events: all events per second over <c>{{.window}}</c> (<c>sli.events.total_query</c>); null for raw.</param>
/// <param name="ErrorRatioQuery">Raw: the error ratio 0..1 over <c>{{.window}}</c> (<c>sli.raw.error_ratio_query</c>); null for events.</param>
public sealed record SloSli(string? ErrorQuery, string? TotalQuery, string? ErrorRatioQuery)
{
    /// <summary>True for an events SLI (error and total queries).</summary>
    public bool IsEvents => ErrorQuery is not null;
}

/// <summary>Sloth's <c>alerting</c> block.</summary>
/// <param name="Name">The alert name (<c>alerting.name</c>); required unless both alerts are disabled.</param>
/// <param name="Labels">Labels of every alert of the SLO.</param>
/// <param name="Annotations">Annotations of every alert of the SLO (override our defaults).</param>
/// <param name="Page">The page alert (fast burn: 14.4x over 1h and 5m, or 6x over 6h and 30m).</param>
/// <param name="Ticket">The ticket alert (slow burn: 3x over 1d and 2h, or 1x over 3d and 6h).</param>
public sealed record SloAlerting(string? Name, LabelSet Labels, IReadOnlyDictionary<string, string> Annotations, SloAlertSpec Page, SloAlertSpec Ticket);

/// <summary>Sloth's <c>page_alert</c> / <c>ticket_alert</c>.</summary>
/// <param name="Disabled"><c>disable: true</c>: the alert is not generated.</param>
/// <param name="Labels">Labels of this alert (win over <see cref="SloAlerting.Labels"/>).</param>
/// <param name="Annotations">Annotations of this alert (win over <see cref="SloAlerting.Annotations"/>).</param>
/// <param name="For">Optional Prometheus <c>for</c> of the alert rules (newer Sloth specs carry it); null for none.</param>
public sealed record SloAlertSpec(bool Disabled, LabelSet Labels, IReadOnlyDictionary<string, string> Annotations, TimeSpan? For)
{
    /// <summary>An enabled alert without labels, annotations or <c>for</c>.</summary>
    public static SloAlertSpec Default { get; } = new(false, LabelSet.Empty, new SortedDictionary<string, string>(StringComparer.Ordinal), null);
}

/// <summary>Sloth's <c>interval</c> key: evaluation interval of each generated rule group (null: Prometheus's global interval).</summary>
/// <param name="SliError">The <c>sloth-slo-sli-recordings-*</c> group (<c>slierror</c>, or <c>all</c>).</param>
/// <param name="Metadata">The <c>sloth-slo-meta-recordings-*</c> group (<c>metadata</c>, or <c>all</c>).</param>
/// <param name="Alert">The <c>sloth-slo-alerts-*</c> group (<c>alert</c>, or <c>all</c>).</param>
public sealed record SloIntervals(TimeSpan? SliError, TimeSpan? Metadata, TimeSpan? Alert)
{
    /// <summary>No interval for any group.</summary>
    public static SloIntervals None { get; } = new(null, null, null);
}

/// <summary>
/// Our per-SLO extensions, the optional <c>exh:</c> block of an SLO (documented in docs/slo.md).
/// </summary>
/// <param name="GroupBy">
/// Labels that tell the SLI's series apart (e.g. <c>market</c>): the traffic guard matches
/// <c>on(...)</c> them and the generated inhibition rules require them <c>equal</c>. Empty: one series per SLO.
/// </param>
/// <param name="MinEvents">
/// Traffic guard: the least events in an alert's long window for it to fire; null = automatic per
/// tier (<see cref="SloRuleGenerator.AutoMinEvents"/>); 0 = no guard.
/// </param>
/// <param name="EventsQuery">
/// Events in <c>{{.window}}</c> for the traffic guard; null = <c>(total_query) * window seconds</c>
/// (events SLIs, whose total query is a per-second rate). A raw SLI without it has no guard.
/// </param>
/// <param name="AbsentFor">
/// <c>for</c> of the SLI-absent alert; null = default (10m when any burn-rate alert is enabled, else
/// no absent alert); <see cref="TimeSpan.Zero"/> = no absent alert.
/// </param>
public sealed record SloExtensions(IReadOnlyList<string> GroupBy, long? MinEvents, string? EventsQuery, TimeSpan? AbsentFor)
{
    /// <summary>No <c>exh:</c> block: every default.</summary>
    public static SloExtensions Default { get; } = new([], null, null, null);
}
