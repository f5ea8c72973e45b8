using System.Text;
using ExchangeHealth.Engine;

namespace ExchangeHealth.Alerting.Routing;

/// <summary>Alertmanager's <c>global</c> section, the parts ExchangeHealth uses.</summary>
/// <param name="ResolveTimeout">An alert received without an end time is treated as resolved when it is not received again within this time (Alertmanager's <c>resolve_timeout</c>, default 5 min).</param>
/// <param name="SlackApiUrl">Default Slack URL for <c>slack_configs</c> without <c>api_url</c>, or null. A secret: never printed.</param>
public sealed record GlobalConfig(TimeSpan ResolveTimeout, string? SlackApiUrl)
{
    /// <summary>Alertmanager's default <c>resolve_timeout</c>: 5 minutes.</summary>
    public static readonly TimeSpan DefaultResolveTimeout = TimeSpan.FromMinutes(5);

    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("ResolveTimeout = ").Append(ExchangeHealth.Monitor.Prometheus.PromDuration.Format(ResolveTimeout))
            .Append(", SlackApiUrl = ").Append(SlackApiUrl is null ? "null" : "<secret>");
        return true;
    }
}

/// <summary>
/// One <c>slack_configs</c> entry. Alertmanager's keys <c>channel</c>, <c>api_url</c>,
/// <c>send_resolved</c>, <c>title</c>, <c>text</c>, plus ExchangeHealth's extensions
/// <c>mention</c>, <c>escalate_after</c> and <c>escalation_mention</c>.
/// </summary>
/// <param name="ApiUrl">The Slack URL (inline <c>api_url</c> or <c>global.slack_api_url</c>; required as in Alertmanager). A secret: never printed.</param>
/// <param name="Channel">Channel to post to (e.g. <c>#exchange-oncall</c>), or null for the URL's default.</param>
/// <param name="SendResolved">Whether resolved notifications are sent. Default <b>true</b> in ExchangeHealth (Alertmanager's Slack default is false).</param>
/// <param name="Title">Optional title text (used verbatim; Go templates are not supported).</param>
/// <param name="Text">Optional body text (used verbatim).</param>
/// <param name="Mention">Extension: mention put in the first message of a group, e.g. <c>&lt;!here&gt;</c>, or null.</param>
/// <param name="EscalateAfter">Extension: a page not acknowledged within this time is re-sent with <paramref name="EscalationMention"/>; null for no escalation.</param>
/// <param name="EscalationMention">Extension: who to mention on escalation, e.g. <c>&lt;!subteam^S0ABC&gt;</c>.</param>
/// <param name="Line">Line of the entry in its file.</param>
public sealed record SlackConfig(
    string ApiUrl,
    string? Channel,
    bool SendResolved,
    string? Title,
    string? Text,
    string? Mention,
    TimeSpan? EscalateAfter,
    string? EscalationMention,
    int Line)
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("ApiUrl = <secret>, Channel = ").Append(Channel)
            .Append(", SendResolved = ").Append(SendResolved)
            .Append(", EscalateAfter = ").Append(EscalateAfter is { } e ? ExchangeHealth.Monitor.Prometheus.PromDuration.Format(e) : "null")
            .Append(", Line = ").Append(Line);
        return true;
    }
}

/// <summary>One <c>webhook_configs</c> entry (Alertmanager's webhook receiver: POSTs the version-4 JSON payload).</summary>
/// <param name="Url">http or https URL. Treated as a secret (it often carries a token): never printed.</param>
/// <param name="SendResolved">Whether resolved notifications are sent (default true, as Alertmanager).</param>
/// <param name="MaxAlerts">Most alerts per payload; 0 means all (as Alertmanager).</param>
/// <param name="Line">Line of the entry in its file.</param>
public sealed record WebhookConfig(string Url, bool SendResolved, int MaxAlerts, int Line)
{
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append("Url = <secret>, SendResolved = ").Append(SendResolved)
            .Append(", MaxAlerts = ").Append(MaxAlerts).Append(", Line = ").Append(Line);
        return true;
    }
}

