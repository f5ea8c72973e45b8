using System.Globalization;
using ExchangeHealth.Engine;
using ExchangeHealth.Monitor.Prometheus;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace ExchangeHealth.Alerting.Routing;

/// <summary>
/// Reads the Alertmanager configuration subset described on <see cref="RoutingConfig"/> from a
/// YamlDotNet representation model, so that every error names its line. Validation rules and
/// wording follow Alertmanager 0.25's <c>config.Load</c>.
/// </summary>
internal sealed class RoutingConfigParser(string source)
{
    private static readonly string[] TopKeys = ["global", "route", "receivers", "inhibit_rules", "templates"];
    private static readonly string[] TopUnsupported = ["time_intervals", "mute_time_intervals"];

    private static readonly string[] GlobalKeys = ["resolve_timeout", "slack_api_url"];
    private static readonly string[] GlobalUnsupported =
    [
        "slack_api_url_file", "http_config", "smtp_from", "smtp_hello", "smtp_smarthost", "smtp_auth_username",
        "smtp_auth_password", "smtp_auth_password_file", "smtp_auth_secret", "smtp_auth_identity", "smtp_require_tls",
        "pagerduty_url", "opsgenie_api_url", "opsgenie_api_key", "opsgenie_api_key_file", "wechat_api_url",
        "wechat_api_secret", "wechat_api_corp_id", "victorops_api_url", "victorops_api_key", "victorops_api_key_file",
        "telegram_api_url", "webex_api_url",
    ];

    private static readonly string[] RouteKeys =
        ["receiver", "group_by", "group_wait", "group_interval", "repeat_interval", "matchers", "match", "match_re", "continue", "routes", "page"];
    private static readonly string[] RouteUnsupported = ["mute_time_intervals", "active_time_intervals"];

    private static readonly string[] ReceiverKeys = ["name", "slack_configs", "webhook_configs"];
    private static readonly string[] ReceiverUnsupported =
    [
        "email_configs", "pagerduty_configs", "opsgenie_configs", "wechat_configs", "pushover_configs", "victorops_configs",
        "sns_configs", "telegram_configs", "discord_configs", "webex_configs", "msteams_configs",
    ];

    private static readonly string[] EscalationKeys = ["escalate_after", "escalation_mention", "mention"];
    private static readonly string[] SlackKeys = ["send_resolved", "api_url", "channel", "title", "text", .. EscalationKeys];
    private static readonly string[] SlackUnsupported =
    [
        "http_config", "api_url_file", "username", "color", "title_link", "pretext", "fields", "short_fields", "footer",
        "fallback", "callback_id", "icon_emoji", "icon_url", "image_url", "thumb_url", "link_names", "mrkdwn_in", "actions",
    ];

    private static readonly string[] WebhookKeys = ["send_resolved", "url", "max_alerts"];
    private static readonly string[] WebhookUnsupported = ["http_config", "url_file"];

    private static readonly string[] InhibitKeys =
        ["source_matchers", "target_matchers", "source_match", "source_match_re", "target_match", "target_match_re", "equal"];

    private readonly string _source = source;

    public RoutingConfig ParseConfig(string yaml)
    {
        var root = LoadRoot(yaml);
        if (root is null) throw Fail(1, "no route provided in config");
        var fields = Fields(root, TopKeys, TopUnsupported, "the configuration");

        if (fields.TryGetValue("templates", out var templates) && !IsNull(templates) && !(templates is YamlSequenceNode { Children.Count: 0 }))
            throw Fail(templates, "templates are not supported (ExchangeHealth formats its own Slack and webhook messages)");

        var global = ParseGlobal(fields.GetValueOrDefault("global"));
        var receivers = ParseReceivers(fields.GetValueOrDefault("receivers"), global);

        if (!fields.TryGetValue("route", out var routeNode) || IsNull(routeNode))
            throw Fail(fields.TryGetValue("route", out var r) ? Line(r) : Line(root), "no route provided in config");
        var receiverNames = receivers.Select(x => x.Name).ToHashSet(StringComparer.Ordinal);
        var rootRoute = ParseRoute(Mapping(routeNode, "route"), null, 0, receiverNames);

        var inhibitRules = ParseInhibitRules(fields.GetValueOrDefault("inhibit_rules"));
        return new RoutingConfig(_source, global, rootRoute, receivers, inhibitRules);
    }

