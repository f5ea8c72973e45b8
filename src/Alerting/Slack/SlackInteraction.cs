using System.Text.Json;
using ExchangeHealth.Alerting.Notify;

namespace ExchangeHealth.Alerting.Slack;

/// <summary>
/// A button click on one of our messages: Slack's <c>block_actions</c> interaction payload, posted
/// to the app's interactivity URL as <c>application/x-www-form-urlencoded</c> with one field
/// <c>payload</c> holding URL-encoded JSON. Verify the request with
/// <see cref="SlackRequestVerifier"/> first, then <see cref="Parse"/> the raw body.
/// </summary>
/// <param name="UserId">Who clicked (<c>user.id</c>, e.g. <c>U0123ABCD</c>).</param>
/// <param name="UserName">Their name (<c>user.username</c>, else <c>user.name</c>; may be empty).</param>
/// <param name="ActionId">The button (<c>actions[0].action_id</c>): <c>exh_ack</c>, <c>exh_silence_1h</c>, ...</param>
/// <param name="Value">The button's value (<c>actions[0].value</c>; see <see cref="SlackActionValue.Parse"/>); empty for URL buttons.</param>
/// <param name="ChannelId">The channel of the message (<c>channel.id</c>, else <c>container.channel_id</c>).</param>
/// <param name="MessageTs">The message's ts (<c>container.message_ts</c>, else <c>message.ts</c>).</param>
/// <param name="ResponseUrl">Where to post a response (<c>response_url</c>), valid 30 min for 5 uses.</param>
public sealed record SlackInteraction(
    string UserId,
    string UserName,
    string ActionId,
    string Value,
    string ChannelId,
    string MessageTs,
    Uri ResponseUrl)
{
    /// <summary>Action id of the Acknowledge button.</summary>
    public const string AcknowledgeAction = SlackMessageBuilder.ActionAck;

    /// <summary>Action id of the Silence 1h button.</summary>
    public const string Silence1hAction = SlackMessageBuilder.ActionSilence1h;

    /// <summary>Action id of the Runbook URL button (Slack also reports clicks on URL buttons).</summary>
    public const string RunbookAction = SlackMessageBuilder.ActionRunbook;

    /// <summary>The button value as a target (receiver, group key); see <see cref="SlackActionValue.Parse"/>.</summary>
    /// <exception cref="PayloadFieldException">The value is not one of ours (field <c>actions[0].value</c>).</exception>
    public SlackActionTarget Target => SlackActionValue.Parse(Value);

    /// <summary>Parses a raw form body <c>payload=...</c> of type <c>block_actions</c>.</summary>
    /// <param name="formBody">The request body as received (URL-encoded form).</param>
    /// <exception cref="PayloadFieldException">Malformed or not <c>block_actions</c>; names the field (e.g. <c>payload.actions[0].action_id</c>).</exception>
    public static SlackInteraction Parse(string formBody)
    {
        ArgumentNullException.ThrowIfNull(formBody);
        string? payload = null;
        foreach (string pair in formBody.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            string name = FormDecode(eq < 0 ? pair : pair[..eq], "form field name");
            if (name == "payload") payload = FormDecode(eq < 0 ? "" : pair[(eq + 1)..], "payload");
        }
        if (payload is null) throw new PayloadFieldException("payload", "missing (expected a form body payload=<URL-encoded JSON>)");

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(payload);
        }
        catch (JsonException e)
        {
            throw new PayloadFieldException("payload", $"not valid JSON ({e.Message})", e);
        }
        using (doc)
        {
            const string P = "payload";
            var root = doc.RootElement;
            JsonRead.RequireObject(root, P);
            string type = JsonRead.String(root, "type", P);
            if (type != "block_actions") throw new PayloadFieldException("payload.type", $"expected \"block_actions\", got \"{JsonRead.Clip(type)}\"");

            var user = JsonRead.Required(root, "user", P);
            JsonRead.RequireObject(user, "payload.user");
            string userId = JsonRead.String(user, "id", "payload.user");
            string userName = JsonRead.OptionalString(user, "username", "payload.user") ?? JsonRead.OptionalString(user, "name", "payload.user") ?? "";

            var actions = JsonRead.Array(root, "actions", P);
            if (actions.GetArrayLength() == 0) throw new PayloadFieldException("payload.actions", "empty (expected the clicked action)");
            var action = actions[0];
            JsonRead.RequireObject(action, "payload.actions[0]");
            string actionId = JsonRead.String(action, "action_id", "payload.actions[0]");
            string value = JsonRead.OptionalString(action, "value", "payload.actions[0]") ?? "";

            string? channelId = null;
            if (JsonRead.TryGet(root, "channel", out var channel)) channelId = JsonRead.OptionalString(channel, "id", "payload.channel");
            JsonRead.TryGet(root, "container", out var container);
            if (container.ValueKind == JsonValueKind.Object) JsonRead.RequireObject(container, "payload.container");
            channelId ??= container.ValueKind == JsonValueKind.Object ? JsonRead.OptionalString(container, "channel_id", "payload.container") : null;
            if (string.IsNullOrEmpty(channelId)) throw new PayloadFieldException("payload.channel.id", "missing");

            string? messageTs = container.ValueKind == JsonValueKind.Object ? JsonRead.OptionalString(container, "message_ts", "payload.container") : null;
            if (messageTs is null && JsonRead.TryGet(root, "message", out var message)) messageTs = JsonRead.OptionalString(message, "ts", "payload.message");
            if (string.IsNullOrEmpty(messageTs)) throw new PayloadFieldException("payload.container.message_ts", "missing (the click was not on a message)");

            string responseUrl = JsonRead.String(root, "response_url", P);
            if (!Uri.TryCreate(responseUrl, UriKind.Absolute, out var responseUri) || responseUri.Scheme is not ("https" or "http"))
                throw new PayloadFieldException("payload.response_url", $"expected an absolute http(s) URL, got \"{JsonRead.Clip(responseUrl)}\"");

            return new SlackInteraction(userId, userName, actionId, value, channelId, messageTs, responseUri);
        }
    }

    private static string FormDecode(string s, string field)
    {
        try
        {
            return Uri.UnescapeDataString(s.Replace('+', ' '));
        }
        catch (UriFormatException e)
        {
            throw new PayloadFieldException(field, $"not URL-encoded ({e.Message})", e);
        }
    }
}
