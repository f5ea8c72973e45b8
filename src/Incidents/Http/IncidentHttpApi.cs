using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Serialization.Metadata;
using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace ExchangeHealth.Incidents.Http;

/// <summary>
/// Generates the post-incident report of incident <paramref name="id"/> now and returns where the
/// two files are (absolute paths chosen by the generator, never by the request).
/// </summary>
/// <param name="id">The incident.</param>
/// <param name="ct">Cancellation (the HTTP request's).</param>
/// <returns>The Markdown and HTML paths; null when the incident is unknown.</returns>
public delegate Task<(string MarkdownPath, string HtmlPath)?> IncidentReportHandler(long id, CancellationToken ct);

/// <summary>
/// The incidents REST API under the monitor's <c>/api/v1</c> group (behind its bearer token):
/// list, declare, show, timeline; acknowledge, mitigate, resolve, close, severity, commander,
/// notes, follow-ups; post-incident reports. Contract: docs/incident-api.md.
/// </summary>
/// <remarks>
/// Errors have the monitor API's shape <c>{ "error": sentence, "field": name }</c>:
/// 400 for invalid input (the field named: <c>id</c>, <c>title</c>, <c>severity</c>, <c>text</c>,
/// the unknown JSON properties, or the JSON path of a syntax error), 404 for an unknown incident or
/// follow-up, 409 for an illegal transition (the lifecycle's reason, <see cref="IncidentLifecycle"/>),
/// 413 for a body over <see cref="MaxBodyBytes"/>, 503 when no report generator is configured.
/// Every body is optional where all its fields are (an empty POST acknowledges as <c>api</c>).
/// Text is stored verbatim (SQL-looking text included: the store binds parameters).
/// </remarks>
public static class IncidentHttpApi
{
    /// <summary>Largest request body accepted, in bytes (64 KiB); larger ones get 413. The longest legal body (a 4000-character note) is far below.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>Incidents listed when <c>limit</c> is not given.</summary>
    public const int DefaultListLimit = 100;

    /// <summary>Largest <c>limit</c> of <c>GET /incidents</c> (the store's bound, <see cref="IncidentFilter.Limit"/>).</summary>
    public const int MaxListLimit = 1000;

    /// <summary>Actor recorded when a request gives no <c>by</c>.</summary>
    public const string DefaultActor = "api";

    /// <summary>An actor starting with this (<c>cli:alice</c>) is recorded with source <see cref="TimelineSources.Cli"/>; any other with <see cref="TimelineSources.Api"/>.</summary>
    public const string CliActorPrefix = "cli:";

    /// <summary>Timeline kind recorded when a follow-up is marked done or not done.</summary>
    public const string FollowUpUpdatedKind = TimelineKinds.FollowUpUpdated;

    /// <summary>Maps the endpoints into <paramref name="api"/> (see <see cref="Map(RouteGroupBuilder, IncidentService, IncidentReportHandler?, TimeProvider, string?)"/>), without a reports directory.</summary>
    public static void Map(RouteGroupBuilder api, IncidentService service, IncidentReportHandler? report, TimeProvider time) =>
        Map(api, service, report, time, reportsDirectory: null);