    public IReadOnlyList<InhibitRule> ParseInhibitRuleFile(string yaml)
    {
        var root = LoadRoot(yaml);
        if (root is null) return [];
        var fields = Fields(root, ["inhibit_rules"], [], "an inhibition rule file (its only key is inhibit_rules)");
        return ParseInhibitRules(fields.GetValueOrDefault("inhibit_rules"));
    }

    private YamlMappingNode? LoadRoot(string yaml)
    {
        var stream = new YamlStream();
        try { stream.Load(new StringReader(yaml)); }
        catch (YamlException e)
        {
            string message = e.InnerException is { } inner ? $"{e.Message} {inner.Message}" : e.Message;
            throw new ConfigException(_source, (int)e.Start.Line, $"not valid YAML: {message}");
        }
        if (stream.Documents.Count == 0) return null;
        if (stream.Documents.Count > 1) throw Fail(stream.Documents[1].RootNode, "expected one YAML document");
        var node = stream.Documents[0].RootNode;
        if (IsNull(node)) return null;
        return node as YamlMappingNode ?? throw Fail(node, "expected a mapping at the top level");
    }

    private GlobalConfig ParseGlobal(YamlNode? node)
    {
        if (node is null || IsNull(node)) return new GlobalConfig(GlobalConfig.DefaultResolveTimeout, null);
        var fields = Fields(Mapping(node, "global"), GlobalKeys, GlobalUnsupported, "global");
        var resolveTimeout = fields.TryGetValue("resolve_timeout", out var rt) ? Duration(rt, "resolve_timeout") : GlobalConfig.DefaultResolveTimeout;
        string? slackUrl = fields.TryGetValue("slack_api_url", out var su) && !IsNull(su) ? Url(su, "slack_api_url") : null;
        return new GlobalConfig(resolveTimeout, slackUrl);
    }

