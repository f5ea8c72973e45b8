using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Monitor.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ExchangeHealth.Alerting.Slack;

/// <summary>The answer of <c>auth.test</c>.</summary>
/// <param name="Ok">The token works.</param>
/// <param name="Team">Workspace name, when ok.</param>
/// <param name="User">The bot user's name, when ok.</param>
/// <param name="Error">Slack's error code or the transport failure, when not ok.</param>
public sealed record SlackAuthResult(bool Ok, string? Team, string? User, string? Error);

/// <summary>
/// Delivers notifications to one Slack channel through the Web API (plain <see cref="HttpClient"/>
/// and System.Text.Json): one message per aggregation group, kept up to date.
/// </summary>
/// <remarks>
/// <para>
/// By <see cref="NotificationKind"/>: <c>New</c> → <c>chat.postMessage</c> (Block Kit), and the
/// (receiver, group key) → (channel, ts) mapping stored in <c>slack_messages</c>; <c>Update</c> →
/// <c>chat.update</c> of that message plus a short thread reply saying what changed;
/// <c>Resolved</c> → <c>chat.update</c>; <c>Repeat</c> → a thread reply; <c>Escalation</c> → a
/// thread reply with <see cref="SlackNotifierOptions.EscalationMention"/> and
/// <c>reply_broadcast: true</c>. When the group has no stored message, or Slack no longer has it
/// (<c>message_not_found</c>, <c>cant_update_message</c>, <c>thread_not_found</c>), a new message is
/// posted instead. Every posted message carries metadata
/// <c>{event_type: "exh_notification", event_payload: {dedup_key, part}}</c>.
/// </para>
/// <para>
/// Exactly once per notification, across timeouts, lost connections and restarts: before each
/// <c>chat.postMessage</c> a <c>sending</c> mark is stored durably (<c>slack_deliveries</c>); a clear
/// answer replaces it with <c>done</c> (ok) or removes it (Slack refused). An attempt that finds a
/// <c>sending</c> mark (the earlier outcome is unknown) first looks for the message:
/// <c>conversations.history</c> (channel, <c>oldest</c> = notification time − 1 min,
/// <c>include_all_metadata=true</c>), or <c>conversations.replies</c> for a thread reply (replies are
/// not in the channel history), and counts a message with our dedup key and part as delivered.
/// <c>chat.update</c> is idempotent and simply repeated. A fully delivered notification is marked,
/// so a repeat after a crash between Slack's answer and the outbox update sends nothing.
/// </para>
/// <para>
/// Rate limits: at most one message per second per channel (<see cref="SlackChannelPacer"/>, shared
/// by all notifiers of the process), HTTP 429 honoured through <c>Retry-After</c>. Slack errors
/// <c>ratelimited</c>, <c>internal_error</c>, <c>fatal_error</c>, <c>service_unavailable</c>,
/// <c>request_timeout</c> (and unknown ones) are retried; <c>invalid_auth</c>, <c>not_authed</c>,
/// <c>channel_not_found</c>, <c>not_in_channel</c>, <c>account_inactive</c>, <c>token_revoked</c>,
/// <c>invalid_blocks</c>, <c>msg_too_long</c> and other configuration errors fail permanently.
/// </para>
/// </remarks>
public sealed class SlackNotifier : INotifier
{
    private const string StepDelivered = "delivered";

    private static readonly FrozenSet<string> RetryableErrors = FrozenSet.Create(StringComparer.Ordinal,
        "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout");

    private static readonly FrozenSet<string> PermanentErrors = FrozenSet.Create(StringComparer.Ordinal,
        "invalid_auth", "not_authed", "channel_not_found", "not_in_channel", "account_inactive", "token_revoked",
        "invalid_blocks", "msg_too_long", "missing_scope", "is_archived", "invalid_arguments", "invalid_metadata_format",
        "invalid_metadata_schema", "no_text", "not_allowed_token_type", "restricted_action", "too_many_attachments",
        "invalid_blocks_format", "no_permission", "ekm_access_denied", "access_denied", "invalid_charset",
        "invalid_form_data", "invalid_json", "json_not_object", "method_deprecated", "deprecated_endpoint",
        "team_access_not_granted", "two_factor_setup_required", "token_expired");

