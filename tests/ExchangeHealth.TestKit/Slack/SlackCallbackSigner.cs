using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace ExchangeHealth.TestKit.Slack;

/// <summary>
/// Builds interaction and slash-command requests as Slack sends them to an app's URLs, signed with the
/// signing-secret scheme v0 (<c>X-Slack-Request-Timestamp</c>, <c>X-Slack-Signature: v0=hex(HMAC-SHA256(secret,
/// "v0:{ts}:{body}"))</c>), for tests of the monitor's callback endpoint. An implementation of its
/// own (not the product's verifier), so each checks the other.
/// </summary>
public sealed class SlackCallbackSigner
{
    private readonly byte[] _secret;

    /// <summary>Creates a signer for the app's signing secret.</summary>
    public SlackCallbackSigner(string signingSecret)
    {
        ArgumentException.ThrowIfNullOrEmpty(signingSecret);
        _secret = Encoding.UTF8.GetBytes(signingSecret);
    }

    /// <summary>The <c>X-Slack-Signature</c> value for <paramref name="body"/> signed at <paramref name="timestamp"/> (Unix seconds).</summary>
    public string Sign(long timestamp, string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        byte[] mac = HMACSHA256.HashData(_secret, Encoding.UTF8.GetBytes("v0:" + timestamp.ToString(CultureInfo.InvariantCulture) + ":" + body));
        return "v0=" + Convert.ToHexStringLower(mac);
    }

    /// <summary>A signed POST of <paramref name="formBody"/> to <paramref name="url"/>, as Slack sends it.</summary>
    /// <param name="url">The interactivity endpoint.</param>
    /// <param name="formBody">The form body, e.g. from <see cref="BlockActionsBody"/>.</param>
    /// <param name="signedAt">The request timestamp (tests of stale requests pass an old one).</param>
    public HttpRequestMessage CreateRequest(Uri url, string formBody, DateTimeOffset signedAt)
    {
        long ts = signedAt.ToUnixTimeSeconds();
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(formBody, Encoding.UTF8) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        request.Headers.Add("X-Slack-Request-Timestamp", ts.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add("X-Slack-Signature", Sign(ts, formBody));
        return request;
    }

    /// <summary>
    /// The form body of a <c>block_actions</c> interaction (<c>payload=</c> URL-encoded JSON) with the
    /// fields Slack sends for a button click on a message.
    /// </summary>
    public static string BlockActionsBody(
        string userId,
        string userName,
        string actionId,
        string value,
        string channelId,
        string messageTs,
        string responseUrl = "https://hooks.slack.test/actions/T0FAKE/1/abc")
    {
        var payload = new JsonObject
        {
            ["type"] = "block_actions",
            ["user"] = new JsonObject { ["id"] = userId, ["username"] = userName, ["name"] = userName, ["team_id"] = "T0FAKE" },
            ["api_app_id"] = "A0FAKE",
            ["token"] = "deprecated-verification-token",
            ["container"] = new JsonObject { ["type"] = "message", ["message_ts"] = messageTs, ["channel_id"] = channelId, ["is_ephemeral"] = false },
            ["trigger_id"] = "123.456.abc",
            ["team"] = new JsonObject { ["id"] = "T0FAKE", ["domain"] = "fake" },
            ["channel"] = new JsonObject { ["id"] = channelId, ["name"] = "alerts" },
            ["message"] = new JsonObject { ["type"] = "message", ["ts"] = messageTs, ["text"] = "alert" },
            ["response_url"] = responseUrl,
            ["actions"] = new JsonArray
            {
                new JsonObject
                {
                    ["action_id"] = actionId, ["block_id"] = "exh_actions", ["type"] = "button", ["value"] = value,
                    ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = actionId },
                    ["action_ts"] = "1763694030.123456",
                },
            },
        };
        return "payload=" + Uri.EscapeDataString(payload.ToJsonString());
    }

    /// <summary>
    /// The form body of a slash command as Slack POSTs it (<c>token</c>, <c>team_id</c>,
    /// <c>team_domain</c>, <c>channel_id</c>, <c>channel_name</c>, <c>user_id</c>, <c>user_name</c>,
    /// <c>command</c>, <c>text</c>, <c>api_app_id</c>, <c>response_url</c>, <c>trigger_id</c>), each
    /// value URL-encoded. A null <paramref name="responseUrl"/> or <paramref name="triggerId"/> leaves the field out.
    /// </summary>
    public static string SlashCommandBody(
        string text,
        string userId = "U0FAKEUSER",
        string userName = "alice",
        string channelId = "C0INCIDENTS",
        string channelName = "incidents",
        string command = "/incident",
        string? responseUrl = "https://hooks.slack.com/commands/T0FAKE/1/abc",
        string? triggerId = "13345224609.738474920.8088930838d88f008e0")
    {
        ArgumentNullException.ThrowIfNull(text);
        var fields = new List<(string, string)>
        {
            ("token", "deprecated-verification-token"), ("team_id", "T0FAKE"), ("team_domain", "fake"),
            ("channel_id", channelId), ("channel_name", channelName), ("user_id", userId), ("user_name", userName),
            ("command", command), ("text", text), ("api_app_id", "A0FAKE"), ("is_enterprise_install", "false"),
        };
        if (responseUrl is not null) fields.Add(("response_url", responseUrl));
        if (triggerId is not null) fields.Add(("trigger_id", triggerId));
        return string.Join('&', fields.Select(f => Uri.EscapeDataString(f.Item1) + "=" + Uri.EscapeDataString(f.Item2)));
    }

    /// <summary>POSTs a signed form body (e.g. <see cref="SlashCommandBody"/>) to <paramref name="url"/> as Slack does; the caller disposes the response.</summary>
    public async Task<HttpResponseMessage> PostAsync(HttpClient http, Uri url, string formBody, DateTimeOffset signedAt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(http);
        using var request = CreateRequest(url, formBody, signedAt);
        return await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
