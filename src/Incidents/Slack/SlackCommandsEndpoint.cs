using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Alerting.Slack;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ExchangeHealth.Incidents.Slack;

/// <summary>Settings of <see cref="SlackCommandsEndpoint"/>.</summary>
public sealed class SlackCommandsEndpointOptions
{
    /// <summary>Slack's base of <c>response_url</c> in production.</summary>
    public static readonly Uri SlackResponseUrlBase = new("https://hooks.slack.com/");

    /// <summary>The Slack app's signing secret (from the environment, <c>SLACK_SIGNING_SECRET</c>); null or empty answers every request 503. Never logged.</summary>
    public string? SigningSecret { get; init; }

    /// <summary>
    /// How long a command may run before the request is answered "working on it…" and the final answer
    /// goes to <c>response_url</c>; default 2.5 s, inside Slack's 3-second limit for the answer.
    /// </summary>
    public TimeSpan Budget { get; init; } = TimeSpan.FromMilliseconds(2500);

    /// <summary>
    /// The only URL prefix delayed answers are POSTed to (default <see cref="SlackResponseUrlBase"/>):
    /// a <c>response_url</c> elsewhere is never called (the request could otherwise make the
    /// monitor POST to any address: SSRF). Scheme, host and port must match and the path must start
    /// with this one's. Tests point it at a local server.
    /// </summary>
    public Uri AllowedResponseUrlBase { get; init; } = SlackResponseUrlBase;