    /// <summary>Errors meaning the group's message is gone, so a new one is posted.</summary>
    private static readonly FrozenSet<string> MessageGoneErrors = FrozenSet.Create(StringComparer.Ordinal,
        "message_not_found", "cant_update_message", "thread_not_found", "edit_window_closed");

    private readonly SlackNotifierOptions _options;
    private readonly SlackApiClient _api;
    private readonly SlackMessageStore _store;
    private readonly SlackChannelPacer _pacer;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private long _nextPruneTicks;

    /// <summary>Creates the notifier for one receiver.</summary>
    /// <param name="options">Channel, token, base URL, timeouts.</param>
    /// <param name="http">The host's client; per-request timeouts are applied here (a Polly timeout), so its own <see cref="HttpClient.Timeout"/> should be longer.</param>
    /// <param name="database">The monitor database (tables <c>slack_messages</c>, <c>slack_deliveries</c>).</param>
    /// <param name="pacer">Per-channel pacing; <see cref="SlackChannelPacer.Shared"/> when null.</param>
    /// <param name="timeProvider">Clock of request timeouts and bookkeeping; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">Log (never the token); null for none.</param>
    /// <exception cref="ArgumentException">Channel or token empty, or a non-absolute base URL.</exception>
    public SlackNotifier(
        SlackNotifierOptions options,
        HttpClient http,
        MonitorDatabase database,
        SlackChannelPacer? pacer = null,
        TimeProvider? timeProvider = null,
        ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(database);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Channel, "options.Channel");
        ArgumentException.ThrowIfNullOrWhiteSpace(options.BotToken, "options.BotToken");
        if (options.BaseUrl is null || !options.BaseUrl.IsAbsoluteUri) throw new ArgumentException("options.BaseUrl must be an absolute URL", nameof(options));
        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _api = new SlackApiClient(http, options.BaseUrl, options.BotToken, options.RequestTimeout, _time);
        _store = new SlackMessageStore(database);
        _pacer = pacer ?? SlackChannelPacer.Shared;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The message bookkeeping (for button callbacks: <see cref="SlackMessageStore.FindByMessageAsync"/>).</summary>
    public SlackMessageStore Messages => _store;

    /// <summary>Checks the token with <c>auth.test</c> (for the host's start-up check).</summary>
    public async Task<SlackAuthResult> TestAuthAsync(CancellationToken cancellationToken = default)
    {
        var r = await _api.PostJsonAsync("auth.test", "{}"u8.ToArray(), cancellationToken).ConfigureAwait(false);
        return r.IsOk ? new SlackAuthResult(true, r.GetString("team"), r.GetString("user"), null) : new SlackAuthResult(false, null, null, r.Error ?? r.Description);
    }

    /// <inheritdoc/>
    public async Task<DeliveryResult> DeliverAsync(Notification notification, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var n = notification;
        if (await _store.GetStepAsync(n.DedupKey, StepDelivered, cancellationToken).ConfigureAwait(false) is { State: "done" })
            return DeliveryResult.Delivered.Instance; // delivered before; the outbox did not record it (crash)

        var result = n.Kind switch
        {
            NotificationKind.New => await PostGroupMessageAsync(n, mention: null, cancellationToken).ConfigureAwait(false),
            NotificationKind.Update => await UpdateGroupMessageAsync(n, withReply: true, cancellationToken).ConfigureAwait(false),
            NotificationKind.Resolved => await UpdateGroupMessageAsync(n, withReply: false, cancellationToken).ConfigureAwait(false),
            NotificationKind.Repeat => await ReplyAsync(n, escalate: false, cancellationToken).ConfigureAwait(false),
            NotificationKind.Escalation => await ReplyAsync(n, escalate: true, cancellationToken).ConfigureAwait(false),
            _ => new DeliveryResult.Failed($"unknown notification kind {n.Kind}"),
        };
        if (result is DeliveryResult.Delivered)
        {
            var now = _time.GetUtcNow();
            await _store.MarkDoneAsync(n.DedupKey, StepDelivered, _options.Channel, null, now, CancellationToken.None).ConfigureAwait(false);
            await PruneOccasionallyAsync(now).ConfigureAwait(false);
        }
        return result;
    }

