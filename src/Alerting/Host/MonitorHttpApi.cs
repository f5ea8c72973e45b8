using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using ExchangeHealth.Alerting.Evaluation;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Alerting.Silences;
using ExchangeHealth.Alerting.Slack;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Telemetry;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace ExchangeHealth.Alerting.Host;

/// <summary>
/// The monitor's HTTP API on Kestrel (contract: docs/alerting.md, "HTTP API"). <c>/health</c>,
/// <c>/ready</c> and <c>/metrics</c> are open; everything under <c>/api/</c> needs
/// <c>Authorization: Bearer &lt;monitor token&gt;</c>; <c>/slack/interactions</c> is verified with
/// Slack's request signature instead.
/// </summary>
internal sealed class MonitorHttpApi : IAsyncDisposable
{
    /// <summary>Largest request body accepted (Alertmanager payloads with many alerts fit).</summary>
    public const long MaxBodyBytes = 4 * 1024 * 1024;

    /// <summary>How long a firing alert received from Alertmanager stays firing without being received again.</summary>
    public static readonly TimeSpan IntakeFiringLifetime = TimeSpan.FromDays(7);

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private readonly MonitorHost _host;
    private readonly ILogger _log;
    private readonly byte[] _token;
    private WebApplication? _app;

    public MonitorHttpApi(MonitorHost host, ILogger log)
    {
        _host = host;
        _log = log;
        _token = Encoding.UTF8.GetBytes(host.ApiToken);
    }

    public Uri? BaseAddress { get; private set; }

