using System.Globalization;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Store;
using ExchangeHealth.Monitor.Prometheus;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace ExchangeHealth.Incidents.Lifecycle;

/// <summary>Settings of <see cref="IncidentService"/>.</summary>
public sealed record IncidentServiceOptions
{
    /// <summary>Global events this long before the start and after the end of an incident belong to its timeline; default 10 min.</summary>
    public TimeSpan TimelineMargin { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Severity of an incident opened by a page whose alerts set none; default SEV2.</summary>
    public IncidentSeverity DefaultSeverity { get; init; } = IncidentSeverity.Sev2;

    /// <summary>Alert label that sets the severity of the incident it opens (<c>SEV1</c>…<c>SEV4</c> or 1…4); default <c>incident_severity</c>.</summary>
    public string SeverityLabel { get; init; } = "incident_severity";

    /// <summary>Tries of an optimistic update before giving up (another node kept changing the incident); default 8.</summary>
    public int MaxUpdateAttempts { get; init; } = 8;
}

/// <summary>A stored change of an incident, as <see cref="IncidentService.Changed"/> reports it.</summary>
/// <param name="Before">The incident before; null when it was just opened.</param>
/// <param name="After">The incident after (equal to <paramref name="Before"/> for notes and follow-ups).</param>
/// <param name="Event">The timeline event recorded for the change, when one was.</param>
public sealed record IncidentChange(Incident? Before, Incident After, TimelineEvent? Event);

/// <summary>An incident declared by a person (not opened by a page).</summary>
/// <param name="Title">One line, at most <see cref="IncidentNames.MaxTitleLength"/> characters.</param>
/// <param name="Severity">Severity.</param>
/// <param name="Markets">Affected markets (at most <see cref="IncidentNames.MaxAffected"/>).</param>
/// <param name="Commander">Incident commander, or null.</param>
public sealed record IncidentDeclaration(string Title, IncidentSeverity Severity, IReadOnlyList<string> Markets, string? Commander);

/// <summary>
/// The incident lifecycle over an <see cref="IIncidentStore"/>: opening from pages, attaching the
/// group's later alerts, automatic mitigation when every alert resolved, the person-driven
/// transitions of <see cref="IncidentLifecycle"/> (from the REST API, the CLI and Slack), and the
/// timeline. Thread-safe; safe with several monitor nodes on one PostgreSQL store (optimistic
/// updates, one open incident per group key).
/// </summary>
/// <remarks>
/// Automatic rules (<see cref="OnNotificationAsync"/>): a notification with firing alerts on a route
/// marked <c>page: true</c> opens an incident for its group key, or attaches its alerts to the open
/// incident of that key; a mitigated incident whose alerts fire again goes back to acknowledged (or
/// triggered when nobody acknowledged). When every alert of the group has resolved, a triggered or
/// acknowledged incident becomes mitigated, never resolved: a person resolves it.
/// </remarks>
public sealed class IncidentService : IIncidentDetailsSource
{
    private static readonly IncidentActor Monitor = new("monitor", TimelineSources.Incident);
    private readonly IncidentServiceOptions _options;
    private readonly ILogger _log;

    /// <summary>Creates the service.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="store"/> is null.</exception>
    public IncidentService(IIncidentStore store, IncidentServiceOptions? options = null, TimeProvider? time = null, ILogger? log = null)
    {
        Store = store ?? throw new ArgumentNullException(nameof(store));
        _options = options ?? new IncidentServiceOptions();
        Time = time ?? TimeProvider.System;
        _log = log ?? NullLogger.Instance;
    }

    /// <summary>The store.</summary>
    public IIncidentStore Store { get; }

    /// <summary>Clock of every transition.</summary>
    public TimeProvider Time { get; }

    /// <summary>The settings.</summary>
    public IncidentServiceOptions Options => _options;

    /// <summary>
    /// Raised after every stored change (opened, status, severity or commander changed, note,
    /// follow-up, alert attached, Slack channel set), in order per call. Handler exceptions are
    /// logged and never fail the command.
    /// </summary>
    public event Func<IncidentChange, CancellationToken, Task>? Changed;

