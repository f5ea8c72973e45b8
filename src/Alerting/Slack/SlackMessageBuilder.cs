using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Notify;

namespace ExchangeHealth.Alerting.Slack;

/// <summary>
/// Builds the Web API request bodies of <see cref="SlackNotifier"/>: the group's message in Block
/// Kit (header, what, fields, alert list, context, actions), its updates, and thread replies. Keeps
/// within Slack's limits (header 150, section text 3000, field 2000, button text 75, value 2000,
/// URL 3000 characters; 10 fields; 50 blocks) and escapes user text for <c>mrkdwn</c>.
/// </summary>
internal static class SlackMessageBuilder
{
    public const string EventType = "exh_notification";
    public const string PartPost = "post";
    public const string PartReply = "reply";
    public const string ActionAck = "exh_ack";
    public const string ActionSilence1h = "exh_silence_1h";
    public const string ActionRunbook = "exh_runbook";
    public const string ActionDashboard = "exh_dashboard";
    private const int MaxAlertLines = 10;

    /// <summary><c>chat.postMessage</c> body of the group's (new) message, with our metadata.</summary>
    public static JsonObject RootMessage(Notification n, string channel, string? mention)
    {
        var (text, blocks) = Content(n, mention);
        return new JsonObject
        {
            ["channel"] = channel,
            ["text"] = text,
            ["blocks"] = blocks,
            ["metadata"] = Metadata(n.DedupKey, PartPost),
            ["unfurl_links"] = false,
            ["unfurl_media"] = false,
        };
    }

    /// <summary><c>chat.update</c> body replacing the group's message with the notification's state.</summary>
    public static JsonObject UpdateMessage(Notification n, SlackMessageRef message)
    {
        var (text, blocks) = Content(n, mention: null);
        return new JsonObject
        {
            ["channel"] = message.Channel,
            ["ts"] = message.Ts,
            ["text"] = text,
            ["blocks"] = blocks,
        };
    }

    /// <summary><c>chat.postMessage</c> body of a thread reply under <paramref name="threadTs"/>, with our metadata.</summary>
    public static JsonObject Reply(Notification n, string channel, string threadTs, string text, bool broadcast)
    {
        var body = new JsonObject
        {
            ["channel"] = channel,
            ["thread_ts"] = threadTs,
            ["text"] = Clip(text, 3000),
            ["metadata"] = Metadata(n.DedupKey, PartReply),
            ["unfurl_links"] = false,
            ["unfurl_media"] = false,
        };
        if (broadcast) body["reply_broadcast"] = true;
        return body;
    }

    /// <summary>Slack message metadata: <c>{"event_type":"exh_notification","event_payload":{"dedup_key":...,"part":"post|reply"}}</c>.</summary>
    public static JsonObject Metadata(string dedupKey, string part) => new()
    {
        ["event_type"] = EventType,
        ["event_payload"] = new JsonObject { ["dedup_key"] = dedupKey, ["part"] = part },
    };

    public static byte[] ToUtf8(JsonObject body) => JsonSerializer.SerializeToUtf8Bytes(body);