    /// <summary>Limit of one delayed-answer POST; default 10 s.</summary>
    public TimeSpan ResponseUrlTimeout { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// <c>POST /slack/commands</c>: Slack's slash-command requests for <c>/incident</c>. Map it with
/// <see cref="Map"/> (or call <see cref="HandleAsync"/> from a route) in the monitor's HTTP app.
/// </summary>
/// <remarks>
/// <para>
/// Order of work: the raw body is read (at most <see cref="SlackSlashCommand.MaxBodyBytes"/>, else
/// 413); the request is authenticated with <see cref="SlackRequestAuthenticator"/> (signing secret,
/// 5-minute timestamp window, replay guard). Every refusal is answered 401 with JSON
/// <c>{"error": reason, "field": header}</c>, counted in <c>exh_slack_requests_rejected_total{endpoint="commands", reason}</c>,
/// logged, and nothing else is done. Without a signing secret every request gets 503.
/// </para>
/// <para>
/// The command then runs with a <see cref="SlackCommandsEndpointOptions.Budget"/> (2.5 s): when it
/// finishes in time its answer is the response; otherwise the response is an ephemeral
/// "working on it…" at once and the final answer is POSTed as JSON to the command's
/// <c>response_url</c> (Slack's delayed response) when it completes, if that URL is under
/// <see cref="SlackCommandsEndpointOptions.AllowedResponseUrlBase"/>. Commands run to completion
/// even when Slack hangs up. Dispose waits for them (up to 10 s).
/// </para>
/// </remarks>
public sealed class SlackCommandsEndpoint : IAsyncDisposable
{
    /// <summary>The path the integrator maps.</summary>
    public const string Path = "/slack/commands";

    /// <summary>The text of the immediate answer when the command outlasts the budget.</summary>
    public const string WorkingText = "Working on it…";

    private readonly IncidentSlashCommands _commands;
    private readonly SlackCommandsEndpointOptions _options;
    private readonly SlackRequestAuthenticator? _authenticator;
    private readonly SlackRequestMetrics _metrics;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, byte> _pending = new();

    /// <summary>Creates the endpoint.</summary>
    /// <param name="commands">Runs the commands.</param>
    /// <param name="options">Settings.</param>
    /// <param name="replayGuard">The process's replay guard (shared with <c>/slack/interactions</c>).</param>
    /// <param name="metrics">Counts refusals.</param>
    /// <param name="http">Client for the delayed answers to <c>response_url</c>.</param>
    /// <param name="time">Clock of the timestamp window and the budget; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="log">Log (never receives the secret or signatures).</param>
    /// <exception cref="ArgumentNullException">A required argument is null.</exception>
    /// <exception cref="ArgumentException">The budget is not between 0 and 3 s, or the allowed base is not an absolute http(s) URL.</exception>
    public SlackCommandsEndpoint(
        IncidentSlashCommands commands,
        SlackCommandsEndpointOptions options,
        SlackReplayGuard replayGuard,
        SlackRequestMetrics metrics,
        HttpClient http,
        TimeProvider? time = null,
        ILogger? log = null)
    {
        _commands = commands ?? throw new ArgumentNullException(nameof(commands));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        ArgumentNullException.ThrowIfNull(replayGuard);
        _metrics = metrics ?? throw new ArgumentNullException(nameof(metrics));
        _http = http ?? throw new ArgumentNullException(nameof(http));
        _time = time ?? TimeProvider.System;
        _log = log ?? NullLogger.Instance;
        if (options.Budget <= TimeSpan.Zero || options.Budget >= TimeSpan.FromSeconds(3))
            throw new ArgumentException($"Budget must be above 0 and below Slack's 3 s (got {options.Budget})", nameof(options));
        if (!options.AllowedResponseUrlBase.IsAbsoluteUri || options.AllowedResponseUrlBase.Scheme is not ("https" or "http"))
            throw new ArgumentException("AllowedResponseUrlBase must be an absolute http(s) URL", nameof(options));
        if (!string.IsNullOrEmpty(options.SigningSecret))
            _authenticator = new SlackRequestAuthenticator(options.SigningSecret, replayGuard, _time);
    }

    /// <summary>Commands still running after their request was answered (delayed answers pending).</summary>
    public int PendingCount => _pending.Count;

    /// <summary>Maps <c>POST</c> <paramref name="pattern"/> (default <see cref="Path"/>) to <paramref name="endpoint"/>.</summary>
    public static IEndpointConventionBuilder Map(IEndpointRouteBuilder routes, SlackCommandsEndpoint endpoint, string pattern = Path)
    {
        ArgumentNullException.ThrowIfNull(routes);
        ArgumentNullException.ThrowIfNull(endpoint);
        return routes.MapPost(pattern, endpoint.HandleAsync);
    }

    /// <summary>True when <paramref name="url"/> is under <see cref="SlackCommandsEndpointOptions.AllowedResponseUrlBase"/> (same scheme, host, port; path prefix; no user info).</summary>
    public bool IsAllowedResponseUrl(Uri? url)
    {
        var b = _options.AllowedResponseUrlBase;
        if (url is null || !url.IsAbsoluteUri || url.UserInfo.Length > 0) return false;
        if (!string.Equals(url.Scheme, b.Scheme, StringComparison.OrdinalIgnoreCase)) return false;
        if (!string.Equals(url.IdnHost, b.IdnHost, StringComparison.OrdinalIgnoreCase) || url.Port != b.Port) return false;
        string basePath = b.AbsolutePath.EndsWith('/') ? b.AbsolutePath : b.AbsolutePath + "/";
        return url.AbsolutePath.StartsWith(basePath, StringComparison.Ordinal) || url.AbsolutePath + "/" == basePath;
    }

    /// <summary>Handles one request (the route's delegate).</summary>
    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var ct = context.RequestAborted;
        if (_authenticator is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "signing_secret", "SLACK_SIGNING_SECRET is not configured").ConfigureAwait(false);
            return;
        }

        byte[]? body = await ReadBoundedAsync(request, SlackSlashCommand.MaxBodyBytes, ct).ConfigureAwait(false);
        if (body is null)
        {
            await WriteErrorAsync(context, StatusCodes.Status413PayloadTooLarge, "body", $"larger than {SlackSlashCommand.MaxBodyBytes.ToString(CultureInfo.InvariantCulture)} bytes").ConfigureAwait(false);
            return;
        }

        string timestamp = request.Headers[SlackRequestVerifier.TimestampHeader].ToString();
        var verdict = _authenticator.Authenticate(timestamp, request.Headers[SlackRequestVerifier.SignatureHeader].ToString(), body);
        if (!verdict.IsValid)
        {
            _metrics.Rejected(SlackRequestMetrics.CommandsEndpoint, verdict.Rejection);
            _log.LogWarning("Slack command refused ({Code}): {Reason}", verdict.ReasonCode, verdict.Reason);
            if (verdict.Rejection == SlackRejection.Overloaded)
            {
                context.Response.Headers.RetryAfter = "1";
                await WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, SlackRequestVerifier.SignatureHeader, verdict.Reason!).ConfigureAwait(false);
            }
            else
            {
                await WriteErrorAsync(context, StatusCodes.Status401Unauthorized, SlackRequestVerifier.SignatureHeader, verdict.Reason!, verdict.ReasonCode).ConfigureAwait(false);
            }
            return;
        }