    /// <summary>The incident, or null.</summary>
    public Task<Incident?> GetAsync(long id, CancellationToken cancellationToken = default) => Store.GetAsync(id, cancellationToken);

    /// <summary>Incidents matching the filter, newest first.</summary>
    public Task<IReadOnlyList<Incident>> ListAsync(IncidentFilter filter, CancellationToken cancellationToken = default) => Store.ListAsync(filter, cancellationToken);

    /// <inheritdoc/>
    public async Task<IncidentDetails?> GetDetailsAsync(long id, CancellationToken cancellationToken = default)
    {
        var incident = await Store.GetAsync(id, cancellationToken).ConfigureAwait(false);
        if (incident is null) return null;
        var (from, to) = TimelineWindow(incident);
        var alerts = await Store.GetAlertsAsync(id, cancellationToken).ConfigureAwait(false);
        var timeline = await Store.GetTimelineAsync(id, from, to, cancellationToken).ConfigureAwait(false);
        var followUps = await Store.GetFollowUpsAsync(id, cancellationToken).ConfigureAwait(false);
        return new IncidentDetails(incident, alerts, timeline, followUps);
    }

    /// <summary>The window of global events that belong to the incident: start − margin to (closed ?? resolved ?? now) + margin.</summary>
    public (DateTimeOffset From, DateTimeOffset To) TimelineWindow(Incident incident)
    {
        ArgumentNullException.ThrowIfNull(incident);
        var end = incident.ClosedAt ?? incident.ResolvedAt ?? Time.GetUtcNow();
        return (incident.StartedAt - _options.TimelineMargin, end + _options.TimelineMargin);
    }

    /// <inheritdoc/>
    public Task<bool> RecordAsync(TimelineEvent timelineEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(timelineEvent);
        var e = timelineEvent;
        if (e.Text.Length > IncidentNames.MaxNoteLength) e = e with { Text = e.Text[..(IncidentNames.MaxNoteLength - 1)] + "…" };
        return Store.AppendEventAsync(e, cancellationToken);
    }

