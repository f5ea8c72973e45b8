using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace ExchangeHealth.TestKit.Slack;

/// <summary>
/// Builds interaction requests as Slack sends them to an app's interactivity URL, signed with the
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
}