/// <summary>
/// A named receiver with its integrations. A receiver without integrations is valid (as in
/// Alertmanager: it swallows notifications).
/// </summary>
/// <param name="Name">Unique name referenced by routes.</param>
/// <param name="SlackConfigs">Slack integrations.</param>
/// <param name="WebhookConfigs">Webhook integrations.</param>
/// <param name="Line">Line of the receiver in its file.</param>
public sealed record ReceiverConfig(string Name, IReadOnlyList<SlackConfig> SlackConfigs, IReadOnlyList<WebhookConfig> WebhookConfigs, int Line)
{
    /// <summary>
    /// Whether the dispatcher sends resolved notifications to this receiver: true when any of its
    /// integrations has <c>send_resolved</c>. A notifier whose own integration has
    /// <c>send_resolved: false</c> drops the resolved alerts of a mixed receiver itself.
    /// </summary>
    public bool SendResolved => SlackConfigs.Any(s => s.SendResolved) || WebhookConfigs.Any(w => w.SendResolved);

    /// <summary>False for a receiver without any integration (Alertmanager drops its notifications; the dispatcher still enqueues them and the monitor host prints them on the console).</summary>
    public bool HasIntegrations => SlackConfigs.Count > 0 || WebhookConfigs.Count > 0;
}

/// <summary>
/// An inhibition rule (Alertmanager's <c>inhibit_rules</c> entry): while an alert matching
/// <see cref="SourceMatchers"/> fires, alerts matching <see cref="TargetMatchers"/> that have the
/// same values for every <see cref="Equal"/> label are muted.
/// </summary>
/// <param name="SourceMatchers"><c>source_matchers</c>, <c>source_match</c> and <c>source_match_re</c> together.</param>
/// <param name="TargetMatchers"><c>target_matchers</c>, <c>target_match</c> and <c>target_match_re</c> together.</param>
/// <param name="Equal">Labels that must have equal values in source and target (both absent counts as equal).</param>
/// <param name="Source">File the rule came from.</param>
/// <param name="Line">Its line there.</param>
public sealed record InhibitRule(
    IReadOnlyList<LabelMatcher> SourceMatchers,
    IReadOnlyList<LabelMatcher> TargetMatchers,
    IReadOnlyList<string> Equal,
    string Source,
    int Line);

/// <summary>
/// A routing configuration in Alertmanager's format (a subset of <c>alertmanager.yml</c>), so
/// teams can bring the configuration they already have:
/// <code>
/// global:
///   resolve_timeout: 5m
///   slack_api_url: https://slack.com/api/
/// route:                          # the root: receiver required, no matchers, no continue
///   receiver: default
///   group_by: [alertname, market] # or ['...'] for every label
///   group_wait: 30s               # defaults: 30s, 5m, 4h (as Alertmanager)
///   group_interval: 5m
///   repeat_interval: 4h
///   routes:
///     - matchers: ['severity="page"', 'market=~"BTC.*"']   # or legacy match: / match_re:
///       receiver: oncall
///       continue: true
/// receivers:
///   - name: oncall
///     slack_configs:
///       - channel: '#oncall'
///         send_resolved: true        # default true here (Alertmanager: false)
///         mention: '&lt;!here&gt;'         # extensions: mention, escalate_after, escalation_mention
///         escalate_after: 15m
///         escalation_mention: '&lt;!subteam^S0ABC&gt;'
///     webhook_configs:
///       - url: http://127.0.0.1:9000/hook
///         max_alerts: 10
/// inhibit_rules:
///   - source_matchers: [severity="page"]
///     target_matchers: [severity="ticket"]
///     equal: [alertname, market]
/// </code>
/// Everything else Alertmanager knows (templates, time intervals, other receiver types, HTTP
/// settings, Slack message fields) is refused with "not supported"; unknown keys are errors.
/// Validation follows <c>amtool check-config</c> (a differential test checks the agreement).
/// </summary>
public sealed class RoutingConfig
{
    internal RoutingConfig(string source, GlobalConfig global, Route root, IReadOnlyList<ReceiverConfig> receivers, IReadOnlyList<InhibitRule> inhibitRules)
    {
        Source = source;
        Global = global;
        Root = root;
        Receivers = receivers;
        ReceiversByName = receivers.ToDictionary(r => r.Name, StringComparer.Ordinal);
        InhibitRules = inhibitRules;
    }

