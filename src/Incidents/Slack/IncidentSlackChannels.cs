using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using ExchangeHealth.Alerting.Slack;
using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ExchangeHealth.Incidents.Slack;

/// <summary>Settings of <see cref="IncidentSlackChannels"/>.</summary>
public sealed record IncidentSlackChannelOptions
{
    /// <summary>Creates a channel per incident only when true (default false).</summary>
    public bool Enabled { get; init; }

    /// <summary>Channel name prefix (default <c>inc</c>): names are <c>{prefix}-{id}-{slug of title}</c>. 1 to 20 of a-z, 0-9, '-', '_'.</summary>
    public string Prefix { get; init; } = SlackChannelNames.DefaultPrefix;

    /// <summary>The bot token (<c>xoxb-…</c>, scopes <c>channels:manage</c>, <c>chat:write</c>, <c>channels:read</c>); required when enabled. Sent only as a bearer header; never logged.</summary>
    public string? BotToken { get; init; }

    /// <summary>The Web API base URL (default <c>https://slack.com/api/</c>); a fake server's in tests.</summary>
    public Uri BaseUrl { get; init; } = SlackNotifierOptions.DefaultBaseUrl;

    /// <summary>Slack user IDs (<c>U…</c>) invited to every new incident channel (<c>conversations.invite</c>); default none.</summary>
    public IReadOnlyList<string> InviteUserIds { get; init; } = [];

    /// <summary>Create private channels (default false: public, so anybody can join).</summary>
    public bool Private { get; init; }

    /// <summary>Limit of one Web API request (default 10 s).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Names tried when Slack answers <c>name_taken</c>: the name, then <c>-2</c> … up to this many in all (default 10).</summary>
    public int MaxNameAttempts { get; init; } = 10;

    /// <summary>Retries of a call answered <c>ratelimited</c>/HTTP 429, after its <c>Retry-After</c> (default 3).</summary>
    public int MaxRateLimitRetries { get; init; } = 3;

    /// <summary>Longest <c>Retry-After</c> waited for (default 30 s); a longer one counts as a failure.</summary>
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentException">Enabled without a bot token, a bad prefix, a bad invite user ID or a bad limit; names the setting.</exception>
    public void Validate()
    {
        if (!Enabled) return;
        if (string.IsNullOrWhiteSpace(BotToken)) throw new ArgumentException("BotToken is required when incident channels are enabled", nameof(BotToken));
        if (!SlackChannelNames.IsValidPrefix(Prefix))
            throw new ArgumentException($"Prefix \"{Prefix}\" is not a valid channel name prefix: 1 to 20 of a-z, 0-9, '-', '_', starting and ending with a letter or digit", nameof(Prefix));
        foreach (string u in InviteUserIds)
        {
            if (string.IsNullOrEmpty(u) || u.Length > 30 || u[0] is not ('U' or 'W') || u.Any(c => c is not ((>= 'A' and <= 'Z') or (>= '0' and <= '9'))))
                throw new ArgumentException($"InviteUserIds: \"{u}\" is not a Slack user ID (U0123ABCD)", nameof(InviteUserIds));
        }
        if (MaxNameAttempts is < 1 or > 100) throw new ArgumentException("MaxNameAttempts must be 1 to 100", nameof(MaxNameAttempts));
        if (MaxRateLimitRetries is < 0 or > 10) throw new ArgumentException("MaxRateLimitRetries must be 0 to 10", nameof(MaxRateLimitRetries));
        if (RequestTimeout <= TimeSpan.Zero) throw new ArgumentException("RequestTimeout must be positive", nameof(RequestTimeout));
    }
}

