using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ExchangeHealth.Chaos.Slack;

/// <summary>How the fake Slack behaves during an outage.</summary>
public enum FakeSlackOutage
{
    /// <summary>Normal service.</summary>
    None,

    /// <summary>Every request is answered HTTP 503 with a plain-text body (as a load balancer would); nothing is processed.</summary>
    ServiceUnavailable,

    /// <summary>Every request's connection is aborted after the request arrived, without an answer; nothing is processed.</summary>
    CloseConnections,
}

/// <summary>One request the fake Slack received.</summary>
/// <param name="Method">The Web API method from the path, e.g. <c>chat.postMessage</c>.</param>
/// <param name="HttpMethod"><c>GET</c> or <c>POST</c>.</param>
/// <param name="Body">The arguments: the JSON body, or the form or query fields as string values.</param>
/// <param name="ArrivedAt">Arrival time on the server's <see cref="TimeProvider"/>.</param>
/// <param name="ArrivedTimestamp"><see cref="Stopwatch.GetTimestamp"/> at arrival (real elapsed time between requests).</param>
/// <param name="StatusCode">HTTP status answered; 0 when the connection was aborted.</param>
/// <param name="Response">The response body ("" when none).</param>
/// <param name="Processed">True when the call took effect (a message stored or updated), whether or not the client got the answer.</param>
public sealed record FakeSlackRequest(
    string Method,
    string HttpMethod,
    JsonObject Body,
    DateTimeOffset ArrivedAt,
    long ArrivedTimestamp,
    int StatusCode,
    string Response,
    bool Processed)
{
    /// <summary>A string argument, or null.</summary>
    public string? Arg(string name) => Body.TryGetPropertyValue(name, out var v) && v is JsonValue jv && jv.TryGetValue(out string? s) ? s : null;

    /// <summary>The <c>dedup_key</c> of the message metadata, or null.</summary>
    public string? DedupKey => Body["metadata"]?["event_payload"]?["dedup_key"]?.GetValue<string>();
}

/// <summary>A message stored by the fake Slack.</summary>
public sealed class FakeSlackMessage
{
    internal FakeSlackMessage(string channel, string ts, string? threadTs, DateTimeOffset postedAt)
    {
        Channel = channel;
        Ts = ts;
        ThreadTs = threadTs;
        PostedAt = postedAt;
    }

    /// <summary>Channel ID.</summary>
    public string Channel { get; }

    /// <summary>The message's ts (its id).</summary>
    public string Ts { get; }

    /// <summary>The thread parent's ts for a reply; null for a top-level message.</summary>
    public string? ThreadTs { get; }

    /// <summary>When it was posted (server clock).</summary>
    public DateTimeOffset PostedAt { get; }

    /// <summary>Current text.</summary>
    public string Text { get; internal set; } = "";

    /// <summary>Current blocks, or null.</summary>
    public JsonNode? Blocks { get; internal set; }

    /// <summary>Metadata as posted (<c>event_type</c>, <c>event_payload</c>), or null.</summary>
    public JsonNode? Metadata { get; internal set; }

    /// <summary>Posted with <c>reply_broadcast: true</c>.</summary>
    public bool ReplyBroadcast { get; internal set; }

    /// <summary>Number of <c>chat.update</c> calls applied.</summary>
    public int Updates { get; internal set; }

    /// <summary>The metadata's <c>event_payload.dedup_key</c>, or null.</summary>
    public string? DedupKey => Metadata?["event_payload"]?["dedup_key"]?.GetValue<string>();

    /// <summary>The metadata's <c>event_payload.part</c>, or null.</summary>
    public string? Part => Metadata?["event_payload"]?["part"]?.GetValue<string>();

    /// <summary>The header block's text, or "".</summary>
    public string HeaderText => Blocks is JsonArray a ? a.OfType<JsonObject>().Where(b => (string?)b["type"] == "header").Select(b => (string?)b["text"]?["text"] ?? "").FirstOrDefault() ?? "" : "";
}