    private async Task<DeliveryResult> PostGroupMessageAsync(Notification n, string? mention, CancellationToken ct)
    {
        var body = SlackMessageBuilder.RootMessage(n, _options.Channel, mention);
        var post = await PostOnceAsync(n, SlackMessageBuilder.PartPost, body, threadTs: null, ct).ConfigureAwait(false);
        if (post.Failure is { } failure) return failure;
        var message = new SlackMessageRef(n.Receiver, n.GroupKey, post.Channel, post.Ts!, n.DedupKey);
        await _store.SaveMessageAsync(message, SlackMessageBuilder.AlertsState(n), _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
        return DeliveryResult.Delivered.Instance;
    }

    private async Task<DeliveryResult> UpdateGroupMessageAsync(Notification n, bool withReply, CancellationToken ct)
    {
        var message = await _store.GetMessageAsync(n.Receiver, n.GroupKey, ct).ConfigureAwait(false);
        if (message is null) return await PostGroupMessageAsync(n, mention: null, ct).ConfigureAwait(false);

        await _pacer.WaitTurnAsync(message.Channel, ct).ConfigureAwait(false);
        var update = await _api.PostJsonAsync("chat.update", SlackMessageBuilder.ToUtf8(SlackMessageBuilder.UpdateMessage(n, message)), ct).ConfigureAwait(false);
        if (!update.IsOk)
        {
            if (update.Status == SlackCallStatus.SlackError && MessageGoneErrors.Contains(update.Error!))
            {
                _logger.LogWarning("Slack message {Ts} of group {GroupKey} is gone ({Error}); posting a new one", message.Ts, n.GroupKey, update.Error);
                return await PostGroupMessageAsync(n, mention: null, ct).ConfigureAwait(false);
            }
            return Classify(update, message.Channel);
        }

        if (withReply)
        {
            string previous = await _store.GetAlertsStateAsync(n.Receiver, n.GroupKey, ct).ConfigureAwait(false);
            var reply = SlackMessageBuilder.Reply(n, message.Channel, message.Ts, SlackMessageBuilder.ChangeText(n, previous), broadcast: false);
            var post = await PostOnceAsync(n, SlackMessageBuilder.PartReply, reply, message.Ts, ct).ConfigureAwait(false);
            if (post.ThreadGone) return await PostGroupMessageAsync(n, mention: null, ct).ConfigureAwait(false);
            if (post.Failure is { } failure) return failure;
        }
        await _store.SaveAlertsStateAsync(n.Receiver, n.GroupKey, SlackMessageBuilder.AlertsState(n), _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
        return DeliveryResult.Delivered.Instance;
    }

    private async Task<DeliveryResult> ReplyAsync(Notification n, bool escalate, CancellationToken ct)
    {
        string? mention = escalate ? _options.EscalationMention : null;
        var message = await _store.GetMessageAsync(n.Receiver, n.GroupKey, ct).ConfigureAwait(false);
        if (message is null) return await PostGroupMessageAsync(n, mention, ct).ConfigureAwait(false);
        string text = escalate ? SlackMessageBuilder.EscalationText(n, _options.EscalationMention) : SlackMessageBuilder.RepeatText(n);
        var reply = SlackMessageBuilder.Reply(n, message.Channel, message.Ts, text, broadcast: escalate);
        var post = await PostOnceAsync(n, SlackMessageBuilder.PartReply, reply, message.Ts, ct).ConfigureAwait(false);
        if (post.ThreadGone) return await PostGroupMessageAsync(n, mention, ct).ConfigureAwait(false);
        return post.Failure ?? DeliveryResult.Delivered.Instance;
    }

    private readonly record struct PostOutcome(DeliveryResult? Failure, string Channel, string? Ts, bool ThreadGone);

    /// <summary>
    /// One <c>chat.postMessage</c> of <paramref name="n"/>'s <paramref name="part"/>, at most once:
    /// done before → its ts; in flight before with unknown outcome → looked up first.
    /// </summary>
    private async Task<PostOutcome> PostOnceAsync(Notification n, string part, JsonObject body, string? threadTs, CancellationToken ct)
    {
        string key = n.DedupKey;
        string channel = body["channel"]!.GetValue<string>();
        var step = await _store.GetStepAsync(key, part, ct).ConfigureAwait(false);
        if (step is { State: "done" }) return new PostOutcome(null, step.Channel, step.Ts, false);
        if (step is { State: "sending" })
        {
            var (found, lookupFailure) = await FindPostedAsync(n, part, step.Channel, step.ThreadTs, ct).ConfigureAwait(false);
            if (lookupFailure is not null)
                return new PostOutcome(new DeliveryResult.Retry(lookupFailure.RetryAfter, $"an earlier attempt's outcome is unknown and the look-up failed: {lookupFailure.Description}"), channel, null, false);
            if (found is not null)
            {
                _logger.LogInformation("Slack message of {DedupKey} ({Part}) was posted by an earlier attempt (ts {Ts}); not posting again", key, part, found);
                await _store.MarkDoneAsync(key, part, step.Channel, found, _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
                return new PostOutcome(null, step.Channel, found, false);
            }
        }

        await _pacer.WaitTurnAsync(channel, ct).ConfigureAwait(false);
        await _store.MarkSendingAsync(key, part, channel, threadTs, _time.GetUtcNow(), ct).ConfigureAwait(false);
        var r = await _api.PostJsonAsync("chat.postMessage", SlackMessageBuilder.ToUtf8(body), ct).ConfigureAwait(false);
        if (r.IsOk)
        {
            string postedChannel = r.GetString("channel") ?? channel;
            string? ts = r.GetString("ts");
            if (ts is null) return new PostOutcome(new DeliveryResult.Retry(null, "chat.postMessage: ok without ts"), channel, null, false);
            await _store.MarkDoneAsync(key, part, postedChannel, ts, _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
            return new PostOutcome(null, postedChannel, ts, false);
        }
        if (r.IsAmbiguous)
            return new PostOutcome(new DeliveryResult.Retry(r.RetryAfter, r.Description), channel, null, false); // the mark stays: look up next time
        await _store.ClearStepAsync(key, part, CancellationToken.None).ConfigureAwait(false);
        if (threadTs is not null && r.Status == SlackCallStatus.SlackError && MessageGoneErrors.Contains(r.Error!))
            return new PostOutcome(null, channel, null, true);
        return new PostOutcome(Classify(r, channel), channel, null, false);
    }

    /// <summary>Looks for our message (dedup key and part in its metadata) posted by an earlier attempt.</summary>
    private async Task<(string? Ts, SlackCallResult? Failure)> FindPostedAsync(Notification n, string part, string channel, string? threadTs, CancellationToken ct)
    {
        string oldest = ToSlackTs(n.CreatedAt - _options.LookupMargin);
        string method = threadTs is null ? "conversations.history" : "conversations.replies";
        string? cursor = null;
        for (int page = 0; page < _options.LookupMaxPages; page++)
        {
            var query = new List<KeyValuePair<string, string>>
            {
                new("channel", channel),
                new("oldest", oldest),
                new("inclusive", "true"),
                new("include_all_metadata", "true"),
                new("limit", "200"),
            };
            if (threadTs is not null) query.Add(new("ts", threadTs));
            if (cursor is not null) query.Add(new("cursor", cursor));
            var r = await _api.GetAsync(method, query, ct).ConfigureAwait(false);
            if (!r.IsOk)
            {
                if (threadTs is not null && r.Status == SlackCallStatus.SlackError && MessageGoneErrors.Contains(r.Error!))
                    return (null, null); // the thread is gone, so is any reply
                return (null, r);
            }
            if (r.Body.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
            {
                foreach (var m in messages.EnumerateArray())
                {
                    if (IsOurs(m, n.DedupKey, part) && m.TryGetProperty("ts", out var ts) && ts.ValueKind == JsonValueKind.String)
                        return (ts.GetString(), null);
                }
            }
            cursor = r.Body.TryGetProperty("response_metadata", out var meta) && meta.TryGetProperty("next_cursor", out var c) && c.ValueKind == JsonValueKind.String
                ? c.GetString() : null;
            if (string.IsNullOrEmpty(cursor)) break;
        }
        return (null, null);
    }

    private static bool IsOurs(JsonElement message, string dedupKey, string part) =>
        message.ValueKind == JsonValueKind.Object
        && message.TryGetProperty("metadata", out var md) && md.ValueKind == JsonValueKind.Object
        && md.TryGetProperty("event_type", out var et) && et.ValueKind == JsonValueKind.String && et.GetString() == SlackMessageBuilder.EventType
        && md.TryGetProperty("event_payload", out var p) && p.ValueKind == JsonValueKind.Object
        && p.TryGetProperty("dedup_key", out var dk) && dk.ValueKind == JsonValueKind.String && dk.GetString() == dedupKey
        && p.TryGetProperty("part", out var pt) && pt.ValueKind == JsonValueKind.String && pt.GetString() == part;

    /// <summary>Maps a failed call to a delivery outcome (and pushes the channel's pacing back on 429).</summary>
    private DeliveryResult Classify(SlackCallResult r, string channel)
    {
        switch (r.Status)
        {
            case SlackCallStatus.RateLimited:
                if (r.RetryAfter is { } after) _pacer.Defer(channel, after);
                return new DeliveryResult.Retry(r.RetryAfter, r.Description);
            case SlackCallStatus.SlackError when PermanentErrors.Contains(r.Error!):
                return new DeliveryResult.Failed(r.Description);
            case SlackCallStatus.SlackError when RetryableErrors.Contains(r.Error!):
                return new DeliveryResult.Retry(r.RetryAfter, r.Description);
            case SlackCallStatus.SlackError:
                _logger.LogWarning("Unknown Slack error {Error}; retrying", r.Error);
                return new DeliveryResult.Retry(r.RetryAfter, r.Description);
            case SlackCallStatus.HttpError when r.HttpStatus is >= 400 and < 500:
                return new DeliveryResult.Failed(r.Description);
            default:
                return new DeliveryResult.Retry(r.RetryAfter, r.Description);
        }
    }

    private async Task PruneOccasionallyAsync(DateTimeOffset now)
    {
        long next = Interlocked.Read(ref _nextPruneTicks);
        if (now.UtcTicks < next || Interlocked.CompareExchange(ref _nextPruneTicks, now.AddHours(1).UtcTicks, next) != next) return;
        await _store.PruneDeliveriesAsync(now.AddDays(-7), CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>A Slack timestamp (<c>seconds.microseconds</c>) for <paramref name="t"/>.</summary>
    internal static string ToSlackTs(DateTimeOffset t)
    {
        long micros = (t.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        if (micros < 0) micros = 0;
        return (micros / 1_000_000).ToString(CultureInfo.InvariantCulture) + "." + (micros % 1_000_000).ToString("D6", CultureInfo.InvariantCulture);
    }
}
