using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Rules;

/// <summary>
/// A rule group of a Prometheus rule file (<c>groups[]</c> in Prometheus's rule-file format):
/// rules evaluated together, in order, every <see cref="Interval"/>.
/// </summary>
/// <param name="Name">The group's name, unique within its file; a group is identified by (<see cref="File"/>, <see cref="Name"/>).</param>
/// <param name="File">The file it was loaded from (as given to the loader; full paths for <see cref="RuleSet"/>).</param>
/// <param name="Line">1-based line of the group in <see cref="File"/>.</param>
/// <param name="Interval">The group's evaluation interval; null when absent or 0 (Prometheus then uses the global evaluation interval).</param>
/// <param name="Limit">Maximum number of alerts (or recorded series) per evaluation; 0 = no limit. As Prometheus: above it, the whole evaluation fails.</param>
/// <param name="Labels">The group-level labels (newer Prometheus); already merged into each rule's labels, where the rule's own labels win.</param>
/// <param name="AlertingRules">The alerting rules, in file order.</param>
/// <param name="RecordingRules">The recording rules, in file order (listed, not evaluated by the monitor: Prometheus evaluates them).</param>
public sealed record RuleGroup(
    string Name,
    string File,
    int Line,
    TimeSpan? Interval,
    int Limit,
    LabelSet Labels,
    IReadOnlyList<AlertingRule> AlertingRules,
    IReadOnlyList<RecordingRule> RecordingRules);

/// <summary>An alerting rule (<c>alert:</c>), as Prometheus's <c>rulefmt.RuleNode</c>.</summary>
/// <param name="Name">The alert name (<c>alertname</c> label); a valid metric name.</param>
/// <param name="Expr">The PromQL expression, trimmed; each result series is one alert instance.</param>
/// <param name="For">How long the condition must hold before pending turns firing; zero fires at once.</param>
/// <param name="KeepFiringFor">How long a firing alert keeps firing after the condition stops holding; zero resolves at once.</param>
/// <param name="Labels">The rule's labels (group labels merged under them), raw template text: render <see cref="LabelTemplates"/> per alert.</param>
/// <param name="Annotations">Annotation templates by name, in name order.</param>
/// <param name="LabelTemplates">One template per label of <see cref="Labels"/>, in name order (Prometheus expands label values as templates too; an empty result removes the label).</param>
/// <param name="File">The file it was loaded from.</param>
/// <param name="Line">1-based line of the rule in <see cref="File"/>.</param>
public sealed record AlertingRule(
    string Name,
    string Expr,
    TimeSpan For,
    TimeSpan KeepFiringFor,
    LabelSet Labels,
    IReadOnlyList<KeyValuePair<string, AlertTemplate>> Annotations,
    IReadOnlyList<KeyValuePair<string, AlertTemplate>> LabelTemplates,
    string File,
    int Line);

/// <summary>A recording rule (<c>record:</c>): kept so it can be listed; Prometheus evaluates it.</summary>
/// <param name="Record">The name of the recorded series; a valid metric name.</param>
/// <param name="Expr">The PromQL expression, trimmed.</param>
/// <param name="Labels">Labels added to the recorded series (group labels merged under them).</param>
/// <param name="File">The file it was loaded from.</param>
/// <param name="Line">1-based line of the rule in <see cref="File"/>.</param>
public sealed record RecordingRule(string Record, string Expr, LabelSet Labels, string File, int Line);