/// <summary>A channel created with <c>conversations.create</c> (or registered with <see cref="FakeSlackServer.AddChannel"/>).</summary>
/// <param name="Id">Channel ID (<c>C…</c>).</param>
/// <param name="Name">Channel name.</param>
/// <param name="IsPrivate">Created with <c>is_private: true</c>.</param>
/// <param name="CreatedAt">Server clock at creation.</param>
/// <param name="Members">User IDs invited with <c>conversations.invite</c> (a copy).</param>
public sealed record FakeSlackChannel(string Id, string Name, bool IsPrivate, DateTimeOffset CreatedAt, IReadOnlyList<string> Members);

/// <summary>
/// A fake of Slack's Web API for tests, served by real Kestrel on <c>127.0.0.1</c> (a free port):
/// <c>auth.test</c>, <c>chat.postMessage</c>, <c>chat.update</c>, <c>chat.getPermalink</c>,
/// <c>conversations.history</c>, <c>conversations.replies</c>, <c>conversations.create</c> and
/// <c>conversations.invite</c>, answering like Slack (HTTP 200 with <c>{"ok":true|false,...}</c>).
/// </summary>
/// <remarks>
/// <para>
/// It checks the bearer token (missing → <c>not_authed</c>, wrong → <c>invalid_auth</c>), validates
/// required arguments (<c>channel_not_found</c> for an unknown channel when a channel list is given,
/// <c>no_text</c>, <c>invalid_blocks</c>, <c>msg_too_long</c>, <c>invalid_metadata_format</c>,
/// <c>message_not_found</c>, <c>thread_not_found</c>), assigns increasing <c>ts</c> values from its
/// clock, stores messages with their metadata (returned by the history methods only with
/// <c>include_all_metadata=true</c>), and records every request.
/// </para>
/// <para>
/// Channels: <c>conversations.create</c> checks the name as Slack does (empty →
/// <c>invalid_name_required</c>, over 80 characters → <c>invalid_name_maxlength</c>, a character
/// other than a-z, 0-9, '-', '_' → <c>invalid_name_specials</c>, a name in use →
/// <c>name_taken</c>) and answers <c>{ok, channel: {id, name, ...}}</c>; created channels accept
/// messages even when a channel list was given (<see cref="Channels"/>).
/// </para>
/// <para>
/// Faults on demand: <see cref="SetOutage"/> (503 or aborted connections), <see cref="FailNext"/>
/// (Slack errors), <see cref="RateLimitNext"/> (429 with <c>Retry-After</c>) and
/// <see cref="DelayNext"/> (process the call, then answer late: beyond a client's timeout the client
/// cannot know the message was posted).
/// </para>
/// </remarks>
public sealed class FakeSlackServer : IAsyncDisposable
{
    /// <summary>The token the fake accepts unless another is given.</summary>
    public const string DefaultToken = "xoxb-fake-token";

    private readonly WebApplication _app;
    private readonly TimeProvider _time;
    private readonly HashSet<string>? _channels;
    private readonly bool _open;
    private readonly Lock _lock = new();
    private readonly List<FakeSlackRequest> _requests = [];
    private readonly List<FakeSlackMessage> _messages = [];
    private readonly List<Fault> _faults = [];
    private readonly List<FakeSlackChannel> _created = [];
    private FakeSlackOutage _outage;
    private int _nextChannel;
    private long _lastTsMicros;

    private enum FaultKind { Fail, RateLimit, Delay }

    private sealed class Fault(FaultKind kind, string? method, int count)
    {
        public FaultKind Kind { get; } = kind;
        public string? Method { get; } = method;
        public int Remaining { get; set; } = count;
        public string Error { get; init; } = "internal_error";
        public int HttpStatus { get; init; } = 200;
        public TimeSpan Duration { get; init; }
    }

    private FakeSlackServer(WebApplication app, string token, IEnumerable<string>? channels, TimeProvider time)
    {
        _app = app;
        Token = token;
        _channels = channels is null ? null : new HashSet<string>(channels, StringComparer.Ordinal);
        _open = channels is null;
        _time = time;
    }

    /// <summary>The accepted bot token.</summary>
    public string Token { get; }

