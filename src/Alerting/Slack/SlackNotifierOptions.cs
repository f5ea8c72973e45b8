namespace ExchangeHealth.Alerting.Slack;

/// <summary>Settings of one Slack receiver (<see cref="SlackNotifier"/>).</summary>
public sealed class SlackNotifierOptions
{
    /// <summary>The default Web API base URL.</summary>
    public static readonly Uri DefaultBaseUrl = new("https://slack.com/api/");

    /// <summary>
    /// The channel's ID (<c>C0123ABCD</c>). An ID, not a <c>#name</c>: <c>conversations.history</c>
    /// (used after an ambiguous failure) accepts only IDs, and the per-channel pacing keys on it.
    /// </summary>
    public required string Channel { get; init; }

    /// <summary>The bot token (<c>xoxb-...</c>), given by the host from the environment. Sent only as a bearer header; never logged.</summary>
    public required string BotToken { get; init; }

    /// <summary>The Web API base URL (default <see cref="DefaultBaseUrl"/>); a fake server's URL in tests.</summary>
    public Uri BaseUrl { get; init; } = DefaultBaseUrl;

    /// <summary>Limit of one Web API request, from sending to the whole response (default 10 s). A timeout makes the outcome unknown.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Who an escalation mentions, in Slack's syntax: <c>&lt;!here&gt;</c> (default), <c>&lt;!channel&gt;</c>, <c>&lt;@U123&gt;</c>, <c>&lt;!subteam^S123&gt;</c>.</summary>
    public string EscalationMention { get; init; } = "<!here>";

    /// <summary>Earliest-message margin of the <c>conversations.history</c> look-up: messages from the notification's creation minus this (default 1 min, for clock skew).</summary>
    public TimeSpan LookupMargin { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Pages of 200 messages the look-up reads at most (default 10).</summary>
    public int LookupMaxPages { get; init; } = 10;

    /// <inheritdoc/>
    public override string ToString() => $"Slack channel {Channel} via {BaseUrl}"; // never the token
}