    /// <summary>The fallback text and blocks of the group's message.</summary>
    public static (string Text, JsonArray Blocks) Content(Notification n, string? mention)
    {
        bool firing = n.Status == AlertStatus.Firing;
        int firingCount = NotificationText.FiringCount(n), resolvedCount = NotificationText.ResolvedCount(n);
        int shownCount = firing ? firingCount : resolvedCount;
        string name = NotificationText.AlertName(n);
        string status = NotificationText.StatusWord(n);
        string severity = n.CommonLabels["severity"];
        string what = NotificationText.What(n);
        string where = NotificationText.Where(n);
        string count = shownCount.ToString(CultureInfo.InvariantCulture);

        var blocks = new JsonArray
        {
            new JsonObject
            {
                ["type"] = "header",
                ["text"] = PlainText(Clip($"{Emoji(firing, severity)} {name}: {status} ({count})", 150)),
            },
        };

        if (mention is { Length: > 0 } || what.Length > 0)
        {
            string line = (mention is { Length: > 0 } ? mention + " " : "") + (what.Length > 0 ? "*What:* " + Escape(what) : "*Escalation*: not acknowledged");
            blocks.Add(Section(Clip(line, 3000)));
        }

        var fields = new JsonArray();
        if (where.Length > 0) fields.Add(Mrkdwn(Clip("*Where*\n" + Escape(where), 2000)));
        double value = NotificationText.Value(n);
        string threshold = NotificationText.Annotation(n, "threshold");
        if (!double.IsNaN(value) || threshold.Length > 0)
        {
            string v = double.IsNaN(value) ? "n/a" : NotificationText.Humanize(value);
            if (threshold.Length > 0) v += " (threshold " + Escape(NotificationText.HumanizeText(threshold)) + ")";
            fields.Add(Mrkdwn(Clip("*Value*\n" + v, 2000)));
        }
        string budget = NotificationText.BudgetPercent(NotificationText.Annotation(n, "error_budget_remaining"));
        if (budget.Length > 0) fields.Add(Mrkdwn(Clip("*Error budget left*\n" + Escape(budget), 2000)));
        if (severity.Length > 0) fields.Add(Mrkdwn(Clip("*Severity*\n" + Escape(severity), 2000)));
        if (NotificationText.StartedAt(n) is { } started) fields.Add(Mrkdwn("*Started*\n" + SlackDate(started)));
        if (NotificationText.ResolvedAt(n) is { } resolved) fields.Add(Mrkdwn("*Resolved*\n" + SlackDate(resolved)));
        if (fields.Count > 0) blocks.Add(new JsonObject { ["type"] = "section", ["fields"] = fields });

        if (n.Alerts.Count > 1)
        {
            var sb = new StringBuilder();
            sb.Append('*').Append(firingCount.ToString(CultureInfo.InvariantCulture)).Append(" firing, ")
              .Append(resolvedCount.ToString(CultureInfo.InvariantCulture)).Append(" resolved*");
            foreach (var a in n.Alerts.Take(MaxAlertLines))
            {
                bool f = a.StatusAt(n.CreatedAt) == AlertStatus.Firing;
                sb.Append('\n').Append(f ? ":red_circle: " : ":white_check_mark: ").Append('`').Append(Escape(Distinct(a, n).Replace('`', '\''))).Append('`');
                if (!double.IsNaN(a.Value)) sb.Append(" value ").Append(NotificationText.Humanize(a.Value));
            }
            if (n.Alerts.Count > MaxAlertLines)
                sb.Append("\n_and ").Append((n.Alerts.Count - MaxAlertLines).ToString(CultureInfo.InvariantCulture)).Append(" more_");
            blocks.Add(Section(Clip(sb.ToString(), 3000)));
        }

        var context = new JsonArray { Mrkdwn(Clip($"receiver `{Escape(n.Receiver)}` · group `{Escape(n.GroupKey).Replace('`', '\'')}` · #{n.Sequence.ToString(CultureInfo.InvariantCulture)} {NotificationJson.KindName(n.Kind)}", 2000)) };
        string links = Links(n);
        if (links.Length > 0) context.Add(Mrkdwn(Clip(links, 2000)));
        blocks.Add(new JsonObject { ["type"] = "context", ["elements"] = context });

        var buttons = new JsonArray();
        string value2000 = SlackActionValue.Format(n.Receiver, n.GroupKey);
        if (firing)
        {
            buttons.Add(Button("Acknowledge", ActionAck, value2000, style: "primary"));
            buttons.Add(Button("Silence 1h", ActionSilence1h, value2000, style: null));
        }
        if (Url(NotificationText.Annotation(n, "runbook_url")) is { } runbook) buttons.Add(UrlButton("Runbook", ActionRunbook, runbook));
        if (Url(NotificationText.Annotation(n, "dashboard_url")) is { } dashboard) buttons.Add(UrlButton("Dashboard", ActionDashboard, dashboard));
        if (buttons.Count > 0) blocks.Add(new JsonObject { ["type"] = "actions", ["block_id"] = "exh_actions", ["elements"] = buttons });

        string text = $"[{status}:{count}] {name}" + (what.Length > 0 ? ": " + what : "") + (where.Length > 0 ? " (" + where + ")" : "");
        if (mention is { Length: > 0 }) text = mention + " " + Escape(text);
        else text = Escape(text);
        return (Clip(text, 3000), blocks);
    }