/// <summary>
/// An optional Slack channel per incident. Subscribes to <see cref="IncidentService.Changed"/>: when
/// an incident opens it creates a channel <c>{prefix}-{id}-{slug of title}</c>
/// (<c>conversations.create</c>; on <c>name_taken</c> it tries <c>-2</c>, <c>-3</c>, … up to
/// <see cref="IncidentSlackChannelOptions.MaxNameAttempts"/> names), records it on the incident
/// (<see cref="IncidentService.SetSlackChannelAsync"/>), invites the configured users, posts an
/// introduction (title, severity, status, the page's permalink from <c>chat.getPermalink</c>) and
/// replies in the page's thread with a link to the channel. Later changes (acknowledged, mitigated,
/// re-triggered, resolved, closed, severity, commander, notes, follow-ups) are posted as one line in
/// the incident channel.
/// </summary>
/// <remarks>
/// <para>
/// Asynchronous: the <see cref="IncidentService.Changed"/> handler only queues the change; one
/// background loop does the Slack calls in order, so a slow Slack never slows a command. Errors
/// (<c>invalid_name_*</c>, <c>restricted_action</c>, rate limits beyond the retries, network
/// failures) are logged and recorded on the incident's timeline as
/// <see cref="ChannelFailedKind"/>; they never reach the service.
/// </para>
/// <para>
/// Idempotent: before creating, the incident is read again and nothing is created when it already
/// has a channel (a duplicate change, a second node, a restart: <see cref="CatchUpAsync"/> creates the
/// missing channels of open incidents). The page-thread reply is posted once per incident and channel
/// (guarded by a de-duplicated timeline event); updates are posted once per timeline event.
/// Limitation: a channel Slack created whose answer was lost (timeout) is not found again; the next
/// attempt gets <c>name_taken</c> and creates <c>…-2</c>.
/// </para>
/// </remarks>
public sealed class IncidentSlackChannels : IAsyncDisposable
{
    /// <summary>Timeline kind recorded when a channel could not be created.</summary>
    public const string ChannelFailedKind = TimelineKinds.SlackChannelFailed;

    /// <summary>Timeline kind recorded when the page thread got the link to the channel (also the once-only guard of that reply).</summary>
    public const string PageLinkedKind = TimelineKinds.SlackPageLinked;

    private const int QueueCapacity = 10_000;
    private const int RememberedUpdates = 4096;

    private static readonly HashSet<string> UpdateKinds = new(StringComparer.Ordinal)
    {
        TimelineKinds.Acknowledged, TimelineKinds.Mitigated, TimelineKinds.Retriggered, TimelineKinds.Resolved, TimelineKinds.Closed,
        TimelineKinds.SeverityChanged, TimelineKinds.CommanderAssigned, TimelineKinds.Note, TimelineKinds.FollowUpAdded,
    };