    /// <summary>Maps the endpoints into <paramref name="api"/>.</summary>
    /// <param name="api">The monitor's <c>/api/v1</c> group (authentication is the group's).</param>
    /// <param name="service">The incident service.</param>
    /// <param name="report">The report generator; null makes the report endpoints answer 503.</param>
    /// <param name="time">Clock of the answers' <c>ageSeconds</c> and of follow-up events.</param>
    /// <param name="reportsDirectory">
    /// Where generated reports are (<c>DIR/incidents/incident-{id}.md</c> and <c>.html</c>, the report
    /// generator's layout), so <c>GET …/report.html</c> also finds a report the resolve job wrote
    /// before this process saw a <c>POST …/report</c>; null to serve only what <paramref name="report"/> returned.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="api"/>, <paramref name="service"/> or <paramref name="time"/> is null.</exception>
    public static void Map(RouteGroupBuilder api, IncidentService service, IncidentReportHandler? report, TimeProvider time, string? reportsDirectory)
    {
        ArgumentNullException.ThrowIfNull(api);
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(time);
        var h = new Handlers(service, report, time, reportsDirectory is null ? null : Path.GetFullPath(reportsDirectory));

        api.MapGet("/incidents", (HttpRequest r, CancellationToken ct) => Handlers.Run(() => h.ListAsync(r, ct)));
        api.MapPost("/incidents", (HttpRequest r, CancellationToken ct) => Handlers.Run(() => h.DeclareAsync(r, ct)));
        api.MapGet("/incidents/{id}", (string id, CancellationToken ct) => Handlers.Run(() => h.ShowAsync(id, ct)));
        api.MapGet("/incidents/{id}/timeline", (string id, CancellationToken ct) => Handlers.Run(() => h.TimelineAsync(id, ct)));

        (string Path, IncidentCommand Command)[] transitions =
        [
            ("acknowledge", new IncidentCommand.Acknowledge()),
            ("mitigate", new IncidentCommand.Mitigate()),
            ("resolve", new IncidentCommand.Resolve()),
            ("close", new IncidentCommand.Close()),
        ];
        foreach (var (path, command) in transitions)
        {
            api.MapPost("/incidents/{id}/" + path, (string id, HttpRequest r, CancellationToken ct) =>
                Handlers.Run(() => h.CommandAsync(id, r, ["by"], _ => command, ct)));
        }
        api.MapPost("/incidents/{id}/severity", (string id, HttpRequest r, CancellationToken ct) =>
            Handlers.Run(() => h.CommandAsync(id, r, ["severity", "by"],
                b => new IncidentCommand.SetSeverity(b.Severity("severity") ?? throw Bad("severity", "severity is required (SEV1 to SEV4)")), ct)));
        api.MapPost("/incidents/{id}/commander", (string id, HttpRequest r, CancellationToken ct) =>
            Handlers.Run(() => h.CommandAsync(id, r, ["commander", "by"],
                b => new IncidentCommand.AssignCommander(b.RequiredString("commander", IncidentNames.MaxNameLength)), ct)));
        api.MapPost("/incidents/{id}/notes", (string id, HttpRequest r, CancellationToken ct) =>
            Handlers.Run(() => h.CommandAsync(id, r, ["text", "by"],
                b => new IncidentCommand.AddNote(b.RequiredString("text", IncidentNames.MaxNoteLength, multiLine: true)), ct)));
        api.MapPost("/incidents/{id}/follow-ups", (string id, HttpRequest r, CancellationToken ct) =>
            Handlers.Run(() => h.CommandAsync(id, r, ["text", "owner", "by"],
                b => new IncidentCommand.AddFollowUp(b.RequiredString("text", IncidentNames.MaxNoteLength, multiLine: true), b.String("owner", IncidentNames.MaxNameLength)), ct)));
        api.MapPost("/incidents/{id}/follow-ups/{followUpId}", (string id, string followUpId, HttpRequest r, CancellationToken ct) =>
            Handlers.Run(() => h.SetFollowUpDoneAsync(id, followUpId, r, ct)));

        api.MapPost("/incidents/{id}/report", (string id, HttpRequest r, CancellationToken ct) => Handlers.Run(() => h.GenerateReportAsync(id, r, ct)));
        api.MapGet("/incidents/{id}/report.html", (string id, HttpContext c, CancellationToken ct) => Handlers.Run(() => h.ServeReportAsync(id, "html", c, ct)));
        api.MapGet("/incidents/{id}/report.md", (string id, HttpContext c, CancellationToken ct) => Handlers.Run(() => h.ServeReportAsync(id, "md", c, ct)));
    }

    /// <summary>The actor of a request: <c>by</c> (default <see cref="DefaultActor"/>), source CLI when it starts with <see cref="CliActorPrefix"/>.</summary>
    internal static IncidentActor ActorOf(string? by)
    {
        if (by is null) return new IncidentActor(DefaultActor, TimelineSources.Api);
        if (string.IsNullOrWhiteSpace(by)) throw Bad("by", "by must not be empty (omit it to act as 'api')");
        by = by.Trim();
        return new IncidentActor(by, by.StartsWith(CliActorPrefix, StringComparison.Ordinal) ? TimelineSources.Cli : TimelineSources.Api);
    }

    private static ApiRequestException Bad(string field, string message) => new(StatusCodes.Status400BadRequest, field, message);

    /// <summary>The endpoints' bodies; one instance per <see cref="Map(RouteGroupBuilder, IncidentService, IncidentReportHandler?, TimeProvider, string?)"/>.</summary>
    private sealed class Handlers(IncidentService service, IncidentReportHandler? report, TimeProvider time, string? reportsDirectory)
    {
        private static readonly string[] ListQuery = ["status", "limit"];