        SlackSlashCommand command;
        try
        {
            command = SlackSlashCommand.Parse(Encoding.UTF8.GetString(body));
        }
        catch (PayloadFieldException e)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, e.Field, e.Message).ConfigureAwait(false);
            return;
        }

        // Runs apart from the request: Slack hanging up must not cancel a half-done command.
        var work = Task.Run(() => RunAsync(command, timestamp), CancellationToken.None);
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var timer = Task.Delay(_options.Budget, _time, budget.Token);
        var first = await Task.WhenAny(work, timer).ConfigureAwait(false);
        if (first == work)
        {
            await budget.CancelAsync().ConfigureAwait(false);
            await WriteJsonAsync(context, StatusCodes.Status200OK, (await work.ConfigureAwait(false)).ToJson()).ConfigureAwait(false);
            return;
        }

        bool canDeliver = IsAllowedResponseUrl(command.ResponseUrl);
        if (!canDeliver)
            _log.LogWarning("Slack command outlasted {Budget} and its response_url is missing or not under {Base}: the final answer will not be delivered",
                _options.Budget, _options.AllowedResponseUrlBase);
        var delayed = DeliverLaterAsync(work, command);
        _pending.TryAdd(delayed, 0);
        _ = delayed.ContinueWith(t => _pending.TryRemove(t, out _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        if (ct.IsCancellationRequested) return;
        await WriteJsonAsync(context, StatusCodes.Status200OK, new SlackCommandResponse(false,
            canDeliver ? WorkingText + " The answer follows here." : WorkingText + " The answer cannot be delivered here; check `/incident status` in a moment.").ToJson()).ConfigureAwait(false);
    }

    /// <summary>Waits until every delayed answer was delivered or given up (tests, shutdown).</summary>
    public async Task WhenIdleAsync(CancellationToken cancellationToken = default)
    {
        while (!_pending.IsEmpty)
        {
            try
            {
                await Task.WhenAll(_pending.Keys).WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // each task logs its own failure
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            try
            {
                await WhenIdleAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _log.LogWarning("{Count} Slack command answer(s) still pending at shutdown", _pending.Count);
            }
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task<SlackCommandResponse> RunAsync(SlackSlashCommand command, string timestamp)
    {
        try
        {
            return await _commands.HandleAsync(command, timestamp, _stopping.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !_stopping.IsCancellationRequested)
        {
            _log.LogError(e, "Slack command {Command} from {User} failed", command.Command, command.UserId);
            return SlackCommandResponse.Ephemeral($"Sorry, that failed ({e.GetType().Name}); nothing may have been done. See the monitor log, or try again.");
        }
    }

    private async Task DeliverLaterAsync(Task<SlackCommandResponse> work, SlackSlashCommand command)
    {
        SlackCommandResponse answer;
        try
        {
            answer = await work.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        if (!IsAllowedResponseUrl(command.ResponseUrl)) return;
        var json = answer.ToJson();
        json["replace_original"] = false;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
            timeout.CancelAfter(_options.ResponseUrlTimeout);
            using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(json.ToJsonString()));
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
            using var response = await _http.PostAsync(command.ResponseUrl, content, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
                _log.LogWarning("Delayed Slack answer refused: HTTP {Status}", (int)response.StatusCode);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
        {
            _log.LogWarning("Delayed Slack answer not delivered: {Error}", e.Message); // the URL holds a secret-ish token: not logged
        }
    }

    /// <summary>The body, or null when it is longer than <paramref name="max"/> bytes.</summary>
    private static async Task<byte[]?> ReadBoundedAsync(HttpRequest request, int max, CancellationToken ct)
    {
        if (request.ContentLength > max) return null;
        using var buffer = new MemoryStream();
        byte[] chunk = new byte[8192];
        while (true)
        {
            int n = await request.Body.ReadAsync(chunk, ct).ConfigureAwait(false);
            if (n == 0) break;
            if (buffer.Length + n > max) return null;
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string field, string error, string? reason = null)
    {
        var o = new JsonObject { ["error"] = error, ["field"] = field };
        if (reason is not null) o["reason"] = reason;
        return WriteJsonAsync(context, status, o);
    }

    private static async Task WriteJsonAsync(HttpContext context, int status, JsonObject body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
    }
}
