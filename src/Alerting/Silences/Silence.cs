using System.Text.Json.Serialization;
using ExchangeHealth.Alerting.Routing;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Silences;

/// <summary>Answers whether alerts are silenced (implemented by <see cref="SilenceStore"/>; used by the dispatcher's mute stage).</summary>
public interface ISilencer
{
    /// <summary>Ids of the silences active at <paramref name="now"/> whose matchers all match <paramref name="labels"/>, sorted; empty when none.</summary>
    IReadOnlyList<string> Silenced(LabelSet labels, DateTimeOffset now);
}

/// <summary>A silence's state, computed from its times and the clock as Alertmanager's <c>CalcSilenceState</c>.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SilenceState>))]
public enum SilenceState
{
    /// <summary>Starts in the future (<c>now &lt; startsAt</c>).</summary>
    [JsonStringEnumMemberName("pending")]
    Pending,

    /// <summary>Mutes matching alerts (<c>startsAt &lt;= now &lt; endsAt</c>).</summary>
    [JsonStringEnumMemberName("active")]
    Active,

    /// <summary>Over (<c>endsAt &lt;= now</c>), ended on time or expired by hand.</summary>
    [JsonStringEnumMemberName("expired")]
    Expired,
}

/// <summary>
/// One matcher of a silence, shaped like Alertmanager API v2's <c>matcher</c>:
/// <c>{"name": "market", "value": "BTC.*", "isRegex": true, "isEqual": true}</c>.
/// </summary>
/// <param name="Name">Label name (<c>[a-zA-Z_][a-zA-Z0-9_]*</c>).</param>
/// <param name="Value">Value, or a regular expression (RE2 syntax, fully anchored) when <paramref name="IsRegex"/>.</param>
/// <param name="IsRegex">True for <c>=~</c> / <c>!~</c>.</param>
/// <param name="IsEqual">False for the negative operators <c>!=</c> / <c>!~</c>. Default true.</param>
public sealed record SilenceMatcher(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("value")] string Value,
    [property: JsonPropertyName("isRegex")] bool IsRegex,
    [property: JsonPropertyName("isEqual")] bool IsEqual = true)
{
    /// <summary>The equivalent <see cref="LabelMatcher"/>.</summary>
    /// <exception cref="FormatException">A regex that does not compile.</exception>
    public LabelMatcher ToLabelMatcher() => new(Name, (IsRegex, IsEqual) switch
    {
        (false, true) => MatcherType.Equal,
        (false, false) => MatcherType.NotEqual,
        (true, true) => MatcherType.Regex,
        _ => MatcherType.NotRegex,
    }, Value);

    /// <summary>The silence matcher for <paramref name="matcher"/>.</summary>
    public static SilenceMatcher From(LabelMatcher matcher)
    {
        ArgumentNullException.ThrowIfNull(matcher);
        return new SilenceMatcher(matcher.Name, matcher.Value, matcher.IsRegex, matcher.IsEqual);
    }

    /// <summary>Alertmanager notation, e.g. <c>market=~"BTC.*"</c>.</summary>
    public override string ToString() =>
        Name + LabelMatcher.OperatorText(ToType()) + LabelMatcher.Quote(Value);

    private MatcherType ToType() => (IsRegex, IsEqual) switch
    {
        (false, true) => MatcherType.Equal,
        (false, false) => MatcherType.NotEqual,
        (true, true) => MatcherType.Regex,
        _ => MatcherType.NotRegex,
    };
}

/// <summary>The status part of a silence (API v2: <c>{"state": "active"}</c>).</summary>
/// <param name="State">State at the time the silence was read.</param>
public sealed record SilenceStatus([property: JsonPropertyName("state")] SilenceState State);

/// <summary>
/// A silence, shaped like Alertmanager API v2's <c>gettableSilence</c> so it serializes with the
/// same field names: <c>id, status.state, updatedAt, matchers, startsAt, endsAt, createdBy, comment</c>.
/// </summary>
/// <param name="Id">GUID string.</param>
/// <param name="Matchers">All must match for an alert to be silenced.</param>
/// <param name="StartsAt">Start (UTC). A start in the past at creation is moved to the creation time, as Alertmanager.</param>
/// <param name="EndsAt">End (UTC); expiring a silence sets it to the expiry time.</param>
/// <param name="UpdatedAt">Last change (creation or expiry).</param>
/// <param name="CreatedBy">Who created it.</param>
/// <param name="Comment">Why.</param>
/// <param name="Status">State when read.</param>
public sealed record Silence(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("matchers")] IReadOnlyList<SilenceMatcher> Matchers,
    [property: JsonPropertyName("startsAt")] DateTimeOffset StartsAt,
    [property: JsonPropertyName("endsAt")] DateTimeOffset EndsAt,
    [property: JsonPropertyName("updatedAt")] DateTimeOffset UpdatedAt,
    [property: JsonPropertyName("createdBy")] string CreatedBy,
    [property: JsonPropertyName("comment")] string Comment,
    [property: JsonPropertyName("status")] SilenceStatus Status)
{
    /// <summary>The state at <paramref name="now"/>: pending before <see cref="StartsAt"/>, active until <see cref="EndsAt"/>, then expired.</summary>
    public SilenceState StateAt(DateTimeOffset now) => StateOf(StartsAt, EndsAt, now);

    internal static SilenceState StateOf(DateTimeOffset startsAt, DateTimeOffset endsAt, DateTimeOffset now) =>
        now < startsAt ? SilenceState.Pending : now < endsAt ? SilenceState.Active : SilenceState.Expired;
}

/// <summary>What happened to a silence.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SilenceAuditAction>))]
public enum SilenceAuditAction
{
    /// <summary>The silence was created.</summary>
    [JsonStringEnumMemberName("created")]
    Created,

    /// <summary>The silence was expired by hand.</summary>
    [JsonStringEnumMemberName("expired")]
    Expired,
}

/// <summary>One entry of the silence audit log.</summary>
/// <param name="Sequence">Increasing entry number.</param>
/// <param name="SilenceId">The silence.</param>
/// <param name="Action">Created or expired.</param>
/// <param name="By">Who did it (the silence's createdBy, or who expired it).</param>
/// <param name="At">When (UTC).</param>
/// <param name="Detail">Human-readable detail: matchers, time window and comment for a creation; the former state for an expiry.</param>
public sealed record SilenceAuditEntry(
    [property: JsonPropertyName("sequence")] long Sequence,
    [property: JsonPropertyName("silenceId")] string SilenceId,
    [property: JsonPropertyName("action")] SilenceAuditAction Action,
    [property: JsonPropertyName("by")] string By,
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("detail")] string Detail);

/// <summary>A silence request or operation is invalid. <see cref="Field"/> names the offending field (API v2 names).</summary>
public sealed class SilenceValidationException : Exception
{
    /// <summary>Creates the exception; the message reads <c>field: reason</c>.</summary>
    public SilenceValidationException(string field, string reason)
        : base($"{field}: {reason}")
    {
        Field = field;
        Reason = reason;
    }

    /// <summary>The field at fault, e.g. <c>matchers[1].value</c>, <c>endsAt</c>, <c>comment</c>.</summary>
    public string Field { get; }

    /// <summary>What is wrong.</summary>
    public string Reason { get; }
}