    /// <summary>The Web API base URL, e.g. <c>http://127.0.0.1:41234/api/</c> (give it to the notifier).</summary>
    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>
    /// Starts the fake on a free port of 127.0.0.1.
    /// </summary>
    /// <param name="token">The bot token to accept (default <see cref="DefaultToken"/>).</param>
    /// <param name="channels">Known channel IDs; null accepts any channel.</param>
    /// <param name="timeProvider">Clock for <c>ts</c> values and arrival times; <see cref="TimeProvider.System"/> when null.</param>
    public static async Task<FakeSlackServer> StartAsync(string token = DefaultToken, IEnumerable<string>? channels = null, TimeProvider? timeProvider = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeSlackServer(app, token, channels, timeProvider ?? TimeProvider.System);
        app.Run(server.HandleAsync);
        await app.StartAsync().ConfigureAwait(false);
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseUrl = new Uri(address.TrimEnd('/') + "/api/");
        return server;
    }

    /// <summary>Every request so far, in arrival order (a copy).</summary>
    public IReadOnlyList<FakeSlackRequest> Requests
    {
        get { lock (_lock) return [.. _requests]; }
    }

    /// <summary>Every stored message (top-level and replies), in posting order (a copy of the list).</summary>
    public IReadOnlyList<FakeSlackMessage> Messages
    {
        get { lock (_lock) return [.. _messages]; }
    }

    /// <summary>Channels created with <c>conversations.create</c> or <see cref="AddChannel"/>, in creation order (a copy).</summary>
    public IReadOnlyList<FakeSlackChannel> Channels
    {
        get { lock (_lock) return [.. _created]; }
    }

    /// <summary>Registers an existing channel (so a <c>conversations.create</c> of the same name answers <c>name_taken</c>); returns its ID.</summary>
    public string AddChannel(string name, bool isPrivate = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        lock (_lock) return CreateChannel(name, isPrivate, _time.GetUtcNow()).Id;
    }

    /// <summary>Requests of one Web API method.</summary>
    public IReadOnlyList<FakeSlackRequest> RequestsOf(string method) => [.. Requests.Where(r => r.Method == method)];

    /// <summary>Starts or ends an outage.</summary>
    public void SetOutage(FakeSlackOutage outage)
    {
        lock (_lock) _outage = outage;
    }

    /// <summary>The next <paramref name="count"/> calls (of <paramref name="method"/>, or any) get <c>{"ok":false,"error":error}</c> with HTTP <paramref name="httpStatus"/>, unprocessed.</summary>
    public void FailNext(int count, string error = "internal_error", string? method = null, int httpStatus = 200)
    {
        lock (_lock) _faults.Add(new Fault(FaultKind.Fail, method, count) { Error = error, HttpStatus = httpStatus });
    }

    /// <summary>The next <paramref name="count"/> calls (of <paramref name="method"/>, or any) get HTTP 429 with <c>Retry-After</c> (whole seconds, rounded up), unprocessed.</summary>
    public void RateLimitNext(int count, TimeSpan retryAfter, string? method = null)
    {
        lock (_lock) _faults.Add(new Fault(FaultKind.RateLimit, method, count) { Duration = retryAfter });
    }

    /// <summary>The next <paramref name="count"/> calls (of <paramref name="method"/>, or any) are processed at once but answered only after <paramref name="delay"/> (real time).</summary>
    public void DelayNext(int count, TimeSpan delay, string? method = null)
    {
        lock (_lock) _faults.Add(new Fault(FaultKind.Delay, method, count) { Duration = delay });
    }

    /// <summary>Clears pending faults and ends any outage.</summary>
    public void Heal()
    {
        lock (_lock)
        {
            _faults.Clear();
            _outage = FakeSlackOutage.None;
        }
    }

    /// <summary>Deletes a message (as a user could), so a later <c>chat.update</c> answers <c>message_not_found</c>.</summary>
    public bool DeleteMessage(string channel, string ts)
    {
        lock (_lock) return _messages.RemoveAll(m => m.Channel == channel && m.Ts == ts) > 0;
    }