    /// <summary>The thread reply of an Update: which alerts started firing or resolved since the last notification.</summary>
    public static string ChangeText(Notification n, string previousState)
    {
        var previous = ParseState(previousState);
        var now = n.Alerts.ToDictionary(a => a.Fingerprint, a => a, StringComparer.Ordinal);
        var newlyFiring = n.Alerts.Where(a => a.StatusAt(n.CreatedAt) == AlertStatus.Firing && !(previous.TryGetValue(a.Fingerprint, out bool wasFiring) && wasFiring)).ToList();
        var newlyResolved = n.Alerts.Where(a => a.StatusAt(n.CreatedAt) == AlertStatus.Resolved && (!previous.TryGetValue(a.Fingerprint, out bool wasFiring) || wasFiring)).ToList();
        var sb = new StringBuilder(":arrows_counterclockwise: *Updated:* ");
        sb.Append(NotificationText.FiringCount(n).ToString(CultureInfo.InvariantCulture)).Append(" firing, ")
          .Append(NotificationText.ResolvedCount(n).ToString(CultureInfo.InvariantCulture)).Append(" resolved.");
        if (previous.Count > 0)
        {
            if (newlyFiring.Count > 0) sb.Append("\nNow firing: ").Append(AlertList(newlyFiring, n));
            if (newlyResolved.Count > 0) sb.Append("\nResolved: ").Append(AlertList(newlyResolved, n));
            int gone = previous.Keys.Count(fp => !now.ContainsKey(fp));
            if (gone > 0) sb.Append("\nNo longer in the group: ").Append(gone.ToString(CultureInfo.InvariantCulture));
            if (newlyFiring.Count == 0 && newlyResolved.Count == 0 && gone == 0) sb.Append(" No alert changed state.");
        }
        return sb.ToString();
    }

    public static string RepeatText(Notification n)
    {
        string since = NotificationText.StartedAt(n) is { } s ? " since " + SlackDate(s) : "";
        return $":bell: *Still firing:* {NotificationText.FiringCount(n).ToString(CultureInfo.InvariantCulture)} alert(s){since}. {Escape(NotificationText.What(n))}".TrimEnd();
    }

    public static string EscalationText(Notification n, string mention)
    {
        string since = NotificationText.StartedAt(n) is { } s ? " (firing since " + SlackDate(s) + ")" : "";
        return $"{mention} :rotating_light: *Escalation:* {Escape(NotificationText.AlertName(n))} is not acknowledged{since}. {Escape(NotificationText.What(n))}".TrimEnd();
    }

    /// <summary>What the group's message shows, for the next Update's diff: <c>[{"fp":"...","firing":true}]</c>.</summary>
    public static string AlertsState(Notification n)
    {
        var array = new JsonArray();
        foreach (var a in n.Alerts)
            array.Add(new JsonObject { ["fp"] = a.Fingerprint, ["firing"] = a.StatusAt(n.CreatedAt) == AlertStatus.Firing });
        return array.ToJsonString();
    }

