using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using ExchangeHealth.Alerting.Notify;

namespace ExchangeHealth.Alerting.Slack;

/// <summary>What a button's <c>value</c> points at: the receiver and aggregation group of the message.</summary>
/// <param name="Receiver">Receiver name, or null when it did not fit (then map by the message: <see cref="SlackMessageStore.FindByMessageAsync"/>).</param>
/// <param name="GroupKey">The group key, or null when it was too long and only its hash was sent.</param>
/// <param name="GroupKeySha256">SHA-256 of the group key (64 hex digits) when the key itself did not fit; else null.</param>
public sealed record SlackActionTarget(string? Receiver, string? GroupKey, string? GroupKeySha256);

/// <summary>
/// The <c>value</c> of our buttons (<c>exh_ack</c>, <c>exh_silence_1h</c>): JSON
/// <c>{"receiver":"...","group_key":"..."}</c>, at most <see cref="MaxLength"/> characters as Slack
/// allows for a button value. A group key too long for that is replaced by
/// <c>"group_key_sha256"</c>; callbacks then map the interaction's (channel, message ts) through
/// <see cref="SlackMessageStore.FindByMessageAsync"/>.
/// </summary>
public static class SlackActionValue
{
    /// <summary>Slack's limit for a button <c>value</c> (Block Kit button element: 2000 characters).</summary>
    public const int MaxLength = 2000;

    /// <summary>The value for (<paramref name="receiver"/>, <paramref name="groupKey"/>), at most <see cref="MaxLength"/> characters.</summary>
    public static string Format(string receiver, string groupKey)
    {
        ArgumentNullException.ThrowIfNull(receiver);
        ArgumentNullException.ThrowIfNull(groupKey);
        string full = new JsonObject { ["receiver"] = receiver, ["group_key"] = groupKey }.ToJsonString();
        if (full.Length <= MaxLength) return full;
        string hash = Sha256Hex(groupKey);
        string hashed = new JsonObject { ["receiver"] = receiver, ["group_key_sha256"] = hash }.ToJsonString();
        if (hashed.Length <= MaxLength) return hashed;
        return new JsonObject { ["group_key_sha256"] = hash }.ToJsonString();
    }

    /// <summary>Parses a value written by <see cref="Format"/>.</summary>
    /// <exception cref="PayloadFieldException">Not such a value; field <paramref name="field"/>.</exception>
    public static SlackActionTarget Parse(string value, string field = "actions[0].value")
    {
        ArgumentNullException.ThrowIfNull(value);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(value);
        }
        catch (JsonException e)
        {
            throw new PayloadFieldException(field, "not an ExchangeHealth button value (not JSON)", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new PayloadFieldException(field, "expected a JSON object");
            string? receiver = JsonRead.OptionalString(root, "receiver", field);
            string? groupKey = JsonRead.OptionalString(root, "group_key", field);
            string? hash = JsonRead.OptionalString(root, "group_key_sha256", field);
            if (groupKey is null && hash is null) throw new PayloadFieldException(field + ".group_key", "missing");
            return new SlackActionTarget(receiver, groupKey, hash);
        }
    }

    /// <summary>Lower-case hex SHA-256 of the UTF-8 bytes of <paramref name="text"/>.</summary>
    public static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