    /// <summary>Declares an incident by hand (status triggered, started and detected now).</summary>
    public async Task<IncidentCommandResult> DeclareAsync(IncidentDeclaration declaration, IncidentActor actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(declaration);
        ArgumentNullException.ThrowIfNull(actor);
        if (Validate(declaration) is { } invalid) return invalid;
        var now = Time.GetUtcNow();
        var incident = await Store.CreateAsync(new Incident
        {
            Title = declaration.Title.Trim(),
            Severity = declaration.Severity,
            Commander = string.IsNullOrWhiteSpace(declaration.Commander) ? null : declaration.Commander.Trim(),
            Markets = [.. declaration.Markets.Select(m => m.Trim()).Where(m => m.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            StartedAt = now,
            DetectedAt = now,
            CreatedAt = now,
            UpdatedAt = now,
        }, cancellationToken).ConfigureAwait(false);
        var e = Event(incident, now, actor, TimelineKinds.Opened, $"incident #{incident.Id} declared by {actor.Name}: {incident.Title} ({IncidentNames.Format(incident.Severity)})", "opened");
        await Store.AppendEventAsync(e, cancellationToken).ConfigureAwait(false);
        await RaiseAsync(new IncidentChange(null, incident, e), cancellationToken).ConfigureAwait(false);
        return new IncidentCommandResult(incident, IncidentError.None, $"incident #{incident.Id} declared");
    }

    /// <summary>Applies a person's command to incident <paramref name="id"/> (see <see cref="IncidentLifecycle"/>).</summary>
    /// <returns>The result: applied, or refused with the reason (<see cref="IncidentError.NotFound"/>, <see cref="IncidentError.IllegalTransition"/>, <see cref="IncidentError.Invalid"/>).</returns>
    /// <exception cref="InvalidOperationException">The incident kept changing under <see cref="IncidentServiceOptions.MaxUpdateAttempts"/> tries.</exception>
    public async Task<IncidentCommandResult> ExecuteAsync(long id, IncidentCommand command, IncidentActor actor, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(actor);
        if (string.IsNullOrWhiteSpace(actor.Name) || actor.Name.Length > IncidentNames.MaxNameLength)
            return new IncidentCommandResult(null, IncidentError.Invalid, $"the actor name must be 1 to {IncidentNames.MaxNameLength} characters", "actor");
        for (int attempt = 0; attempt < _options.MaxUpdateAttempts; attempt++)
        {
            var incident = await Store.GetAsync(id, cancellationToken).ConfigureAwait(false);
            if (incident is null)
                return new IncidentCommandResult(null, IncidentError.NotFound, $"no incident #{id.ToString(CultureInfo.InvariantCulture)}", "id");
            var now = Time.GetUtcNow();
            var outcome = IncidentLifecycle.Apply(incident, command, now, actor);
            if (outcome.Error != IncidentError.None)
                return new IncidentCommandResult(incident, outcome.Error, outcome.Reason, outcome.Field);
            if (outcome.Kind is null) return new IncidentCommandResult(incident, IncidentError.None, outcome.Reason);

            if (outcome.Updated is null)
            {
                // Notes and follow-ups: the record stays, the timeline grows.
                string text = outcome.Reason;
                if (command is IncidentCommand.AddNote note) text = note.Text;
                if (command is IncidentCommand.AddFollowUp f)
                {
                    var added = await Store.AddFollowUpAsync(new FollowUp(0, id, f.Text, string.IsNullOrWhiteSpace(f.Owner) ? null : f.Owner.Trim(), false, now, actor.Name), cancellationToken).ConfigureAwait(false);
                    text = $"follow-up #{added.Id.ToString(CultureInfo.InvariantCulture)}: {f.Text}" + (added.Owner is null ? "" : $" (owner {added.Owner})");
                }
                var e = Event(incident, now, actor, outcome.Kind, text, $"{outcome.Kind}:{now.ToUnixTimeMilliseconds()}:{Guid.NewGuid():N}");
                await Store.AppendEventAsync(e, cancellationToken).ConfigureAwait(false);
                await RaiseAsync(new IncidentChange(incident, incident, e), cancellationToken).ConfigureAwait(false);
                return new IncidentCommandResult(incident, IncidentError.None, outcome.Reason);
            }

            var updated = outcome.Updated with { UpdatedAt = now };
            if (!await Store.TryUpdateAsync(updated, cancellationToken).ConfigureAwait(false)) continue;
            updated = updated with { Version = incident.Version + 1 };
            var ev = Event(updated, now, actor, outcome.Kind, outcome.Reason, $"{outcome.Kind}:v{updated.Version.ToString(CultureInfo.InvariantCulture)}");
            await Store.AppendEventAsync(ev, cancellationToken).ConfigureAwait(false);
            await RaiseAsync(new IncidentChange(incident, updated, ev), cancellationToken).ConfigureAwait(false);
            return new IncidentCommandResult(updated, IncidentError.None, outcome.Reason);
        }
        throw new InvalidOperationException($"incident #{id} kept changing; gave up after {_options.MaxUpdateAttempts} tries");
    }

    /// <summary>Records the incident's own Slack channel (idempotent).</summary>
    /// <returns>The incident after the change; null when unknown.</returns>
    public async Task<Incident?> SetSlackChannelAsync(long id, string channelId, string channelName, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(channelId);
        ArgumentException.ThrowIfNullOrEmpty(channelName);
        return await UpdateAsync(id, i => i.SlackChannel == channelId ? null : i with { SlackChannel = channelId, SlackChannelName = channelName },
            (i, now) => Event(i, now, Monitor, TimelineKinds.SlackChannelCreated, $"Slack channel #{channelName} created for the incident", "slack_channel:" + channelId),
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Records the Slack message of the page (the first one wins).</summary>
    /// <returns>The incident after the change; null when unknown.</returns>
    public Task<Incident?> SetPageMessageAsync(long id, string channel, string ts, CancellationToken cancellationToken = default) =>
        UpdateAsync(id, i => i.PageTs is not null ? null : i with { PageChannel = channel, PageTs = ts }, null, cancellationToken);

    /// <summary>
    /// The automatic part of the lifecycle, called for each notification the dispatcher produced
    /// (sent or not: a route without <c>send_resolved</c> still reports its group's resolution).
    /// Ignored unless <paramref name="page"/> (the route says <c>page: true</c>).
    /// </summary>
    /// <param name="notification">The group's notification.</param>
    /// <param name="page">True when the notification's route pages (opens incidents).</param>
    /// <param name="cancellationToken">Cancellation.</param>
    /// <returns>The incident opened or updated; null when none concerns this notification.</returns>
    public async Task<Incident?> OnNotificationAsync(Notification notification, bool page, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notification);
        if (!page) return null;
        var now = notification.CreatedAt;
        var firing = notification.Alerts.Where(a => a.StatusAt(now) == AlertStatus.Firing).ToList();
        var existing = await Store.FindOpenByGroupKeyAsync(notification.GroupKey, cancellationToken).ConfigureAwait(false);
        if (existing is null)
        {
            if (firing.Count == 0) return null;
            existing = await OpenAsync(notification, firing, cancellationToken).ConfigureAwait(false);
            if (existing is null) return null;
        }
        await AttachAsync(existing, notification, cancellationToken).ConfigureAwait(false);

        if (firing.Count > 0 && existing.Status == IncidentStatus.Mitigated)
        {
            return await UpdateAsync(existing.Id,
                i => i.Status != IncidentStatus.Mitigated ? null : i with
                {
                    Status = i.AcknowledgedAt is null ? IncidentStatus.Triggered : IncidentStatus.Acknowledged,
                    MitigatedAt = null,
                    Markets = Union(i.Markets, Values(firing, "market")),
                },
                (i, t) => Event(i, now, Monitor, TimelineKinds.Retriggered,
                    $"{string.Join(", ", firing.Select(a => a.Name).Distinct())} firing again; incident #{i.Id} is {IncidentNames.Format(i.Status)} again", $"retriggered:{notification.Sequence}"),
                cancellationToken).ConfigureAwait(false);
        }
        if (firing.Count == 0 && existing.Status is IncidentStatus.Triggered or IncidentStatus.Acknowledged)
        {
            var mitigatedAt = notification.Alerts.Select(a => a.EndsAt ?? now).DefaultIfEmpty(now).Max();
            return await UpdateAsync(existing.Id,
                i => i.Status is not (IncidentStatus.Triggered or IncidentStatus.Acknowledged) ? null : i with { Status = IncidentStatus.Mitigated, MitigatedAt = mitigatedAt },
                (i, t) => Event(i, mitigatedAt, Monitor, TimelineKinds.Mitigated,
                    $"every alert of the group resolved; incident #{i.Id} mitigated (a person resolves it)", $"mitigated:{notification.Sequence}"),
                cancellationToken).ConfigureAwait(false);
        }
        if (firing.Count > 0)
        {
            var markets = Values(firing, "market");
            var services = Services(firing);
            if (markets.Except(existing.Markets).Any() || services.Except(existing.Services).Any())
                return await UpdateAsync(existing.Id, i => i with { Markets = Union(i.Markets, markets), Services = Union(i.Services, services) }, null, cancellationToken).ConfigureAwait(false);
        }
        return existing;
    }

    private async Task<Incident?> OpenAsync(Notification notification, List<Alert> firing, CancellationToken cancellationToken)
    {
        // Routed alerts start when they fired (Prometheus and our evaluator send firedAt as startsAt).
        var detected = firing.Min(a => a.StartsAt);
        var started = await ConditionStartAsync(firing, cancellationToken).ConfigureAwait(false);
        var severity = firing.Select(a => IncidentNames.TryParseSeverity(a.Labels[_options.SeverityLabel], out var s) ? s : _options.DefaultSeverity).Min();
        var incident = new Incident
        {
            Title = TitleOf(notification, firing),
            Severity = severity,
            Markets = Values(firing, "market"),
            Services = Services(firing),
            GroupKey = notification.GroupKey,
            StartedAt = started < detected ? started : detected,
            DetectedAt = detected,
            CreatedAt = Time.GetUtcNow(),
            UpdatedAt = Time.GetUtcNow(),
        };
        try
        {
            incident = await Store.CreateAsync(incident, cancellationToken).ConfigureAwait(false);
        }
        catch (IncidentConflictException)
        {
            // Another monitor node opened it first: attach to that one.
            return await Store.FindOpenByGroupKeyAsync(notification.GroupKey, cancellationToken).ConfigureAwait(false);
        }
        _log.LogInformation("Incident #{Id} opened ({Severity}): {Title}", incident.Id, IncidentNames.Format(incident.Severity), incident.Title);
        var e = Event(incident, notification.CreatedAt, Monitor, TimelineKinds.Opened,
            $"incident #{incident.Id} opened by the page for {string.Join(", ", firing.Select(a => a.Name).Distinct())} ({IncidentNames.Format(incident.Severity)})", "opened");
        await Store.AppendEventAsync(e, cancellationToken).ConfigureAwait(false);
        await RaiseAsync(new IncidentChange(null, incident, e), cancellationToken).ConfigureAwait(false);
        return incident;
    }

    private async Task AttachAsync(Incident incident, Notification notification, CancellationToken cancellationToken)
    {
        foreach (var alert in notification.Alerts)
        {
            var link = new IncidentAlert(incident.Id, alert.Fingerprint, alert.Name, alert.Labels, alert.Annotations, alert.StartsAt, alert.StartsAt,
                alert.StatusAt(notification.CreatedAt) == AlertStatus.Resolved ? alert.EndsAt : null, notification.CreatedAt);
            if (!await Store.AttachAlertAsync(link, cancellationToken).ConfigureAwait(false)) continue;
            var e = Event(incident, notification.CreatedAt, Monitor, TimelineKinds.AlertAttached,
                $"alert {alert.Name} {Describe(alert.Labels)} attached", "attached:" + alert.Fingerprint) with { Fingerprint = alert.Fingerprint };
            await Store.AppendEventAsync(e, cancellationToken).ConfigureAwait(false);
            await RaiseAsync(new IncidentChange(incident, incident, e), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// When the condition of the first alert began: its <c>alert.pending</c> event (Prometheus's
    /// <c>activeAt</c>, up to the rule's <c>for</c> before it fired), else its start as routed
    /// (alerts from the Alertmanager intake carry only that).
    /// </summary>
    private Task<DateTimeOffset> ConditionStartAsync(IReadOnlyList<Alert> alerts, CancellationToken cancellationToken)
    {
        var firstStart = alerts.Min(a => a.StartsAt);
        return FirstEventAsync(TimelineKinds.AlertPending, alerts, firstStart - PendingLookBack, firstStart, firstStart, cancellationToken);
    }

    /// <summary>How far before an alert's firing its pending event is looked for (longer <c>for</c> durations start at the firing).</summary>
    private static readonly TimeSpan PendingLookBack = TimeSpan.FromHours(1);

    private async Task<DateTimeOffset> FirstEventAsync(string kind, IReadOnlyList<Alert> alerts, DateTimeOffset from, DateTimeOffset to, DateTimeOffset fallback, CancellationToken cancellationToken)
    {
        var fingerprints = alerts.Select(a => a.Fingerprint).Distinct(StringComparer.Ordinal).Take(IncidentStoreLimits.MaxFingerprintsPerQuery).ToList();
        var first = await Store.FirstGlobalEventAtAsync(kind, fingerprints, from, to, cancellationToken).ConfigureAwait(false);
        return first is { } f && f <= fallback ? f : fallback;
    }

    private async Task<Incident?> UpdateAsync(long id, Func<Incident, Incident?> change, Func<Incident, DateTimeOffset, TimelineEvent>? eventOf, CancellationToken cancellationToken)
    {
        for (int attempt = 0; attempt < _options.MaxUpdateAttempts; attempt++)
        {
            var incident = await Store.GetAsync(id, cancellationToken).ConfigureAwait(false);
            if (incident is null) return null;
            var now = Time.GetUtcNow();
            var updated = change(incident);
            if (updated is null) return incident;
            updated = updated with { UpdatedAt = now };
            if (!await Store.TryUpdateAsync(updated, cancellationToken).ConfigureAwait(false)) continue;
            updated = updated with { Version = incident.Version + 1 };
            TimelineEvent? e = null;
            if (eventOf is not null)
            {
                e = eventOf(updated, now);
                await Store.AppendEventAsync(e, cancellationToken).ConfigureAwait(false);
            }
            await RaiseAsync(new IncidentChange(incident, updated, e), cancellationToken).ConfigureAwait(false);
            return updated;
        }
        throw new InvalidOperationException($"incident #{id} kept changing; gave up after {_options.MaxUpdateAttempts} tries");
    }

    private Task RaiseAsync(IncidentChange change, CancellationToken cancellationToken) =>
        AsyncEventHandlers.InvokeAsync(Changed, change, e => _log.LogError(e, "Incident #{Id}: a change handler failed", change.After.Id), cancellationToken);

    private static IncidentCommandResult? Validate(IncidentDeclaration d)
    {
        if (string.IsNullOrWhiteSpace(d.Title)) return Invalid("title", "title is required");
        if (d.Title.Length > IncidentNames.MaxTitleLength) return Invalid("title", $"title is at most {IncidentNames.MaxTitleLength} characters (got {d.Title.Length})");
        if (!Enum.IsDefined(d.Severity)) return Invalid("severity", "severity must be SEV1 to SEV4");
        if (d.Markets.Count > IncidentNames.MaxAffected) return Invalid("markets", $"at most {IncidentNames.MaxAffected} markets");
        if (d.Markets.Any(m => m is null || m.Length > IncidentNames.MaxNameLength)) return Invalid("markets", $"a market name is at most {IncidentNames.MaxNameLength} characters");
        if (d.Commander is { Length: > IncidentNames.MaxNameLength }) return Invalid("commander", $"commander is at most {IncidentNames.MaxNameLength} characters");
        return null;

        static IncidentCommandResult Invalid(string field, string reason) => new(null, IncidentError.Invalid, reason, field);
    }

    private static TimelineEvent Event(Incident incident, DateTimeOffset at, IncidentActor actor, string kind, string text, string dedup) => new()
    {
        IncidentId = incident.Id,
        At = at,
        Source = actor.Source,
        Actor = actor.Name,
        Kind = kind,
        Text = text.Length > IncidentNames.MaxNoteLength ? text[..(IncidentNames.MaxNoteLength - 1)] + "…" : text,
        DedupKey = dedup.Length > 400 ? dedup[..400] : dedup,
        GroupKey = incident.GroupKey,
    };

    private static string TitleOf(Notification notification, List<Alert> firing)
    {
        var first = firing[0];
        string summary = first.Annotations["summary"];
        string title = summary.Length > 0 ? $"{first.Name}: {summary}" : $"{first.Name} {Describe(notification.GroupLabels.Without("alertname"))}".Trim();
        if (firing.Select(a => a.Name).Distinct().Count() > 1) title += $" (+{firing.Count - 1} alerts)";
        return title.Length > IncidentNames.MaxTitleLength ? title[..(IncidentNames.MaxTitleLength - 1)] + "…" : title;
    }

    private static string Describe(LabelSet labels) =>
        labels.Count == 0 ? "" : "{" + string.Join(", ", labels.Where(l => l.Key != "alertname").Select(l => $"{l.Key}=\"{l.Value}\"")) + "}";

    private static IReadOnlyList<string> Values(IEnumerable<Alert> alerts, string label) =>
        [.. alerts.Select(a => a.Labels[label]).Where(v => v.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Take(IncidentNames.MaxAffected)];

    private static IReadOnlyList<string> Services(IEnumerable<Alert> alerts) =>
        [.. alerts.Select(a => a.Labels["service"] is { Length: > 0 } s ? s : a.Labels["sloth_service"] is { Length: > 0 } ss ? ss : a.Labels["job"])
            .Where(v => v.Length > 0).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Take(IncidentNames.MaxAffected)];

    private static IReadOnlyList<string> Union(IReadOnlyList<string> a, IReadOnlyList<string> b) =>
        [.. a.Concat(b).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Take(IncidentNames.MaxAffected)];
}