        /// <summary>Reports generated through this API: the generator's paths, per incident.</summary>
        private readonly ConcurrentDictionary<long, (string Markdown, string Html)> _reports = new();

        public static async Task<IResult> Run(Func<Task<IResult>> handler)
        {
            try
            {
                return await handler().ConfigureAwait(false);
            }
            catch (ApiRequestException e)
            {
                return Error(e.Status, e.Field, e.Message);
            }
        }

        public async Task<IResult> ListAsync(HttpRequest request, CancellationToken ct)
        {
            var unknown = request.Query.Keys.Where(k => !ListQuery.Contains(k, StringComparer.Ordinal)).ToList();
            if (unknown.Count > 0)
                throw Bad(string.Join(",", unknown), $"unknown query parameter{(unknown.Count == 1 ? "" : "s")} {string.Join(", ", unknown.Select(k => "'" + k + "'"))} (accepted: status, limit)");
            string statusText = request.Query["status"].ToString();
            var statuses = ParseStatuses(statusText.Length == 0 ? "open" : statusText);
            int limit = DefaultListLimit;
            string limitText = request.Query["limit"].ToString();
            if (limitText.Length > 0 && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxListLimit))
                throw Bad("limit", $"limit must be an integer from 1 to {MaxListLimit} (got '{Shorten(limitText)}')");
            var incidents = await service.ListAsync(new IncidentFilter { Statuses = statuses, Limit = limit }, ct).ConfigureAwait(false);
            var now = time.GetUtcNow();
            return Json(new IncidentListDto([.. statuses.Select(IncidentNames.Format)], limit, [.. incidents.Select(i => IncidentDto.Of(i, now))]), IncidentJsonContext.Default.IncidentListDto);
        }

        private static IReadOnlyList<IncidentStatus> ParseStatuses(string text)
        {
            var result = new List<IncidentStatus>();
            foreach (string part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                switch (part.ToLowerInvariant())
                {
                    case "all": return [];
                    case "open": result.AddRange(IncidentFilter.Open.Statuses); break;
                    default:
                        if (!IncidentNames.TryParseStatus(part, out var s))
                            throw Bad("status", $"status '{Shorten(part)}' is not one of open, all, triggered, acknowledged, mitigated, resolved, closed");
                        result.Add(s);
                        break;
                }
            }
            if (result.Count == 0) throw Bad("status", "status is empty");
            return [.. result.Distinct().Order()];
        }

        public async Task<IResult> DeclareAsync(HttpRequest request, CancellationToken ct)
        {
            IncidentDeclaration declaration;
            IncidentActor actor;
            using (var body = await ApiRequest.ReadAsync(request, ["title", "severity", "markets", "commander", "by"], ct).ConfigureAwait(false))
            {
                string title = body.RequiredString("title", IncidentNames.MaxTitleLength);
                var severity = body.Severity("severity") ?? throw Bad("severity", "severity is required (SEV1 to SEV4)");
                var markets = body.Strings("markets", IncidentNames.MaxAffected, IncidentNames.MaxNameLength);
                string? commander = body.String("commander", IncidentNames.MaxNameLength);
                actor = ActorOf(body.String("by", IncidentNames.MaxNameLength));
                declaration = new IncidentDeclaration(title, severity, markets, commander);
            }
            var result = await service.DeclareAsync(declaration, actor, ct).ConfigureAwait(false);
            if (!result.Ok) return Refused(result);
            var incident = result.Incident!;
            string collection = request.PathBase.Add(request.Path).Value!.TrimEnd('/');
            request.HttpContext.Response.Headers.Location = collection + "/" + incident.Id.ToString(CultureInfo.InvariantCulture);
            return Json(new CommandDto(result.Reason, IncidentDto.Of(incident, time.GetUtcNow())), IncidentJsonContext.Default.CommandDto, StatusCodes.Status201Created);
        }

        public async Task<IResult> ShowAsync(string idText, CancellationToken ct)
        {
            long id = ParseId(idText, "id");
            var details = await service.GetDetailsAsync(id, ct).ConfigureAwait(false) ?? throw NotFound(id);
            return Json(new IncidentDetailsDto(
                IncidentDto.Of(details.Incident, time.GetUtcNow()),
                [.. details.Alerts.Select(IncidentAlertDto.Of)],
                [.. details.FollowUps.Select(FollowUpDto.Of)],
                details.Timeline.Count), IncidentJsonContext.Default.IncidentDetailsDto);
        }