    public async Task StartAsync(IPEndPoint listen, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(listen);
            k.Limits.MaxRequestBodySize = MaxBodyBytes;
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        // Anything unexpected is logged and answered as JSON naming the failure, never a bare 500.
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException && !context.Response.HasStarted)
            {
                _log.LogError(e, "{Method} {Path} failed", context.Request.Method, context.Request.Path);
                bool busy = e is Microsoft.Data.Sqlite.SqliteException { SqliteErrorCode: 5 or 6 } or System.Data.Common.DbException { IsTransient: true };
                context.Response.StatusCode = busy ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status500InternalServerError;
                if (busy) context.Response.Headers.RetryAfter = "1";
                await context.Response.WriteAsJsonAsync(new { error = $"{e.GetType().Name}: {e.Message}", field = "" }, Json).ConfigureAwait(false);
            }
        });
        Map(app);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new IOException($"cannot listen on {listen}: {e.Message}", e);
        }
        _app = app;
        string address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address.EndsWith('/') ? address : address + "/");
    }

    private void Map(WebApplication app)
    {
        app.MapGet("/health", () => Results.Text("ok\n"));
        app.MapGet("/ready", () => Results.Text("ready\n"));
        app.MapGet("/metrics", async (HttpContext ctx) =>
        {
            ctx.Response.ContentType = PrometheusScrapeHandler.ContentType;
            await _host.MetricsHandler.WriteAsync(ctx.Response.Body, ctx.RequestAborted).ConfigureAwait(false);
        });

        var api = app.MapGroup("/api/v1").AddEndpointFilter(async (context, next) =>
        {
            if (!Authorized(context.HttpContext.Request))
                return Error(StatusCodes.Status401Unauthorized, "authorization", "missing or wrong bearer token (see DATA/monitor-token)");
            return await next(context).ConfigureAwait(false);
        });

        api.MapGet("/status", Status);
        api.MapGet("/rules", RulesView);
        api.MapGet("/alerts", () => Results.Json(_host.Dispatcher.GetAlerts().Select(AlertJson.Of), Json));
        api.MapGet("/alerts/groups", () => Results.Json(_host.Dispatcher.GetGroups().Select(g => new
        {
            g.Receiver, g.GroupKey, GroupLabels = g.GroupLabels.ToDictionary(), g.NextFlushAt,
            Alerts = g.Alerts.Select(a => AlertJson.Of(a, _host.Options.Time.GetUtcNow())),
        }), Json));
        api.MapPost("/alerts/alertmanager", AlertmanagerIntake);
        api.MapGet("/silences", ListSilences);
        api.MapPost("/silences", CreateSilence);
        api.MapDelete("/silences/{id}", ExpireSilence);
        api.MapGet("/silences/audit", async (string? id, CancellationToken ct) =>
            Results.Json(await _host.Silences.ListAuditAsync(id, 1000, ct).ConfigureAwait(false), Json));
        api.MapGet("/outbox", ListOutbox);
        api.MapPost("/acknowledge", Acknowledge);

        app.MapPost("/slack/interactions", SlackInteractions);
        foreach (var module in _host.Options.Modules) module.MapEndpoints(app, api);
    }

    private bool Authorized(HttpRequest request)
    {
        string header = request.Headers.Authorization.ToString();
        const string prefix = "Bearer ";
        if (!header.StartsWith(prefix, StringComparison.Ordinal)) return false;
        byte[] given = Encoding.UTF8.GetBytes(header[prefix.Length..].Trim());
        return CryptographicOperations.FixedTimeEquals(given, _token);
    }

    private static IResult Error(int status, string field, string message) =>
        Results.Json(new { error = message, field }, Json, statusCode: status);

    private async Task<IResult> Status(CancellationToken ct)
    {
        long pending = await _host.Outbox.CountPendingAsync(ct).ConfigureAwait(false);
        var leader = _host.Leadership is null ? null : await _host.Leadership.GetLeaderAsync(ct).ConfigureAwait(false);
        return Results.Json(new
        {
            node = _host.NodeId,
            role = _host.IsLeader ? "leader" : "standby",
            leaderSince = _host.LeaderSince,
            leader = _host.Leadership is null
                ? new { node = _host.NodeId, url = _host.BaseAddress.AbsoluteUri, heartbeatAt = (DateTimeOffset?)null }
                : leader is null ? null : new { node = leader.NodeId, url = leader.ApiUrl, heartbeatAt = (DateTimeOffset?)leader.HeartbeatAt },
            storage = _host.Database.IsShared ? "postgresql" : "sqlite",
            prometheus = _host.Options.PrometheusUrl.AbsoluteUri,
            prometheusUnreachableSince = _host.Rules.UnreachableSince,
            ruleGroups = _host.Rules.Evaluators.Count,
            ruleErrors = _host.Rules.RuleErrors.Select(e => e.Message),
            outboxPending = pending,
            escalations = _host.Escalations.Escalated,
            routing = _host.Routing.Source,
        }, Json);
    }

    private IResult RulesView() => Results.Json(new
    {
        errors = _host.Rules.RuleErrors.Select(e => e.Message),
        groups = _host.Rules.Evaluators.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new
        {
            key = e.Key,
            name = e.Group.Name,
            file = e.Group.File,
            interval = PromDuration.Format(e.Interval),
            lastEvaluation = e.LastEvaluation?.Timestamp,
            lastDurationSeconds = e.LastEvaluation?.Duration.TotalSeconds,
            rules = e.Rules.Select(r => new
            {
                name = r.Rule.Name,
                expr = r.Rule.Expr,
                @for = PromDuration.Format(r.Rule.For),
                keepFiringFor = PromDuration.Format(r.Rule.KeepFiringFor),
                health = r.LastError is null ? (r.LastEvaluation is null ? "unknown" : "ok") : "err",
                lastError = r.LastError,
                alerts = e.SnapshotAlerts(r).Select(a => new
                {
                    labels = a.Labels.ToDictionary(),
                    annotations = a.Annotations.ToDictionary(),
                    state = a.State.ToString().ToLowerInvariant(),
                    value = double.IsFinite(a.Value) ? a.Value : (double?)null,
                    activeAt = a.ActiveAt,
                    firedAt = a.FiredAt,
                    resolvedAt = a.ResolvedAt,
                }),
            }),
        }),
    }, Json);

    private async Task<IResult> AlertmanagerIntake(HttpRequest request, CancellationToken ct)
    {
        // Alerts are routed by the leader's in-memory dispatcher: a standby cannot take them.
        if (!_host.IsLeader)
        {
            var leader = _host.Leadership is null ? null : await _host.Leadership.GetLeaderAsync(ct).ConfigureAwait(false);
            return Error(StatusCodes.Status503ServiceUnavailable, "leader",
                $"node {_host.NodeId} is a standby: send alerts to the leader {leader?.NodeId ?? "(none yet)"} at {(string.IsNullOrEmpty(leader?.ApiUrl) ? "(unknown)" : leader.ApiUrl)}");
        }
        AlertmanagerWebhookPayload payload;
        try
        {
            payload = await AlertmanagerWebhookPayload.ParseAsync(request.Body, ct).ConfigureAwait(false);
        }
        catch (PayloadFieldException e)
        {
            return Error(StatusCodes.Status400BadRequest, e.Field, e.Message);
        }
        // Tag the source, so routing and the console show where the alert came from. Alertmanager
        // owns these alerts' state and announces their resolution (send_resolved), but re-sends a
        // firing group only every repeat_interval (4 h by default), so our resolve_timeout must not
        // end them: they stay firing until Alertmanager says resolved, or for 7 days without word.
        var now = _host.Options.Time.GetUtcNow();
        var alerts = payload.ToAlerts().Select(a => a with
        {
            Labels = a.Labels.Contains("exh_source") ? a.Labels : a.Labels.With("exh_source", "alertmanager"),
            EndsAt = a.EndsAt ?? now + IntakeFiringLifetime,
        }).ToList();
        await _host.Dispatcher.IngestAsync(alerts, ct).ConfigureAwait(false);
        return Results.Json(new { accepted = alerts.Count }, Json);
    }

    private async Task<IResult> ListSilences(string? state, CancellationToken ct)
    {
        SilenceState? filter = null;
        if (!string.IsNullOrEmpty(state))
        {
            if (!Enum.TryParse<SilenceState>(state, ignoreCase: true, out var s))
                return Error(StatusCodes.Status400BadRequest, "state", $"state '{state}' is not one of active, pending, expired");
            filter = s;
        }
        var list = await _host.Silences.ListAsync(filter, ct).ConfigureAwait(false);
        return Results.Json(list, Json);
    }

    /// <summary>Body of <c>POST /api/v1/silences</c> (Alertmanager API v2's <c>postableSilence</c>, plus an optional <c>duration</c>).</summary>
    internal sealed record SilenceRequest(
        IReadOnlyList<SilenceMatcher>? Matchers, DateTimeOffset? StartsAt, DateTimeOffset? EndsAt, string? Duration, string? CreatedBy, string? Comment);

    private async Task<IResult> CreateSilence(HttpRequest request, CancellationToken ct)
    {
        SilenceRequest? body;
        try { body = await JsonSerializer.DeserializeAsync<SilenceRequest>(request.Body, Json, ct).ConfigureAwait(false); }
        catch (JsonException e) { return Error(StatusCodes.Status400BadRequest, e.Path ?? "$", $"not valid JSON: {e.Message}"); }
        if (body is null) return Error(StatusCodes.Status400BadRequest, "$", "empty body");
        var now = _host.Options.Time.GetUtcNow();
        var starts = body.StartsAt ?? now;
        DateTimeOffset ends;
        if (body.EndsAt is { } e1) ends = e1;
        else if (body.Duration is { } d)
        {
            if (!PromDuration.TryParse(d, out var span, out string why)) return Error(StatusCodes.Status400BadRequest, "duration", why);
            ends = (starts > now ? starts : now) + span;
        }
        else return Error(StatusCodes.Status400BadRequest, "endsAt", "give endsAt or duration");
        try
        {
            string id = await _host.Silences.CreateAsync(body.Matchers ?? [], starts, ends, body.CreatedBy ?? "", body.Comment ?? "", ct).ConfigureAwait(false);
            return Results.Json(new { silenceID = id }, Json);
        }
        catch (SilenceValidationException e)
        {
            return Error(StatusCodes.Status400BadRequest, e.Field, e.Message);
        }
    }

    private async Task<IResult> ExpireSilence(string id, HttpRequest request, CancellationToken ct)
    {
        string by = request.Query["by"].ToString();
        if (await _host.Silences.GetAsync(id, ct).ConfigureAwait(false) is null)
            return Error(StatusCodes.Status404NotFound, "id", $"no silence {id}");
        await _host.Silences.ExpireAsync(id, by.Length > 0 ? by : "api", ct).ConfigureAwait(false);
        return Results.Json(new { expired = id }, Json);
    }

    private async Task<IResult> ListOutbox(string? state, int? limit, CancellationToken ct)
    {
        OutboxState? filter = null;
        if (!string.IsNullOrEmpty(state))
        {
            if (!Enum.TryParse<OutboxState>(state, ignoreCase: true, out var s))
                return Error(StatusCodes.Status400BadRequest, "state", $"state '{state}' is not one of pending, delivered, dead");
            filter = s;
        }
        int n = Math.Clamp(limit ?? 100, 1, 1000);
        var entries = await _host.Outbox.ListAsync(filter, n, ct).ConfigureAwait(false);
        return Results.Json(entries.Select(e => new
        {
            e.Id, dedupKey = e.DedupKey, receiver = e.Notification.Receiver, groupKey = e.Notification.GroupKey,
            kind = NotificationJson.KindName(e.Notification.Kind), state = SqliteOutbox.StateName(e.State),
            e.Attempts, e.LastError, createdAt = e.CreatedAt, e.DeliveredAt,
        }), Json);
    }

    internal sealed record AckRequest(string? Receiver, string? GroupKey, string? By);

    private async Task<IResult> Acknowledge(HttpRequest request, CancellationToken ct)
    {
        AckRequest? body;
        try { body = await JsonSerializer.DeserializeAsync<AckRequest>(request.Body, Json, ct).ConfigureAwait(false); }
        catch (JsonException e) { return Error(StatusCodes.Status400BadRequest, e.Path ?? "$", $"not valid JSON: {e.Message}"); }
        if (string.IsNullOrEmpty(body?.Receiver)) return Error(StatusCodes.Status400BadRequest, "receiver", "required");
        if (string.IsNullOrEmpty(body.GroupKey)) return Error(StatusCodes.Status400BadRequest, "groupKey", "required");
        var ack = await _host.Escalations.AcknowledgeAsync(body.Receiver, body.GroupKey, string.IsNullOrEmpty(body.By) ? "api" : body.By, ct).ConfigureAwait(false);
        return ack is null ? Error(StatusCodes.Status404NotFound, "groupKey", "no notification for this receiver and group") : Results.Json(ack, Json);
    }

    private async Task<IResult> SlackInteractions(HttpRequest request, CancellationToken ct)
    {
        string? secret = _host.Options.SlackSigningSecret;
        if (string.IsNullOrEmpty(secret))
            return Error(StatusCodes.Status503ServiceUnavailable, "signing_secret", "SLACK_SIGNING_SECRET is not configured");
        string body;
        using (var reader = new StreamReader(request.Body, Encoding.UTF8))
            body = await reader.ReadToEndAsync(ct).ConfigureAwait(false);
        var verdict = new SlackRequestAuthenticator(secret, _host.SlackReplayGuard, _host.Options.Time).Authenticate(
            request.Headers[SlackRequestVerifier.TimestampHeader].ToString(), request.Headers[SlackRequestVerifier.SignatureHeader].ToString(), Encoding.UTF8.GetBytes(body));
        if (!verdict.IsValid)
        {
            // Unsigned, forged, stale or replayed: counted, answered 401, and nothing it asks is done.
            _host.SlackRequests.Rejected(SlackRequestMetrics.InteractionsEndpoint, verdict.Rejection);
            _log.LogWarning("Slack callback refused: {Reason}", verdict.Reason);
            return Error(verdict.Rejection == SlackRejection.Overloaded ? StatusCodes.Status503ServiceUnavailable : StatusCodes.Status401Unauthorized,
                SlackRequestVerifier.SignatureHeader, verdict.Reason ?? "invalid signature");
        }
        SlackInteraction interaction;
        try { interaction = SlackInteraction.Parse(body); }
        catch (PayloadFieldException e) { return Error(StatusCodes.Status400BadRequest, e.Field, e.Message); }

        if (interaction.ActionId == SlackInteraction.RunbookAction) return Results.Ok();
        SlackActionTarget target;
        try { target = interaction.Target; }
        catch (PayloadFieldException e) { return Error(StatusCodes.Status400BadRequest, e.Field, e.Message); }
        string? receiver = target.Receiver;
        string? groupKey = target.GroupKey;
        if (receiver is null || groupKey is null)
        {
            var found = await _host.SlackMessages.FindByMessageAsync(interaction.ChannelId, interaction.MessageTs, ct).ConfigureAwait(false);
            if (found is null) return Error(StatusCodes.Status404NotFound, "message", "no notification for this message");
            (receiver, groupKey) = (found.Receiver, found.GroupKey);
        }
        string who = $"slack:{interaction.UserId} ({interaction.UserName})";
        switch (interaction.ActionId)
        {
            case SlackInteraction.AcknowledgeAction:
                var ack = await _host.Escalations.AcknowledgeAsync(receiver, groupKey, who, ct).ConfigureAwait(false);
                return Results.Json(new { response_type = "in_channel", replace_original = false, text = ack is null ? "Nothing to acknowledge." : $"Acknowledged by <@{interaction.UserId}>." }, Json);
            case SlackInteraction.Silence1hAction:
                var group = _host.Dispatcher.GetGroups().FirstOrDefault(g => g.Receiver == receiver && g.GroupKey == groupKey);
                var labels = group is null ? LabelSet.Empty : (group.GroupLabels.Count > 0 ? group.GroupLabels : group.Alerts.FirstOrDefault()?.Labels ?? LabelSet.Empty);
                if (labels.Count == 0) return Results.Json(new { text = "This group has already cleared; nothing to silence." }, Json);
                var now = _host.Options.Time.GetUtcNow();
                string id = await _host.Silences.CreateAsync(
                    [.. labels.Select(l => new SilenceMatcher(l.Key, l.Value, false, true))], now, now.AddHours(1), who, "Silence 1h from Slack", ct).ConfigureAwait(false);
                return Results.Json(new { response_type = "in_channel", replace_original = false, text = $"Silenced for 1 h by <@{interaction.UserId}> (silence {id})." }, Json);
            default:
                return Error(StatusCodes.Status400BadRequest, "actions[0].action_id", $"unknown action '{interaction.ActionId}'");
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync().ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>JSON shape of an alert in the API.</summary>
internal static class AlertJson
{
    public static object Of(Routing.AlertView v) => new
    {
        fingerprint = v.Fingerprint,
        labels = v.Alert.Labels.ToDictionary(),
        annotations = v.Alert.Annotations.ToDictionary(),
        startsAt = v.Alert.StartsAt,
        endsAt = v.Alert.EndsAt,
        generatorURL = v.Alert.GeneratorUrl,
        status = new { state = v.State.ToString().ToLowerInvariant(), silencedBy = v.SilencedBy, inhibitedBy = v.InhibitedBy },
        receivers = v.Receivers,
        updatedAt = v.UpdatedAt,
    };

    public static object Of(Alert a, DateTimeOffset now) => new
    {
        fingerprint = a.Fingerprint,
        labels = a.Labels.ToDictionary(),
        annotations = a.Annotations.ToDictionary(),
        startsAt = a.StartsAt,
        endsAt = a.EndsAt,
        status = a.StatusAt(now) == AlertStatus.Firing ? "firing" : "resolved",
    };
}