    private static Dictionary<string, bool> ParseState(string state)
    {
        var map = new Dictionary<string, bool>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(state)) return map;
        try
        {
            using var doc = JsonDocument.Parse(state);
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.TryGetProperty("fp", out var fp) && fp.ValueKind == JsonValueKind.String && e.TryGetProperty("firing", out var f))
                    map[fp.GetString()!] = f.ValueKind == JsonValueKind.True;
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            map.Clear(); // a damaged state only loses the diff
        }
        return map;
    }

    private static string AlertList(List<Alert> alerts, Notification n)
    {
        var parts = alerts.Take(5).Select(a => "`" + Escape(Distinct(a, n)).Replace('`', '\'') + "`");
        return string.Join(", ", parts) + (alerts.Count > 5 ? $" and {(alerts.Count - 5).ToString(CultureInfo.InvariantCulture)} more" : "");
    }

    /// <summary>The labels that tell this alert apart from the group (those not common to all), or all of them.</summary>
    private static string Distinct(Alert a, Notification n)
    {
        var own = a.Labels.Without([.. n.CommonLabels.Select(p => p.Key)]);
        return (own.Count > 0 ? own : a.Labels).ToString();
    }

    private static string Links(Notification n)
    {
        var parts = new List<string>();
        if (Url(NotificationText.Annotation(n, "runbook_url")) is { } runbook) parts.Add($"<{runbook}|runbook>");
        if (Url(NotificationText.Annotation(n, "dashboard_url")) is { } dashboard) parts.Add($"<{dashboard}|dashboard>");
        var generator = n.Alerts.Select(a => a.GeneratorUrl).FirstOrDefault(u => u.Length > 0);
        if (Url(generator) is { } g) parts.Add($"<{g}|expression>");
        return string.Join(" · ", parts);
    }

    /// <summary>An http(s) URL usable in a link or button (characters that would break <c>&lt;url|text&gt;</c> percent-encoded), or null.</summary>
    private static string? Url(string? candidate)
    {
        if (string.IsNullOrWhiteSpace(candidate)) return null;
        if (!Uri.TryCreate(candidate.Trim(), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)) return null;
        string s = uri.AbsoluteUri.Replace("|", "%7C", StringComparison.Ordinal).Replace("<", "%3C", StringComparison.Ordinal).Replace(">", "%3E", StringComparison.Ordinal);
        return s.Length <= 3000 ? s : null;
    }

    private static string Emoji(bool firing, string severity) =>
        !firing ? ":white_check_mark:"
        : severity is "page" or "critical" ? ":red_circle:"
        : severity is "warning" or "ticket" ? ":large_orange_circle:"
        : ":large_yellow_circle:";

    /// <summary>Slack's date formatting (shown in the reader's time zone) with a UTC fallback.</summary>
    private static string SlackDate(DateTimeOffset t) =>
        $"<!date^{t.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)}^{{date_short_pretty}} {{time}}|{NotificationText.Utc(t)}>";

    private static JsonObject PlainText(string text) => new() { ["type"] = "plain_text", ["text"] = text, ["emoji"] = true };

    private static JsonObject Mrkdwn(string text) => new() { ["type"] = "mrkdwn", ["text"] = text };

    private static JsonObject Section(string mrkdwn) => new() { ["type"] = "section", ["text"] = Mrkdwn(mrkdwn) };

    private static JsonObject Button(string text, string actionId, string value, string? style)
    {
        var b = new JsonObject { ["type"] = "button", ["text"] = PlainText(text), ["action_id"] = actionId, ["value"] = value };
        if (style is not null) b["style"] = style;
        return b;
    }

    private static JsonObject UrlButton(string text, string actionId, string url) =>
        new() { ["type"] = "button", ["text"] = PlainText(text), ["action_id"] = actionId, ["url"] = url };

    /// <summary>Escapes <c>&amp;</c>, <c>&lt;</c>, <c>&gt;</c> as Slack's mrkdwn requires.</summary>
    public static string Escape(string s) =>
        s.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    private static string Clip(string s, int max)
    {
        if (s.Length <= max) return s;
        int cut = max - 1;
        if (char.IsHighSurrogate(s[cut - 1])) cut--;
        return s[..cut] + "…";
    }
}