        public async Task<IResult> TimelineAsync(string idText, CancellationToken ct)
        {
            long id = ParseId(idText, "id");
            var details = await service.GetDetailsAsync(id, ct).ConfigureAwait(false) ?? throw NotFound(id);
            var (from, to) = service.TimelineWindow(details.Incident);
            var events = details.Timeline.OrderBy(e => e.At).ThenBy(e => e.Id).Select(TimelineEventDto.Of).ToList();
            return Json(new TimelineDto(id, from, to, events), IncidentJsonContext.Default.TimelineDto);
        }

        public async Task<IResult> CommandAsync(string idText, HttpRequest request, string[] allowed, Func<ApiRequest, IncidentCommand> commandOf, CancellationToken ct)
        {
            long id = ParseId(idText, "id");
            IncidentCommand command;
            IncidentActor actor;
            using (var body = await ApiRequest.ReadAsync(request, allowed, ct).ConfigureAwait(false))
            {
                command = commandOf(body);
                actor = ActorOf(body.String("by", IncidentNames.MaxNameLength));
            }
            IncidentCommandResult result;
            try
            {
                result = await service.ExecuteAsync(id, command, actor, ct).ConfigureAwait(false);
            }
            catch (InvalidOperationException e) when (!ct.IsCancellationRequested)
            {
                // The service gave up after its optimistic-update retries: another writer kept changing the incident.
                request.HttpContext.Response.Headers.RetryAfter = "1";
                return Error(StatusCodes.Status503ServiceUnavailable, "id", e.Message + "; try again");
            }
            if (!result.Ok) return Refused(result);
            FollowUpDto? followUp = null;
            if (command is IncidentCommand.AddFollowUp f)
            {
                // The service does not return the follow-up; it is the newest one with this text by this actor.
                var all = await service.Store.GetFollowUpsAsync(id, ct).ConfigureAwait(false);
                var added = all.Where(x => x.Text == f.Text && x.CreatedBy == actor.Name).MaxBy(x => x.Id);
                if (added is not null) followUp = FollowUpDto.Of(added);
            }
            return Json(new CommandDto(result.Reason, IncidentDto.Of(result.Incident!, time.GetUtcNow()), followUp), IncidentJsonContext.Default.CommandDto);
        }

        public async Task<IResult> SetFollowUpDoneAsync(string idText, string followUpText, HttpRequest request, CancellationToken ct)
        {
            long id = ParseId(idText, "id");
            long followUpId = ParseId(followUpText, "followUpId");
            bool done;
            IncidentActor actor;
            using (var body = await ApiRequest.ReadAsync(request, ["done", "by"], ct).ConfigureAwait(false))
            {
                done = body.Boolean("done") ?? throw Bad("done", "done is required (true or false)");
                actor = ActorOf(body.String("by", IncidentNames.MaxNameLength));
            }
            var incident = await service.GetAsync(id, ct).ConfigureAwait(false) ?? throw NotFound(id);
            var followUps = await service.Store.GetFollowUpsAsync(id, ct).ConfigureAwait(false);
            string n = followUpId.ToString(CultureInfo.InvariantCulture);
            var current = followUps.FirstOrDefault(x => x.Id == followUpId)
                ?? throw new ApiRequestException(StatusCodes.Status404NotFound, "followUpId", $"incident #{id.ToString(CultureInfo.InvariantCulture)} has no follow-up #{n}");
            if (current.Done == done)
                return Json(new FollowUpChangeDto($"follow-up #{n} is already {(done ? "done" : "open")}; unchanged", FollowUpDto.Of(current)), IncidentJsonContext.Default.FollowUpChangeDto);
            if (!await service.Store.SetFollowUpDoneAsync(id, followUpId, done, ct).ConfigureAwait(false))
                throw new ApiRequestException(StatusCodes.Status404NotFound, "followUpId", $"incident #{id.ToString(CultureInfo.InvariantCulture)} has no follow-up #{n}");
            var now = time.GetUtcNow();
            string message = $"follow-up #{n} {(done ? "done" : "reopened")} by {actor.Name}: {current.Text}";
            await service.RecordAsync(new TimelineEvent
            {
                IncidentId = id,
                At = now,
                Source = actor.Source,
                Actor = actor.Name,
                Kind = FollowUpUpdatedKind,
                Text = message,
                DedupKey = $"{FollowUpUpdatedKind}:{n}:{now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}:{Guid.NewGuid():N}",
                GroupKey = incident.GroupKey,
                Fields = new Dictionary<string, string> { ["followUp"] = n, ["done"] = done ? "true" : "false" },
            }, ct).ConfigureAwait(false);
            return Json(new FollowUpChangeDto(message, FollowUpDto.Of(current with { Done = done })), IncidentJsonContext.Default.FollowUpChangeDto);
        }