    /// <summary>The main configuration file (or source name).</summary>
    public string Source { get; }

    /// <summary>The <c>global</c> section with defaults applied.</summary>
    public GlobalConfig Global { get; }

    /// <summary>The root of the routing tree.</summary>
    public Route Root { get; }

    /// <summary>Receivers in file order.</summary>
    public IReadOnlyList<ReceiverConfig> Receivers { get; }

    /// <summary>Receivers by name.</summary>
    public IReadOnlyDictionary<string, ReceiverConfig> ReceiversByName { get; }

    /// <summary>Inhibition rules: the configuration's own first, then those of the extra files in the order given.</summary>
    public IReadOnlyList<InhibitRule> InhibitRules { get; }

    /// <summary>
    /// Loads a configuration file and merges inhibition rules from
    /// <paramref name="extraInhibitRuleFiles"/> (files whose only top-level key is
    /// <c>inhibit_rules</c>, e.g. the rules generated from SLO specs).
    /// </summary>
    /// <exception cref="ConfigException">A file is missing or invalid; the message is <c>file:line: reason</c>.</exception>
    public static RoutingConfig Load(string path, IEnumerable<string>? extraInhibitRuleFiles = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var config = Parse(ReadFile(path), path);
        if (extraInhibitRuleFiles is null) return config;
        var rules = new List<InhibitRule>(config.InhibitRules);
        foreach (string file in extraInhibitRuleFiles)
            rules.AddRange(ParseInhibitRuleFile(ReadFile(file), file));
        return new RoutingConfig(config.Source, config.Global, config.Root, config.Receivers, rules);
    }

    /// <summary>Parses and validates a configuration from YAML text.</summary>
    /// <param name="yaml">The document.</param>
    /// <param name="sourceName">File name used in error messages.</param>
    /// <exception cref="ConfigException">The configuration is invalid; the message is <c>file:line: reason</c>.</exception>
    public static RoutingConfig Parse(string yaml, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentException.ThrowIfNullOrEmpty(sourceName);
        return new RoutingConfigParser(sourceName).ParseConfig(yaml);
    }

    /// <summary>Parses a file whose only top-level key is <c>inhibit_rules</c>.</summary>
    /// <exception cref="ConfigException">Another key, or an invalid rule; the message is <c>file:line: reason</c>.</exception>
    public static IReadOnlyList<InhibitRule> ParseInhibitRuleFile(string yaml, string sourceName)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentException.ThrowIfNullOrEmpty(sourceName);
        return new RoutingConfigParser(sourceName).ParseInhibitRuleFile(yaml);
    }

    /// <summary>The receiver named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such receiver (cannot happen for names taken from this configuration's routes).</exception>
    public ReceiverConfig Receiver(string name) =>
        ReceiversByName.TryGetValue(name, out var r) ? r : throw new KeyNotFoundException($"no receiver '{name}'");

    private static string ReadFile(string path)
    {
        try { return File.ReadAllText(path); }
        catch (IOException e) { throw new ConfigException(path, 0, $"cannot read the file: {e.Message}"); }
        catch (UnauthorizedAccessException e) { throw new ConfigException(path, 0, $"cannot read the file: {e.Message}"); }
    }
}