    private List<ReceiverConfig> ParseReceivers(YamlNode? node, GlobalConfig global)
    {
        var result = new List<ReceiverConfig>();
        if (node is null || IsNull(node)) return result;
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in Sequence(node, "receivers"))
        {
            var fields = Fields(Mapping(item, "receiver"), ReceiverKeys, ReceiverUnsupported, "receiver");
            string name = fields.TryGetValue("name", out var n) ? Str(n, "name") : "";
            if (name.Length == 0) throw Fail(item, "missing name in receiver");
            if (!names.Add(name)) throw Fail(n!, $"notification config name \"{name}\" is not unique");

            var slack = new List<SlackConfig>();
            if (fields.TryGetValue("slack_configs", out var sc) && !IsNull(sc))
            {
                foreach (var s in Sequence(sc, "slack_configs")) slack.Add(ParseSlack(s, global));
            }
            var webhooks = new List<WebhookConfig>();
            if (fields.TryGetValue("webhook_configs", out var wc) && !IsNull(wc))
            {
                foreach (var w in Sequence(wc, "webhook_configs")) webhooks.Add(ParseWebhook(w));
            }
            result.Add(new ReceiverConfig(name, slack, webhooks, Line(item)));
        }
        return result;
    }

    private SlackConfig ParseSlack(YamlNode node, GlobalConfig global)
    {
        var fields = Fields(Mapping(node, "slack_configs entry"), SlackKeys, SlackUnsupported, "slack_configs");
        string? apiUrl = fields.TryGetValue("api_url", out var u) && !IsNull(u) ? Url(u, "api_url") : global.SlackApiUrl;
        if (apiUrl is null) throw Fail(node, "no global Slack API URL set either inline or in a file (set api_url here or global.slack_api_url)");
        TimeSpan? escalateAfter = null;
        if (fields.TryGetValue("escalate_after", out var ea) && !IsNull(ea))
        {
            var d = Duration(ea, "escalate_after");
            if (d <= TimeSpan.Zero) throw Fail(ea, "escalate_after must be longer than 0s");
            escalateAfter = d;
        }
        string? escalationMention = OptionalStr(fields, "escalation_mention");
        if (escalationMention is not null && escalateAfter is null)
            throw Fail(fields["escalation_mention"], "escalation_mention needs escalate_after (how long a page may stay unacknowledged)");
        return new SlackConfig(
            apiUrl,
            OptionalStr(fields, "channel"),
            !fields.TryGetValue("send_resolved", out var sr) || Bool(sr, "send_resolved"),
            OptionalStr(fields, "title"),
            OptionalStr(fields, "text"),
            OptionalStr(fields, "mention"),
            escalateAfter,
            escalationMention,
            Line(node));
    }

    private WebhookConfig ParseWebhook(YamlNode node)
    {
        var map = Mapping(node, "webhook_configs entry");
        foreach (var (k, _) in map.Children)
        {
            string key = ((YamlScalarNode)k).Value ?? "";
            if (EscalationKeys.Contains(key, StringComparer.Ordinal))
                throw Fail(k, $"{key} is only valid in slack_configs (escalation posts a Slack thread reply)");
        }
        var fields = Fields(map, WebhookKeys, WebhookUnsupported, "webhook_configs");
        if (!fields.TryGetValue("url", out var u) || IsNull(u)) throw Fail(node, "one of url or url_file must be configured");
        int maxAlerts = 0;
        if (fields.TryGetValue("max_alerts", out var ma))
        {
            string text = Str(ma, "max_alerts");
            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out maxAlerts))
                throw Fail(ma, $"max_alerts: '{text}' is not a non-negative integer");
        }
        return new WebhookConfig(Url(u, "url"), !fields.TryGetValue("send_resolved", out var sr) || Bool(sr, "send_resolved"), maxAlerts, Line(node));
    }

    private Route ParseRoute(YamlMappingNode map, Route? parent, int index, HashSet<string> receivers)
    {
        var fields = Fields(map, RouteKeys, RouteUnsupported, "route");
        var options = parent?.Options ?? RouteOptions.Default;

        if (fields.TryGetValue("receiver", out var rn) && !IsNull(rn))
        {
            string receiver = Str(rn, "receiver");
            if (receiver.Length > 0)
            {
                if (!receivers.Contains(receiver)) throw Fail(rn, $"undefined receiver \"{receiver}\" used in route");
                options = options with { Receiver = receiver };
            }
        }
        if (fields.TryGetValue("group_by", out var gb) && !IsNull(gb))
        {
            var names = new List<string>();
            bool all = false;
            foreach (var item in Sequence(gb, "group_by"))
            {
                string label = Str(item, "group_by");
                if (label == "...") { all = true; continue; }
                if (!LabelMatcher.IsValidLabelName(label)) throw Fail(item, $"invalid label name \"{label}\" in group_by list");
                if (names.Contains(label, StringComparer.Ordinal)) throw Fail(item, $"duplicated label \"{label}\" in group_by");
                names.Add(label);
            }
            if (all && names.Count > 0) throw Fail(gb, "cannot have wildcard group_by (`...`) and other other labels at the same time");
            names.Sort(StringComparer.Ordinal);
            options = options with { GroupBy = names, GroupByAll = all };
        }
        if (fields.TryGetValue("group_wait", out var gw)) options = options with { GroupWait = Duration(gw, "group_wait") };
        if (fields.TryGetValue("group_interval", out var gi))
        {
            var d = Duration(gi, "group_interval");
            if (d == TimeSpan.Zero) throw Fail(gi, "group_interval cannot be zero");
            options = options with { GroupInterval = d };
        }
        if (fields.TryGetValue("repeat_interval", out var ri))
        {
            var d = Duration(ri, "repeat_interval");
            if (d == TimeSpan.Zero) throw Fail(ri, "repeat_interval cannot be zero");
            options = options with { RepeatInterval = d };
        }

        // ExchangeHealth extension: alerts routed here open incidents (inherited like the other options).
        if (fields.TryGetValue("page", out var pg) && !IsNull(pg)) options = options with { Page = Bool(pg, "page") };

        var matchers = new List<LabelMatcher>();
        matchers.AddRange(LegacyMatch(fields.GetValueOrDefault("match"), MatcherType.Equal, "match"));
        matchers.AddRange(LegacyMatch(fields.GetValueOrDefault("match_re"), MatcherType.Regex, "match_re"));
        matchers.AddRange(MatcherList(fields.GetValueOrDefault("matchers"), "matchers"));
        bool cont = fields.TryGetValue("continue", out var c) && Bool(c, "continue");

        if (parent is null)
        {
            if (options.Receiver.Length == 0) throw Fail(map, "root route must specify a default receiver");
            if (matchers.Count > 0) throw Fail(map, "root route must not have any matchers");
            if (cont) throw Fail(c!, "cannot have continue in root route");
        }

        var route = new Route(parent, matchers, cont, options, Line(map), index);
        if (fields.TryGetValue("routes", out var children) && !IsNull(children))
        {
            int i = 0;
            foreach (var child in Sequence(children, "routes"))
                route.AddChild(ParseRoute(Mapping(child, "route"), route, i++, receivers));
        }
        return route;
    }

    private List<InhibitRule> ParseInhibitRules(YamlNode? node)
    {
        var result = new List<InhibitRule>();
        if (node is null || IsNull(node)) return result;
        foreach (var item in Sequence(node, "inhibit_rules"))
        {
            var fields = Fields(Mapping(item, "inhibit rule"), InhibitKeys, [], "inhibit_rules entry");
            var source = new List<LabelMatcher>();
            source.AddRange(LegacyMatch(fields.GetValueOrDefault("source_match"), MatcherType.Equal, "source_match"));
            source.AddRange(LegacyMatch(fields.GetValueOrDefault("source_match_re"), MatcherType.Regex, "source_match_re"));
            source.AddRange(MatcherList(fields.GetValueOrDefault("source_matchers"), "source_matchers"));
            var target = new List<LabelMatcher>();
            target.AddRange(LegacyMatch(fields.GetValueOrDefault("target_match"), MatcherType.Equal, "target_match"));
            target.AddRange(LegacyMatch(fields.GetValueOrDefault("target_match_re"), MatcherType.Regex, "target_match_re"));
            target.AddRange(MatcherList(fields.GetValueOrDefault("target_matchers"), "target_matchers"));
            var equal = new List<string>();
            if (fields.TryGetValue("equal", out var eq) && !IsNull(eq))
            {
                foreach (var e in Sequence(eq, "equal"))
                {
                    string label = Str(e, "equal");
                    if (!LabelMatcher.IsValidLabelName(label)) throw Fail(e, $"\"{label}\" is not a valid label name");
                    if (!equal.Contains(label, StringComparer.Ordinal)) equal.Add(label);
                }
            }
            result.Add(new InhibitRule(LabelMatcher.Sort(source), LabelMatcher.Sort(target), equal, _source, Line(item)));
        }
        return result;
    }

    private List<LabelMatcher> LegacyMatch(YamlNode? node, MatcherType type, string key)
    {
        var result = new List<LabelMatcher>();
        if (node is null || IsNull(node)) return result;
        foreach (var (k, v) in Mapping(node, key).Children)
        {
            string name = Str(k, key);
            if (!LabelMatcher.IsValidLabelName(name)) throw Fail(k, $"invalid label name \"{name}\" in {key}");
            string value = IsNull(v) ? "" : Str(v, $"{key}.{name}");
            try { result.Add(new LabelMatcher(name, type, value)); }
            catch (FormatException e) { throw Fail(v, $"{key}.{name}: {e.Message}"); }
        }
        return result;
    }

    private List<LabelMatcher> MatcherList(YamlNode? node, string key)
    {
        var result = new List<LabelMatcher>();
        if (node is null || IsNull(node)) return result;
        foreach (var item in Sequence(node, key))
        {
            string text = Str(item, key);
            try { result.AddRange(LabelMatcher.ParseList(text)); }
            catch (FormatException e) { throw Fail(item, $"{key}: {e.Message}"); }
        }
        return result;
    }

    // ---- YAML helpers ----

    private Dictionary<string, YamlNode> Fields(YamlMappingNode map, string[] known, string[] unsupported, string context)
    {
        var fields = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            string key = k is YamlScalarNode s ? s.Value ?? "" : throw Fail(k, $"{context}: keys must be plain names");
            if (unsupported.Contains(key, StringComparer.Ordinal))
                throw Fail(k, $"{context}: '{key}' is not supported by ExchangeHealth (supported: {string.Join(", ", known)})");
            if (!known.Contains(key, StringComparer.Ordinal))
                throw Fail(k, $"{context}: unknown key '{key}' (known: {string.Join(", ", known)})");
            if (!fields.TryAdd(key, v)) throw Fail(k, $"{context}: '{key}' is given twice");
        }
        return fields;
    }

    private YamlMappingNode Mapping(YamlNode node, string what) =>
        node as YamlMappingNode ?? throw Fail(node, $"{what}: expected a mapping");

    private IEnumerable<YamlNode> Sequence(YamlNode node, string what) =>
        node is YamlSequenceNode seq ? seq.Children : throw Fail(node, $"{what}: expected a list");

    private string Str(YamlNode node, string what) =>
        node is YamlScalarNode s ? s.Value ?? "" : throw Fail(node, $"{what}: expected a single value");

    private string? OptionalStr(Dictionary<string, YamlNode> fields, string key) =>
        fields.TryGetValue(key, out var n) && !IsNull(n) ? Str(n, key) : null;

    private bool Bool(YamlNode node, string what)
    {
        // YAML 1.1 booleans, as Go's yaml.v2 reads them; a quoted string is not a boolean.
        if (node is YamlScalarNode { Style: ScalarStyle.Plain } s)
        {
            switch (s.Value)
            {
                case "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON" or "y" or "Y": return true;
                case "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF" or "n" or "N": return false;
            }
        }
        throw Fail(node, $"{what}: expected true or false");
    }

    private TimeSpan Duration(YamlNode node, string what)
    {
        string text = IsNull(node) ? "" : Str(node, what);
        return PromDuration.TryParse(text, out var d, out string error) ? d : throw Fail(node, $"{what}: {error}");
    }

    private string Url(YamlNode node, string what)
    {
        string text = Str(node, what);
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
            throw Fail(node, $"{what}: '{Redact(text)}' is not a URL");
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            throw Fail(node, $"{what}: unsupported scheme \"{uri.Scheme}\" for URL");
        if (string.IsNullOrEmpty(uri.Host)) throw Fail(node, $"{what}: missing host for URL");
        return text;
    }

    // URLs may carry tokens (Slack webhooks): error messages show only the scheme and host part.
    private static string Redact(string url)
    {
        int slash = url.IndexOf("//", StringComparison.Ordinal);
        int path = slash >= 0 ? url.IndexOf('/', slash + 2) : -1;
        return path >= 0 ? url[..path] + "/..." : (url.Length > 40 ? url[..40] + "..." : url);
    }

    private static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    private static int Line(YamlNode node) => (int)node.Start.Line;

    private ConfigException Fail(YamlNode node, string reason) => new(_source, Line(node), reason);

    private ConfigException Fail(int line, string reason) => new(_source, line, reason);
}