    /// <summary>Waits until a request matching <paramref name="predicate"/> has arrived.</summary>
    /// <exception cref="TimeoutException">None within <paramref name="timeout"/>; lists the requests seen.</exception>
    public async Task<FakeSlackRequest> WaitForRequestAsync(Func<FakeSlackRequest, bool> predicate, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (true)
        {
            var match = Requests.FirstOrDefault(predicate);
            if (match is not null) return match;
            if (sw.Elapsed > timeout)
                throw new TimeoutException($"no matching request to the fake Slack within {timeout}; seen: {string.Join(", ", Requests.Select(r => r.Method + ":" + r.StatusCode.ToString(CultureInfo.InvariantCulture)))}");
            await Task.Delay(20).ConfigureAwait(false);
        }
    }

    /// <summary>Stops Kestrel.</summary>
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        var arrivedAt = _time.GetUtcNow();
        long arrivedTs = Stopwatch.GetTimestamp();
        string path = ctx.Request.Path.Value ?? "";
        string method = path.StartsWith("/api/", StringComparison.Ordinal) ? path["/api/".Length..] : path.TrimStart('/');
        JsonObject args;
        try
        {
            args = await ReadArgumentsAsync(ctx.Request).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            await AnswerAsync(ctx, method, new JsonObject(), arrivedAt, arrivedTs, 200, Error("invalid_json"), processed: false, delay: TimeSpan.Zero).ConfigureAwait(false);
            return;
        }

        FakeSlackOutage outage;
        Fault? fault = null;
        lock (_lock)
        {
            outage = _outage;
            if (outage == FakeSlackOutage.None)
            {
                fault = _faults.FirstOrDefault(f => f.Remaining > 0 && (f.Method is null || f.Method == method));
                if (fault is not null && --fault.Remaining == 0) _faults.Remove(fault);
            }
        }

        if (outage == FakeSlackOutage.CloseConnections)
        {
            Record(new FakeSlackRequest(method, ctx.Request.Method, args, arrivedAt, arrivedTs, 0, "", false));
            ctx.Abort();
            return;
        }
        if (outage == FakeSlackOutage.ServiceUnavailable)
        {
            Record(new FakeSlackRequest(method, ctx.Request.Method, args, arrivedAt, arrivedTs, 503, "upstream unavailable", false));
            ctx.Response.StatusCode = 503;
            ctx.Response.ContentType = "text/plain";
            await ctx.Response.WriteAsync("upstream unavailable").ConfigureAwait(false);
            return;
        }

        string? auth = ctx.Request.Headers.Authorization;
        if (string.IsNullOrEmpty(auth) || !auth.StartsWith("Bearer ", StringComparison.Ordinal))
        {
            await AnswerAsync(ctx, method, args, arrivedAt, arrivedTs, 200, Error("not_authed"), false, TimeSpan.Zero).ConfigureAwait(false);
            return;
        }
        if (auth["Bearer ".Length..] != Token)
        {
            await AnswerAsync(ctx, method, args, arrivedAt, arrivedTs, 200, Error("invalid_auth"), false, TimeSpan.Zero).ConfigureAwait(false);
            return;
        }

        if (fault is { Kind: FaultKind.RateLimit })
        {
            long seconds = (long)Math.Ceiling(fault.Duration.TotalSeconds);
            ctx.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            await AnswerAsync(ctx, method, args, arrivedAt, arrivedTs, 429, Error("ratelimited"), false, TimeSpan.Zero).ConfigureAwait(false);
            return;
        }
        if (fault is { Kind: FaultKind.Fail })
        {
            await AnswerAsync(ctx, method, args, arrivedAt, arrivedTs, fault.HttpStatus, Error(fault.Error), false, TimeSpan.Zero).ConfigureAwait(false);
            return;
        }

