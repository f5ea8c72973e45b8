using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace ExchangeHealth.Incidents.Slack;

/// <summary>Text for Slack messages (mrkdwn), with user text made inert.</summary>
internal static partial class SlackText
{
    /// <summary>
    /// Escapes <c>&amp;</c>, <c>&lt;</c>, <c>&gt;</c> as Slack requires ("Formatting text", docs.slack.dev),
    /// so text typed by a person (a note, a title) cannot become a mention such as <c>&lt;!channel&gt;</c> or a link.
    /// </summary>
    public static string Escape(string? text) =>
        string.IsNullOrEmpty(text) ? "" : text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    /// <summary>A person as stored (a Slack mention <c>&lt;@U123&gt;</c> stays a mention; anything else is escaped).</summary>
    public static string Person(string? name) =>
        string.IsNullOrEmpty(name) ? "—" : UserMention().IsMatch(name) ? name : Escape(name);

    /// <summary><c>&lt;@U123|alice&gt;</c> (Slack's escaped form) → <c>&lt;@U123&gt;</c>; other text unchanged (trimmed).</summary>
    public static string NormalizeMention(string text)
    {
        string t = text.Trim();
        var m = UserMentionWithLabel().Match(t);
        return m.Success ? "<@" + m.Groups[1].Value + ">" : t;
    }

    /// <summary>Cuts to at most <paramref name="max"/> characters with an ellipsis.</summary>
    public static string Clip(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    /// <summary>A <c>section</c> block with mrkdwn text (cut to Block Kit's 3000 characters).</summary>
    public static JsonObject Section(string mrkdwn) => new()
    {
        ["type"] = "section",
        ["text"] = new JsonObject { ["type"] = "mrkdwn", ["text"] = Clip(mrkdwn, 3000) },
    };

    /// <summary>A <c>context</c> block with one mrkdwn element (cut to 2000 characters).</summary>
    public static JsonObject Context(string mrkdwn) => new()
    {
        ["type"] = "context",
        ["elements"] = new JsonArray { new JsonObject { ["type"] = "mrkdwn", ["text"] = Clip(mrkdwn, 2000) } },
    };

    /// <summary>A <c>header</c> block (plain text, cut to Block Kit's 150 characters).</summary>
    public static JsonObject Header(string plainText) => new()
    {
        ["type"] = "header",
        ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = Clip(plainText, 150), ["emoji"] = true },
    };

    [GeneratedRegex(@"^<@[UW][A-Z0-9]{2,30}>$", RegexOptions.CultureInvariant)]
    private static partial Regex UserMention();

    [GeneratedRegex(@"^<@([UW][A-Z0-9]{2,30})(\|[^<>]*)?>$", RegexOptions.CultureInvariant)]
    private static partial Regex UserMentionWithLabel();
}