        public async Task<IResult> GenerateReportAsync(string idText, HttpRequest request, CancellationToken ct)
        {
            long id = ParseId(idText, "id");
            using (await ApiRequest.ReadAsync(request, [], ct).ConfigureAwait(false)) { }
            if (report is null) throw NoReports();
            if (await service.GetAsync(id, ct).ConfigureAwait(false) is null) throw NotFound(id);
            (string MarkdownPath, string HtmlPath)? files;
            try
            {
                files = await report(id, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                return Error(StatusCodes.Status500InternalServerError, "report", $"the report of incident #{id.ToString(CultureInfo.InvariantCulture)} failed: {e.GetType().Name}: {e.Message}");
            }
            if (files is not { } f) throw NotFound(id);
            var paths = (Path.GetFullPath(f.MarkdownPath), Path.GetFullPath(f.HtmlPath));
            _reports[id] = paths;
            return Json(new ReportDto(id, paths.Item1, paths.Item2), IncidentJsonContext.Default.ReportDto);
        }

        public async Task<IResult> ServeReportAsync(string idText, string extension, HttpContext context, CancellationToken ct)
        {
            long id = ParseId(idText, "id");
            if (report is null) throw NoReports();
            if (await service.GetAsync(id, ct).ConfigureAwait(false) is null) throw NotFound(id);
            // The path comes from the generator's answer or from the configured directory and the
            // parsed numeric id: nothing of the request reaches the file system.
            var candidates = new List<string>(2);
            if (_reports.TryGetValue(id, out var known)) candidates.Add(extension == "html" ? known.Html : known.Markdown);
            if (reportsDirectory is not null)
                candidates.Add(Path.Combine(reportsDirectory, "incidents", $"incident-{id.ToString(CultureInfo.InvariantCulture)}.{extension}"));
            string? path = candidates.FirstOrDefault(File.Exists);
            string n = id.ToString(CultureInfo.InvariantCulture);
            if (path is null)
                throw new ApiRequestException(StatusCodes.Status404NotFound, "report",
                    $"no report of incident #{n} has been generated yet; POST /api/v1/incidents/{n}/report first (exh incidents report {n})");
            var headers = context.Response.Headers;
            headers.CacheControl = "no-store";
            headers.XContentTypeOptions = "nosniff";
            // The report is self-contained (inline CSS and SVG, no script): forbid everything else.
            headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox";
            return TypedResults.PhysicalFile(path, extension == "html" ? "text/html; charset=utf-8" : "text/markdown; charset=utf-8",
                fileDownloadName: null, lastModified: File.GetLastWriteTimeUtc(path));
        }

        private static long ParseId(string text, string field)
        {
            if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long id) && id > 0) return id;
            throw Bad(field, $"{field} must be a positive integer (got '{Shorten(text)}')");
        }

        private static ApiRequestException NotFound(long id) =>
            new(StatusCodes.Status404NotFound, "id", $"no incident #{id.ToString(CultureInfo.InvariantCulture)}");

        private static ApiRequestException NoReports() =>
            new(StatusCodes.Status503ServiceUnavailable, "report", "this monitor has no report generator configured");

        private static IResult Refused(IncidentCommandResult result) => result.Error switch
        {
            IncidentError.NotFound => Error(StatusCodes.Status404NotFound, "id", result.Reason),
            IncidentError.IllegalTransition => Error(StatusCodes.Status409Conflict, "status", result.Reason),
            _ => Error(StatusCodes.Status400BadRequest, result.Field switch { null => "", "actor" => "by", var f => f }, result.Reason),
        };

        private static IResult Error(int status, string field, string message) =>
            Json(new ErrorDto(message, field), IncidentJsonContext.Default.ErrorDto, status);

        private static IResult Json<T>(T value, JsonTypeInfo<T> type, int status = StatusCodes.Status200OK) =>
            Results.Json(value, type, contentType: null, statusCode: status);

        private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
    }
}