    private readonly IncidentService _service;
    private readonly IncidentSlackChannelOptions _options;
    private readonly SlackApiClient? _api;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Channel<IncidentChange> _queue = Channel.CreateBounded<IncidentChange>(new BoundedChannelOptions(QueueCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private readonly HashSet<string> _posted = new(StringComparer.Ordinal);
    private readonly Queue<string> _postedOrder = new();
    private readonly Lock _idleLock = new();
    private readonly Func<IncidentChange, CancellationToken, Task> _handler;
    private Task? _loop;
    private int _inFlight;
    private TaskCompletionSource _idle = NewIdle(true);

    /// <summary>Creates the component; call <see cref="Start"/> to subscribe (nothing happens when disabled).</summary>
    /// <param name="service">The incident service.</param>
    /// <param name="options">Settings (validated).</param>
    /// <param name="http">HTTP client for the Web API.</param>
    /// <param name="time">Clock (rate-limit waits, timeline times); <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="log">Log (never receives the token).</param>
    /// <exception cref="ArgumentException">Invalid settings (see <see cref="IncidentSlackChannelOptions.Validate"/>).</exception>
    public IncidentSlackChannels(IncidentService service, IncidentSlackChannelOptions options, HttpClient http, TimeProvider? time = null, ILogger? log = null)
    {
        _service = service ?? throw new ArgumentNullException(nameof(service));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        ArgumentNullException.ThrowIfNull(http);
        options.Validate();
        _time = time ?? TimeProvider.System;
        _log = log ?? NullLogger.Instance;
        if (options.Enabled) _api = new SlackApiClient(http, options.BaseUrl, options.BotToken!, options.RequestTimeout, _time);
        _handler = OnChangedAsync;
    }

    /// <summary>True when channels are created.</summary>
    public bool Enabled => _options.Enabled;

    /// <summary>Subscribes to the service's changes and starts the background loop (no-op when disabled or started).</summary>
    public void Start()
    {
        if (!Enabled || _loop is not null) return;
        _service.Changed += _handler;
        _loop = Task.Run(() => LoopAsync(_stop.Token));
    }

    /// <summary>Queues a change (what the <see cref="IncidentService.Changed"/> subscription does; public for replays and tests). Queued changes are handled once <see cref="Start"/> ran.</summary>
    /// <returns>False when disabled or the queue is full (the change is dropped and logged; <see cref="CatchUpAsync"/> repairs missing channels).</returns>
    public bool Enqueue(IncidentChange change)
    {
        ArgumentNullException.ThrowIfNull(change);
        if (!Enabled) return false;
        lock (_idleLock)
        {
            if (!_queue.Writer.TryWrite(change))
            {
                _log.LogWarning("Incident #{Id}: Slack channel queue full; change dropped", change.After.Id);
                return false;
            }
            if (_inFlight++ == 0) _idle = NewIdle(false);
        }
        return true;
    }

    /// <summary>Waits until every queued change has been handled.</summary>
    public Task WhenIdleAsync(CancellationToken cancellationToken = default)
    {
        lock (_idleLock) return _idle.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Creates the channel of every open incident that has none (after a restart or an outage); returns how many were queued.</summary>
    public async Task<int> CatchUpAsync(CancellationToken cancellationToken = default)
    {
        if (!Enabled) return 0;
        var open = await _service.ListAsync(IncidentFilter.Open with { Limit = 1000 }, cancellationToken).ConfigureAwait(false);
        int n = 0;
        foreach (var i in open.Where(i => i.SlackChannel is null).OrderBy(i => i.Id))
        {
            if (Enqueue(new IncidentChange(null, i, null))) n++;
        }
        return n;
    }

    /// <summary>
    /// Makes sure incident <paramref name="id"/> has its channel (creating, recording, inviting,
    /// introducing and linking it) unless it already has one or is no longer open. Never throws for
    /// Slack errors: they are logged and recorded on the timeline.
    /// </summary>
    /// <returns>The incident's channel ID, or null when none could be created.</returns>
    public async Task<string?> EnsureChannelAsync(long id, CancellationToken cancellationToken = default)
    {
        if (_api is null) return null;
        var incident = await _service.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (incident is null) return null;
        if (incident.SlackChannel is not null) return incident.SlackChannel;
        if (!incident.IsOpen) return null;

        string? channelId = null, channelName = null;
        SlackCallResult? last = null;
        for (int attempt = 1; attempt <= _options.MaxNameAttempts; attempt++)
        {
            string name = SlackChannelNames.ForIncident(_options.Prefix, id, incident.Title, attempt);
            last = await CallAsync("conversations.create", new JsonObject { ["name"] = name, ["is_private"] = _options.Private }, cancellationToken).ConfigureAwait(false);
            if (last.IsOk)
            {
                var channel = last.Body.TryGetProperty("channel", out var c) && c.ValueKind == JsonValueKind.Object ? c : default;
                channelId = channel.ValueKind == JsonValueKind.Object && channel.TryGetProperty("id", out var cid) && cid.ValueKind == JsonValueKind.String ? cid.GetString() : null;
                channelName = channel.ValueKind == JsonValueKind.Object && channel.TryGetProperty("name", out var cn) && cn.ValueKind == JsonValueKind.String ? cn.GetString() : name;
                break;
            }
            if (last.Error != "name_taken") break;
            _log.LogInformation("Incident #{Id}: Slack channel name {Name} is taken; trying the next", id, name);
        }
        if (string.IsNullOrEmpty(channelId))
        {
            string why = last is null ? "no attempt" : last.IsOk ? "conversations.create answered without a channel id"
                : last.Error == "name_taken" ? $"every name up to -{_options.MaxNameAttempts.ToString(CultureInfo.InvariantCulture)} is taken" : last.Description;
            await FailAsync(incident, why, cancellationToken).ConfigureAwait(false);
            return null;
        }

        var updated = await _service.SetSlackChannelAsync(id, channelId, channelName!, cancellationToken).ConfigureAwait(false) ?? incident;
        _log.LogInformation("Incident #{Id}: Slack channel #{Name} ({Channel}) created", id, channelName, channelId);

        if (_options.InviteUserIds.Count > 0)
        {
            var invite = await CallAsync("conversations.invite", new JsonObject { ["channel"] = channelId, ["users"] = string.Join(',', _options.InviteUserIds) }, cancellationToken).ConfigureAwait(false);
            if (!invite.IsOk) _log.LogWarning("Incident #{Id}: inviting users to the Slack channel failed: {Error}", id, invite.Description);
        }

        string? permalink = await PermalinkAsync(updated, cancellationToken).ConfigureAwait(false);
        var intro = await CallAsync("chat.postMessage", Intro(updated, channelId, permalink), cancellationToken).ConfigureAwait(false);
        if (!intro.IsOk) _log.LogWarning("Incident #{Id}: introduction in the Slack channel failed: {Error}", id, intro.Description);
        await LinkPageAsync(updated with { SlackChannel = channelId, SlackChannelName = channelName }, announceInChannel: false, cancellationToken).ConfigureAwait(false);
        return channelId;
    }

    /// <summary>Unsubscribes, finishes the queued changes (up to 10 s) and stops.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_loop is not null)
        {
            _service.Changed -= _handler;
            _queue.Writer.TryComplete();
            try
            {
                await _loop.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                _log.LogWarning("Slack channel work still running at shutdown; cancelled");
            }
            await _stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await _loop.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
        _stop.Dispose();
    }

    private Task OnChangedAsync(IncidentChange change, CancellationToken cancellationToken)
    {
        Enqueue(change);
        return Task.CompletedTask;
    }

    private async Task LoopAsync(CancellationToken cancellationToken)
    {
        await foreach (var change in _queue.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            try
            {
                await HandleAsync(change, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _log.LogError(e, "Incident #{Id}: Slack channel work failed", change.After.Id);
            }
            finally
            {
                lock (_idleLock)
                {
                    if (--_inFlight == 0) _idle.TrySetResult();
                }
            }
        }
    }

    private async Task HandleAsync(IncidentChange change, CancellationToken cancellationToken)
    {
        var after = change.After;
        if (change.Before is null)
        {
            await EnsureChannelAsync(after.Id, cancellationToken).ConfigureAwait(false);
            return;
        }
        if (after.SlackChannel is null) return;
        if (change.Before.PageTs is null && after.PageTs is not null)
            await LinkPageAsync(after, announceInChannel: true, cancellationToken).ConfigureAwait(false);
        if (change.Event is { } e && UpdateKinds.Contains(e.Kind) && Remember(after.Id, e.DedupKey))
        {
            string line = UpdateLine(after, e);
            var r = await CallAsync("chat.postMessage", new JsonObject { ["channel"] = after.SlackChannel, ["text"] = line, ["unfurl_links"] = false }, cancellationToken).ConfigureAwait(false);
            if (!r.IsOk) _log.LogWarning("Incident #{Id}: update in the Slack channel failed: {Error}", after.Id, r.Description);
        }
    }

    /// <summary>
    /// Posts the channel link in the page's thread once (guarded by a de-duplicated timeline event);
    /// with <paramref name="announceInChannel"/> (the page became known after the channel was made)
    /// also the page's permalink in the incident channel.
    /// </summary>
    private async Task LinkPageAsync(Incident incident, bool announceInChannel, CancellationToken cancellationToken)
    {
        if (incident.PageChannel is null || incident.PageTs is null || incident.SlackChannel is null) return;
        var e = new TimelineEvent
        {
            IncidentId = incident.Id,
            At = _time.GetUtcNow(),
            Source = TimelineSources.Incident,
            Actor = "monitor",
            Kind = PageLinkedKind,
            Text = $"Slack channel #{incident.SlackChannelName} linked in the page's thread",
            DedupKey = "slack_page_linked:" + incident.SlackChannel,
            GroupKey = incident.GroupKey,
        };
        if (!await _service.RecordAsync(e, cancellationToken).ConfigureAwait(false)) return;
        if (announceInChannel && await PermalinkAsync(incident, cancellationToken).ConfigureAwait(false) is { } permalink)
        {
            var p = await CallAsync("chat.postMessage", new JsonObject { ["channel"] = incident.SlackChannel, ["text"] = $"The page: <{permalink}|the alert message>", ["unfurl_links"] = false }, cancellationToken).ConfigureAwait(false);
            if (!p.IsOk) _log.LogWarning("Incident #{Id}: posting the page link in the Slack channel failed: {Error}", incident.Id, p.Description);
        }
        string text = $"Incident #{incident.Id.ToString(CultureInfo.InvariantCulture)} has its channel: <#{incident.SlackChannel}>";
        var r = await CallAsync("chat.postMessage", new JsonObject { ["channel"] = incident.PageChannel, ["thread_ts"] = incident.PageTs, ["text"] = text }, cancellationToken).ConfigureAwait(false);
        if (!r.IsOk) _log.LogWarning("Incident #{Id}: reply in the page thread failed: {Error}", incident.Id, r.Description);
    }

    private async Task<string?> PermalinkAsync(Incident incident, CancellationToken cancellationToken)
    {
        if (incident.PageChannel is null || incident.PageTs is null) return null;
        var r = await GetAsync("chat.getPermalink", [new("channel", incident.PageChannel), new("message_ts", incident.PageTs)], cancellationToken).ConfigureAwait(false);
        if (!r.IsOk)
        {
            _log.LogWarning("Incident #{Id}: chat.getPermalink failed: {Error}", incident.Id, r.Description);
            return null;
        }
        string? link = r.GetString("permalink");
        return link is not null && Uri.TryCreate(link, UriKind.Absolute, out var u) && u.Scheme is "https" or "http" ? link : null;
    }

    private static JsonObject Intro(Incident i, string channelId, string? permalink)
    {
        string n = "#" + i.Id.ToString(CultureInfo.InvariantCulture);
        string sev = IncidentNames.Format(i.Severity);
        string status = IncidentNames.Format(i.Status);
        string page = permalink is null ? "" : $"\n*Page:* <{permalink}|the alert that opened it>";
        string facts = $"*Severity:* {sev}   *Status:* {status}   *Commander:* {SlackText.Person(i.Commander)}\n" +
                       $"*Started:* {IncidentLifecycle.Time(i.StartedAt)}" +
                       (i.Markets.Count > 0 ? "   *Markets:* " + SlackText.Escape(string.Join(", ", i.Markets)) : "") + page;
        string text = $"{sev} incident {n} ({status}): {SlackText.Escape(SlackText.Clip(i.Title, 200))}" + (permalink is null ? "" : $" — page: {permalink}");
        return new JsonObject
        {
            ["channel"] = channelId,
            ["text"] = text,
            ["unfurl_links"] = false,
            ["blocks"] = new JsonArray
            {
                SlackText.Header($"Incident {n}: {i.Title}"),
                SlackText.Section(facts),
                SlackText.Context("Run `/incident ack`, `/incident status`, `/incident note TEXT`, `/incident resolve` here."),
            },
        };
    }

    private static string UpdateLine(Incident i, TimelineEvent e)
    {
        string n = "#" + i.Id.ToString(CultureInfo.InvariantCulture);
        string head = $"*{IncidentNames.Format(i.Severity)} · {IncidentNames.Format(i.Status)}* · ";
        string body = e.Kind switch
        {
            TimelineKinds.Note => $"note on incident {n} from {SlackText.Escape(e.Actor)}: {SlackText.Escape(SlackText.Clip(e.Text, 3000))}",
            TimelineKinds.FollowUpAdded => $"incident {n} {SlackText.Escape(SlackText.Clip(e.Text, 3000))} (added by {SlackText.Escape(e.Actor)})",
            _ => SlackText.Escape(SlackText.Clip(e.Text, 3000)), // the service's sentence names the incident
        };
        return head + body;
    }

    private async Task FailAsync(Incident incident, string why, CancellationToken cancellationToken)
    {
        _log.LogWarning("Incident #{Id}: no Slack channel: {Reason}", incident.Id, why);
        var now = _time.GetUtcNow();
        try
        {
            await _service.RecordAsync(new TimelineEvent
            {
                IncidentId = incident.Id,
                At = now,
                Source = TimelineSources.Incident,
                Actor = "monitor",
                Kind = ChannelFailedKind,
                Text = $"Slack channel for incident #{incident.Id.ToString(CultureInfo.InvariantCulture)} not created: {why}",
                DedupKey = "slack_channel_failed:" + now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture),
                GroupKey = incident.GroupKey,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _log.LogError(e, "Incident #{Id}: recording the Slack channel failure failed", incident.Id);
        }
    }

    private Task<SlackCallResult> CallAsync(string method, JsonObject args, CancellationToken cancellationToken)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(args);
        return WithRateLimitRetries(() => _api!.PostJsonAsync(method, json, cancellationToken), cancellationToken);
    }

    private Task<SlackCallResult> GetAsync(string method, KeyValuePair<string, string>[] query, CancellationToken cancellationToken) =>
        WithRateLimitRetries(() => _api!.GetAsync(method, query, cancellationToken), cancellationToken);

    /// <summary>Retries a call answered 429/<c>ratelimited</c> after its <c>Retry-After</c> (1 s when absent), at most <see cref="IncidentSlackChannelOptions.MaxRateLimitRetries"/> times.</summary>
    private async Task<SlackCallResult> WithRateLimitRetries(Func<Task<SlackCallResult>> call, CancellationToken cancellationToken)
    {
        for (int retry = 0; ; retry++)
        {
            var r = await call().ConfigureAwait(false);
            if (r.Status != SlackCallStatus.RateLimited || retry >= _options.MaxRateLimitRetries) return r;
            var wait = r.RetryAfter ?? TimeSpan.FromSeconds(1);
            if (wait > _options.MaxRetryAfter) return r;
            _log.LogInformation("Slack {Method} rate limited; retrying in {Wait}", r.Method, wait);
            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private bool Remember(long id, string dedupKey)
    {
        string key = id.ToString(CultureInfo.InvariantCulture) + ":" + dedupKey;
        if (!_posted.Add(key)) return false;
        _postedOrder.Enqueue(key);
        if (_postedOrder.Count > RememberedUpdates) _posted.Remove(_postedOrder.Dequeue());
        return true;
    }

    private static TaskCompletionSource NewIdle(bool completed)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed) tcs.SetResult();
        return tcs;
    }
}
