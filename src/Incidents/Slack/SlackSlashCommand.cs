using System.Globalization;
using System.Text;
using ExchangeHealth.Alerting.Notify;

namespace ExchangeHealth.Incidents.Slack;

/// <summary>
/// A slash command as Slack POSTs it to the app's request URL ("Implementing slash commands",
/// docs.slack.dev): an <c>application/x-www-form-urlencoded</c> body with the fields below. Verify
/// the request's signature first, then <see cref="Parse"/> the raw body.
/// </summary>
/// <param name="Command">The command typed, e.g. <c>/incident</c>.</param>
/// <param name="Text">Everything after the command, verbatim (at most <see cref="MaxTextLength"/> characters; "" when none).</param>
/// <param name="UserId">Who typed it (<c>user_id</c>, e.g. <c>U0123ABCD</c>).</param>
/// <param name="UserName">Their user name (<c>user_name</c>; "" when absent).</param>
/// <param name="ChannelId">The channel it was typed in (<c>channel_id</c>).</param>
/// <param name="ChannelName">That channel's name (<c>channel_name</c>; "" when absent).</param>
/// <param name="TeamId">The workspace (<c>team_id</c>; "" when absent).</param>
/// <param name="ResponseUrl">Where delayed answers go (<c>response_url</c>, valid 30 min for 5 answers); null when absent.</param>
/// <param name="TriggerId">Slack's id of this invocation (<c>trigger_id</c>); null when absent.</param>
public sealed record SlackSlashCommand(
    string Command,
    string Text,
    string UserId,
    string UserName,
    string ChannelId,
    string ChannelName,
    string TeamId,
    Uri? ResponseUrl,
    string? TriggerId)
{
    /// <summary>Largest body accepted, in bytes (16 KiB; a real slash command is well under 5 KiB).</summary>
    public const int MaxBodyBytes = 16 * 1024;

    /// <summary>Longest <see cref="Text"/> accepted, in characters (Slack's own limit for a message box is about this).</summary>
    public const int MaxTextLength = 4000;

    /// <summary>Longest value of the identifier fields (<c>command</c>, <c>user_id</c>, <c>user_name</c>, <c>channel_id</c>, <c>channel_name</c>, <c>team_id</c>, <c>trigger_id</c>), in characters.</summary>
    public const int MaxIdLength = 255;

    /// <summary>Longest <c>response_url</c>, in characters.</summary>
    public const int MaxUrlLength = 2048;

    private static readonly string[] IdFields = ["command", "user_id", "user_name", "channel_id", "channel_name", "team_id", "trigger_id"];

    /// <summary>Parses a raw form body.</summary>
    /// <param name="formBody">The body as received (URL-encoded form, UTF-8).</param>
    /// <returns>The command.</returns>
    /// <exception cref="PayloadFieldException">
    /// The body is larger than <see cref="MaxBodyBytes"/> (field <c>body</c>), a field is given twice,
    /// a required field (<c>command</c>, <c>user_id</c>, <c>channel_id</c>) is missing or empty, a
    /// field is too long, <c>command</c> does not start with <c>/</c>, or <c>response_url</c> is not
    /// an absolute http(s) URL; <see cref="PayloadFieldException.Field"/> names the field.
    /// </exception>
    public static SlackSlashCommand Parse(string formBody)
    {
        ArgumentNullException.ThrowIfNull(formBody);
        if (formBody.Length > MaxBodyBytes || Encoding.UTF8.GetByteCount(formBody) > MaxBodyBytes)
            throw new PayloadFieldException("body", $"larger than {MaxBodyBytes.ToString(CultureInfo.InvariantCulture)} bytes");

        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string pair in formBody.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            string name = Decode(eq < 0 ? pair : pair[..eq]);
            string value = eq < 0 ? "" : Decode(pair[(eq + 1)..]);
            if (!fields.TryAdd(name, value)) throw new PayloadFieldException(Clip(name), "given twice");
        }

        foreach (string f in IdFields)
        {
            if (fields.TryGetValue(f, out string? v) && v.Length > MaxIdLength)
                throw new PayloadFieldException(f, $"longer than {MaxIdLength.ToString(CultureInfo.InvariantCulture)} characters");
        }
        string command = Required(fields, "command");
        if (!command.StartsWith('/')) throw new PayloadFieldException("command", $"expected a slash command such as /incident, got \"{Clip(command)}\"");
        string userId = Required(fields, "user_id");
        string channelId = Required(fields, "channel_id");
        string text = fields.GetValueOrDefault("text") ?? "";
        if (text.Length > MaxTextLength)
            throw new PayloadFieldException("text", $"longer than {MaxTextLength.ToString(CultureInfo.InvariantCulture)} characters ({text.Length.ToString(CultureInfo.InvariantCulture)})");

        Uri? responseUrl = null;
        if (fields.TryGetValue("response_url", out string? url) && url.Length > 0)
        {
            if (url.Length > MaxUrlLength)
                throw new PayloadFieldException("response_url", $"longer than {MaxUrlLength.ToString(CultureInfo.InvariantCulture)} characters");
            if (!Uri.TryCreate(url, UriKind.Absolute, out responseUrl) || responseUrl.Scheme is not ("https" or "http"))
                throw new PayloadFieldException("response_url", $"expected an absolute http(s) URL, got \"{Clip(url)}\"");
        }
        string? triggerId = fields.TryGetValue("trigger_id", out string? t) && t.Length > 0 ? t : null;

        return new SlackSlashCommand(
            command, text, userId, fields.GetValueOrDefault("user_name") ?? "", channelId,
            fields.GetValueOrDefault("channel_name") ?? "", fields.GetValueOrDefault("team_id") ?? "", responseUrl, triggerId);
    }

    private static string Required(Dictionary<string, string> fields, string name) =>
        fields.TryGetValue(name, out string? v) && v.Length > 0 ? v : throw new PayloadFieldException(name, "missing");

    // application/x-www-form-urlencoded: '+' is a space, %XX are UTF-8 bytes. Invalid escapes stay as they are.
    private static string Decode(string s) => Uri.UnescapeDataString(s.Replace('+', ' '));

    private static string Clip(string s) => s.Length <= 60 ? s : s[..60] + "…";
}