        JsonObject response;
        bool processed = false;
        int status = 200;
        lock (_lock)
        {
            switch (method)
            {
                case "auth.test":
                    response = new JsonObject
                    {
                        ["ok"] = true, ["url"] = "https://fake.slack.test/", ["team"] = "Fake Team", ["user"] = "exh-bot",
                        ["team_id"] = "T0FAKE", ["user_id"] = "U0BOT", ["bot_id"] = "B0BOT",
                    };
                    break;
                case "chat.postMessage":
                    response = PostMessage(args, arrivedAt, out processed);
                    break;
                case "chat.update":
                    response = Update(args, out processed);
                    break;
                case "conversations.history":
                    response = History(args, replies: false);
                    break;
                case "conversations.replies":
                    response = History(args, replies: true);
                    break;
                case "conversations.create":
                    response = CreateConversation(args, arrivedAt, out processed);
                    break;
                case "conversations.invite":
                    response = Invite(args, out processed);
                    break;
                case "chat.getPermalink":
                    response = Permalink(args);
                    break;
                default:
                    status = 404;
                    response = Error("unknown_method");
                    break;
            }
        }
        var delay = fault is { Kind: FaultKind.Delay } ? fault.Duration : TimeSpan.Zero;
        await AnswerAsync(ctx, method, args, arrivedAt, arrivedTs, status, response, processed, delay).ConfigureAwait(false);
    }

    private JsonObject PostMessage(JsonObject args, DateTimeOffset now, out bool processed)
    {
        processed = false;
        string? channel = Str(args, "channel");
        if (!KnownChannel(channel)) return Error("channel_not_found");
        string? text = Str(args, "text");
        var blocks = args["blocks"];
        if (string.IsNullOrEmpty(text) && blocks is null) return Error("no_text");
        if (text is { Length: > 40_000 }) return Error("msg_too_long");
        if (blocks is not null && !ValidBlocks(blocks)) return Error("invalid_blocks");
        var metadata = args["metadata"];
        if (metadata is not null && !ValidMetadata(metadata)) return Error("invalid_metadata_format");
        string? threadTs = Str(args, "thread_ts");
        if (threadTs is not null && !_messages.Any(m => m.Channel == channel && m.Ts == threadTs && m.ThreadTs is null)) return Error("thread_not_found");

        var message = new FakeSlackMessage(channel, NextTs(now), threadTs, now)
        {
            Text = text ?? "",
            Blocks = blocks?.DeepClone(),
            Metadata = metadata?.DeepClone(),
            ReplyBroadcast = args["reply_broadcast"] is JsonValue rb && rb.TryGetValue(out bool b) && b,
        };
        _messages.Add(message);
        processed = true;
        return new JsonObject { ["ok"] = true, ["channel"] = channel, ["ts"] = message.Ts, ["message"] = ToJson(message, includeMetadata: false) };
    }

    private JsonObject Update(JsonObject args, out bool processed)
    {
        processed = false;
        string? channel = Str(args, "channel");
        if (!KnownChannel(channel)) return Error("channel_not_found");
        string? ts = Str(args, "ts");
        if (string.IsNullOrEmpty(ts)) return Error("message_not_found");
        var message = _messages.FirstOrDefault(m => m.Channel == channel && m.Ts == ts);
        if (message is null) return Error("message_not_found");
        string? text = Str(args, "text");
        var blocks = args["blocks"];
        if (string.IsNullOrEmpty(text) && blocks is null) return Error("no_text");
        if (text is { Length: > 40_000 }) return Error("msg_too_long");
        if (blocks is not null && !ValidBlocks(blocks)) return Error("invalid_blocks");
        var metadata = args["metadata"];
        if (metadata is not null && !ValidMetadata(metadata)) return Error("invalid_metadata_format");
        message.Text = text ?? "";
        if (blocks is not null) message.Blocks = blocks.DeepClone();
        if (metadata is not null) message.Metadata = metadata.DeepClone();
        message.Updates++;
        processed = true;
        return new JsonObject { ["ok"] = true, ["channel"] = channel, ["ts"] = ts, ["text"] = message.Text };
    }

    private bool KnownChannel([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? channel) =>
        !string.IsNullOrEmpty(channel) && (_open || _channels!.Contains(channel) || _created.Any(c => c.Id == channel));

    private JsonObject CreateConversation(JsonObject args, DateTimeOffset now, out bool processed)
    {
        processed = false;
        string name = Str(args, "name") ?? "";
        if (name.Length == 0) return Error("invalid_name_required");
        if (name.Length > 80) return Error("invalid_name_maxlength");
        if (name.Any(c => c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_'))) return Error("invalid_name_specials");
        if (_created.Any(c => c.Name == name)) return Error("name_taken");
        bool isPrivate = Str(args, "is_private") is "true" or "1";
        var channel = CreateChannel(name, isPrivate, now);
        processed = true;
        return new JsonObject
        {
            ["ok"] = true,
            ["channel"] = new JsonObject
            {
                ["id"] = channel.Id, ["name"] = channel.Name, ["is_channel"] = true, ["is_private"] = isPrivate,
                ["created"] = now.ToUnixTimeSeconds(), ["creator"] = "U0BOT", ["name_normalized"] = channel.Name,
            },
        };
    }

    private FakeSlackChannel CreateChannel(string name, bool isPrivate, DateTimeOffset now)
    {
        var channel = new FakeSlackChannel("C0FAKE" + (++_nextChannel).ToString("D4", CultureInfo.InvariantCulture), name, isPrivate, now, []);
        _created.Add(channel);
        return channel;
    }

    private JsonObject Invite(JsonObject args, out bool processed)
    {
        processed = false;
        string? channel = Str(args, "channel");
        int index = _created.FindIndex(c => c.Id == channel);
        if (index < 0) return Error("channel_not_found");
        string users = Str(args, "users") ?? "";
        var ids = users.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (ids.Length == 0) return Error("no_user");
        var c = _created[index];
        _created[index] = c with { Members = [.. c.Members.Union(ids, StringComparer.Ordinal)] };
        processed = true;
        return new JsonObject { ["ok"] = true, ["channel"] = new JsonObject { ["id"] = c.Id, ["name"] = c.Name } };
    }

    private JsonObject Permalink(JsonObject args)
    {
        string? channel = Str(args, "channel");
        if (!KnownChannel(channel)) return Error("channel_not_found");
        string? ts = Str(args, "message_ts");
        if (string.IsNullOrEmpty(ts) || !_messages.Any(m => m.Channel == channel && m.Ts == ts)) return Error("message_not_found");
        return new JsonObject { ["ok"] = true, ["channel"] = channel, ["permalink"] = $"https://fake.slack.com/archives/{channel}/p{ts.Replace(".", "", StringComparison.Ordinal)}" };
    }

    private JsonObject History(JsonObject args, bool replies)
    {
        string? channel = Str(args, "channel");
        if (!KnownChannel(channel)) return Error("channel_not_found");
        bool inclusive = Str(args, "inclusive") is "true" or "1";
        bool withMetadata = Str(args, "include_all_metadata") is "true" or "1";
        decimal oldest = ParseTs(Str(args, "oldest")) ?? 0m;
        decimal latest = ParseTs(Str(args, "latest")) ?? decimal.MaxValue;
        int limit = int.TryParse(Str(args, "limit"), NumberStyles.None, CultureInfo.InvariantCulture, out int l) && l > 0 ? Math.Min(l, 999) : 100;
        int offset = Str(args, "cursor") is { } cursor && cursor.StartsWith("offset:", StringComparison.Ordinal)
            && int.TryParse(cursor.AsSpan(7), NumberStyles.None, CultureInfo.InvariantCulture, out int o) ? o : 0;

        bool InRange(FakeSlackMessage m)
        {
            decimal t = ParseTs(m.Ts)!.Value;
            return (inclusive ? t >= oldest : t > oldest) && (inclusive ? t <= latest : t < latest);
        }

        List<FakeSlackMessage> selected;
        if (replies)
        {
            string? ts = Str(args, "ts");
            var parent = _messages.FirstOrDefault(m => m.Channel == channel && m.Ts == ts && m.ThreadTs is null);
            if (parent is null) return Error("thread_not_found");
            selected = [parent, .. _messages.Where(m => m.Channel == channel && m.ThreadTs == ts && InRange(m))];
        }
        else
        {
            selected = [.. _messages.Where(m => m.Channel == channel && (m.ThreadTs is null || m.ReplyBroadcast) && InRange(m)).Reverse()];
        }
        var page = selected.Skip(offset).Take(limit).ToList();
        bool hasMore = offset + page.Count < selected.Count;
        var array = new JsonArray();
        foreach (var m in page) array.Add(ToJson(m, withMetadata));
        return new JsonObject
        {
            ["ok"] = true,
            ["messages"] = array,
            ["has_more"] = hasMore,
            ["response_metadata"] = new JsonObject { ["next_cursor"] = hasMore ? "offset:" + (offset + page.Count).ToString(CultureInfo.InvariantCulture) : "" },
        };
    }

    private static JsonObject ToJson(FakeSlackMessage m, bool includeMetadata)
    {
        var o = new JsonObject { ["type"] = "message", ["ts"] = m.Ts, ["text"] = m.Text, ["bot_id"] = "B0BOT" };
        if (m.Blocks is not null) o["blocks"] = m.Blocks.DeepClone();
        if (m.ThreadTs is not null) o["thread_ts"] = m.ThreadTs;
        if (m.ReplyBroadcast) o["subtype"] = "thread_broadcast";
        if (includeMetadata && m.Metadata is not null) o["metadata"] = m.Metadata.DeepClone();
        return o;
    }

    private static bool ValidBlocks(JsonNode blocks) =>
        blocks is JsonArray a && a.Count <= 50 && a.All(b => b is JsonObject o && o["type"] is JsonValue t && t.TryGetValue(out string? s) && !string.IsNullOrEmpty(s));

    private static bool ValidMetadata(JsonNode metadata) =>
        metadata is JsonObject o && o["event_type"] is JsonValue t && t.TryGetValue(out string? s) && !string.IsNullOrEmpty(s) && o["event_payload"] is JsonObject;

    private string NextTs(DateTimeOffset now)
    {
        long micros = (now.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;
        if (micros <= _lastTsMicros) micros = _lastTsMicros + 1;
        _lastTsMicros = micros;
        return (micros / 1_000_000).ToString(CultureInfo.InvariantCulture) + "." + (micros % 1_000_000).ToString("D6", CultureInfo.InvariantCulture);
    }

    private static decimal? ParseTs(string? ts) =>
        decimal.TryParse(ts, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal d) ? d : null;

    private static string? Str(JsonObject args, string name) =>
        args[name] switch
        {
            JsonValue v when v.TryGetValue(out string? s) => s,
            JsonValue v when v.TryGetValue(out bool b) => b ? "true" : "false",
            JsonValue v => v.ToJsonString(),
            _ => null,
        };

    private static JsonObject Error(string error) => new() { ["ok"] = false, ["error"] = error };

    private static async Task<JsonObject> ReadArgumentsAsync(HttpRequest request)
    {
        var args = new JsonObject();
        foreach (var (k, v) in request.Query) args[k] = v.ToString();
        if (!HttpMethods.IsPost(request.Method)) return args;
        string contentType = request.ContentType ?? "";
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        string body = await reader.ReadToEndAsync().ConfigureAwait(false);
        if (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            if (body.Length == 0) return args;
            if (JsonNode.Parse(body) is not JsonObject json) throw new JsonException("not an object");
            foreach (var (k, v) in json) args[k] = v?.DeepClone();
        }
        else if (contentType.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            foreach (string pair in body.Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = pair.IndexOf('=', StringComparison.Ordinal);
                string k = Uri.UnescapeDataString((eq < 0 ? pair : pair[..eq]).Replace('+', ' '));
                string v = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..].Replace('+', ' '));
                args[k] = k is "blocks" or "metadata" && v.Length > 0 ? JsonNode.Parse(v) : v;
            }
        }
        return args;
    }

    private async Task AnswerAsync(HttpContext ctx, string method, JsonObject args, DateTimeOffset arrivedAt, long arrivedTs, int status, JsonObject response, bool processed, TimeSpan delay)
    {
        string body = response.ToJsonString();
        Record(new FakeSlackRequest(method, ctx.Request.Method, args, arrivedAt, arrivedTs, status, body, processed));
        try
        {
            if (delay > TimeSpan.Zero) await Task.Delay(delay, ctx.RequestAborted).ConfigureAwait(false); // ends early when the client gave up
            ctx.Response.StatusCode = status;
            ctx.Response.ContentType = "application/json; charset=utf-8";
            await ctx.Response.WriteAsync(body).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or InvalidOperationException)
        {
            // the client gave up (timeout) before the late answer: as on a real network
        }
    }

    private void Record(FakeSlackRequest request)
    {
        lock (_lock) _requests.Add(request);
    }
}
