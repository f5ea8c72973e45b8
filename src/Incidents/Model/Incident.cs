using System.Globalization;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Incidents.Model;

/// <summary>
/// Incident severity, SEV1 (most severe: the exchange or a major market is down) to SEV4 (minor,
/// no customer impact). The numeric value is the level; it is stored as that integer.
/// </summary>
public enum IncidentSeverity
{
    /// <summary>Critical: trading stopped or data at risk; all hands.</summary>
    Sev1 = 1,

    /// <summary>Major: an SLO is burning fast (a page); the default for incidents opened by pages.</summary>
    Sev2 = 2,

    /// <summary>Minor: degraded, budget burning slowly.</summary>
    Sev3 = 3,

    /// <summary>Low: no customer impact.</summary>
    Sev4 = 4,
}

/// <summary>
/// Where an incident is in its lifecycle. Open incidents are <see cref="Triggered"/>,
/// <see cref="Acknowledged"/> and <see cref="Mitigated"/>: alerts of their group attach to them.
/// The stored value is the lowercase name.
/// </summary>
public enum IncidentStatus
{
    /// <summary>Opened (by a page or by hand); nobody has acknowledged it yet.</summary>
    Triggered,

    /// <summary>Someone took it.</summary>
    Acknowledged,

    /// <summary>The impact stopped (every alert resolved, or a person said so); not yet resolved.</summary>
    Mitigated,

    /// <summary>A person declared the cause dealt with; the post-incident report is generated.</summary>
    Resolved,

    /// <summary>Reviewed and closed; nothing changes it any more except notes and follow-ups.</summary>
    Closed,
}

/// <summary>Parsing and formatting of <see cref="IncidentSeverity"/> and <see cref="IncidentStatus"/>.</summary>
public static class IncidentNames
{
    /// <summary>Longest accepted title, in characters.</summary>
    public const int MaxTitleLength = 200;

    /// <summary>Longest accepted note or follow-up text, in characters.</summary>
    public const int MaxNoteLength = 4000;

    /// <summary>Longest accepted person name (commander, actor), in characters.</summary>
    public const int MaxNameLength = 200;

    /// <summary>Most markets or services an incident lists.</summary>
    public const int MaxAffected = 64;

    /// <summary><c>SEV1</c> … <c>SEV4</c>.</summary>
    public static string Format(IncidentSeverity severity) => "SEV" + ((int)severity).ToString(CultureInfo.InvariantCulture);

    /// <summary>The stored and displayed name: <c>triggered</c>, <c>acknowledged</c>, <c>mitigated</c>, <c>resolved</c>, <c>closed</c>.</summary>
    public static string Format(IncidentStatus status) => status switch
    {
        IncidentStatus.Triggered => "triggered",
        IncidentStatus.Acknowledged => "acknowledged",
        IncidentStatus.Mitigated => "mitigated",
        IncidentStatus.Resolved => "resolved",
        IncidentStatus.Closed => "closed",
        _ => throw new ArgumentOutOfRangeException(nameof(status)),
    };

    /// <summary>Parses <c>SEV2</c>, <c>sev2</c>, <c>2</c>, <c>Sev2</c> (case-insensitive, 1 to 4).</summary>
    public static bool TryParseSeverity(string? text, out IncidentSeverity severity)
    {
        severity = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var s = text.Trim();
        if (s.StartsWith("sev", StringComparison.OrdinalIgnoreCase)) s = s[3..];
        if (s.Length != 1 || s[0] < '1' || s[0] > '4') return false;
        severity = (IncidentSeverity)(s[0] - '0');
        return true;
    }

    /// <summary>Parses a status name (case-insensitive).</summary>
    public static bool TryParseStatus(string? text, out IncidentStatus status)
    {
        status = default;
        switch (text?.Trim().ToLowerInvariant())
        {
            case "triggered": status = IncidentStatus.Triggered; return true;
            case "acknowledged": status = IncidentStatus.Acknowledged; return true;
            case "mitigated": status = IncidentStatus.Mitigated; return true;
            case "resolved": status = IncidentStatus.Resolved; return true;
            case "closed": status = IncidentStatus.Closed; return true;
            default: return false;
        }
    }

    /// <summary>True for the statuses alerts still attach to (triggered, acknowledged, mitigated).</summary>
    public static bool IsOpen(IncidentStatus status) => status is IncidentStatus.Triggered or IncidentStatus.Acknowledged or IncidentStatus.Mitigated;
}

/// <summary>
/// One incident record. Times are UTC; the store keeps them to the microsecond. Every update
/// goes through <see cref="Store.IIncidentStore.TryUpdateAsync"/> with the <see cref="Version"/>
/// read (optimistic concurrency), so two monitor nodes or two Slack clicks never lose a change.
/// </summary>
public sealed record Incident
{
    /// <summary>Incident number, assigned by the store (1, 2, 3, ...); 0 before it is stored.</summary>
    public long Id { get; init; }

    /// <summary>One line, at most <see cref="IncidentNames.MaxTitleLength"/> characters, stored verbatim.</summary>
    public required string Title { get; init; }

    /// <summary>Severity.</summary>
    public IncidentSeverity Severity { get; init; } = IncidentSeverity.Sev2;

    /// <summary>Lifecycle status.</summary>
    public IncidentStatus Status { get; init; } = IncidentStatus.Triggered;

    /// <summary>Incident commander (a name or a Slack mention such as <c>&lt;@U0123&gt;</c>); null until assigned.</summary>
    public string? Commander { get; init; }

    /// <summary>Affected markets (from the alerts' <c>market</c> labels), sorted, distinct.</summary>
    public IReadOnlyList<string> Markets { get; init; } = [];

    /// <summary>Affected services (from <c>service</c>/<c>sloth_service</c>/<c>job</c> labels), sorted, distinct.</summary>
    public IReadOnlyList<string> Services { get; init; } = [];

    /// <summary>Alert group key (the dispatcher's aggregation group) the incident was opened for; null for one declared by hand.</summary>
    public string? GroupKey { get; init; }

    /// <summary>Impact start: the first alert's start (its <c>activeAt</c>, when the condition began), or the declared start.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>First firing of an alert (detection); null for incidents declared by hand before any alert.</summary>
    public DateTimeOffset? DetectedAt { get; init; }

    /// <summary>First acknowledgement.</summary>
    public DateTimeOffset? AcknowledgedAt { get; init; }

    /// <summary>Who acknowledged first.</summary>
    public string? AcknowledgedBy { get; init; }

    /// <summary>When the impact stopped (last alert resolved, or a person mitigated).</summary>
    public DateTimeOffset? MitigatedAt { get; init; }

    /// <summary>When a person resolved it.</summary>
    public DateTimeOffset? ResolvedAt { get; init; }

    /// <summary>When it was closed.</summary>
    public DateTimeOffset? ClosedAt { get; init; }

    /// <summary>Slack channel ID of the page message (the alert notification that opened it); null without Slack.</summary>
    public string? PageChannel { get; init; }

    /// <summary>Slack <c>ts</c> of the page message.</summary>
    public string? PageTs { get; init; }

    /// <summary>ID of the incident's own Slack channel (<c>conversations.create</c>); null when none was created.</summary>
    public string? SlackChannel { get; init; }

    /// <summary>Name of the incident's own Slack channel, e.g. <c>inc-42-enginedown-btc-usd</c>.</summary>
    public string? SlackChannelName { get; init; }

    /// <summary>When the record was created (stored time, not an incident time).</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>Last update of the record.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Optimistic-concurrency version: 1 when created, +1 per update.</summary>
    public long Version { get; init; }

    /// <summary>True while alerts attach to it (triggered, acknowledged, mitigated).</summary>
    public bool IsOpen => IncidentNames.IsOpen(Status);
}

/// <summary>
/// An alert linked to an incident (one row per incident and fingerprint; updated as the alert
/// fires again or resolves).
/// </summary>
/// <param name="IncidentId">The incident.</param>
/// <param name="Fingerprint">Alertmanager fingerprint of the labels (16 hex digits).</param>
/// <param name="AlertName">Label <c>alertname</c>.</param>
/// <param name="Labels">All labels.</param>
/// <param name="Annotations">Annotations at the last update (summary, description, runbook_url, ...).</param>
/// <param name="StartsAt">The routed alert's start (Prometheus sends its firing time as <c>startsAt</c>).</param>
/// <param name="FiredAt">When it started firing, when known.</param>
/// <param name="EndsAt">When it resolved; null while firing.</param>
/// <param name="AttachedAt">When it was linked to the incident.</param>
public sealed record IncidentAlert(
    long IncidentId,
    string Fingerprint,
    string AlertName,
    LabelSet Labels,
    LabelSet Annotations,
    DateTimeOffset StartsAt,
    DateTimeOffset? FiredAt,
    DateTimeOffset? EndsAt,
    DateTimeOffset AttachedAt);

/// <summary>A follow-up action from the review.</summary>
/// <param name="Id">Assigned by the store; 0 before.</param>
/// <param name="IncidentId">The incident.</param>
/// <param name="Text">What to do, at most <see cref="IncidentNames.MaxNoteLength"/> characters.</param>
/// <param name="Owner">Who owns it, or null.</param>
/// <param name="Done">True once done.</param>
/// <param name="CreatedAt">When it was added.</param>
/// <param name="CreatedBy">Who added it.</param>
public sealed record FollowUp(long Id, long IncidentId, string Text, string? Owner, bool Done, DateTimeOffset CreatedAt, string CreatedBy);

/// <summary>
/// One timeline event. Events carry the time they happened (<see cref="At"/>), not the time they
/// were stored (<see cref="RecordedAt"/>); timelines are read sorted by <see cref="At"/>. An event is
/// stored once per (<see cref="IncidentId"/>, <see cref="DedupKey"/>): the same event reported twice
/// (a retried poll, two monitor nodes) is kept once.
/// </summary>
/// <remarks>
/// Events with <see cref="IncidentId"/> null are global (engine events, silences, alert state changes,
/// notifications): an incident's timeline includes the global events inside its window that have
/// neither fingerprint nor group key, or whose <see cref="Fingerprint"/> is one of its alerts, or
/// whose <see cref="GroupKey"/> is its group key.
/// </remarks>
public sealed record TimelineEvent
{
    /// <summary>Assigned by the store; 0 before.</summary>
    public long Id { get; init; }

    /// <summary>The incident, or null for a global event.</summary>
    public long? IncidentId { get; init; }

    /// <summary>When it happened.</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary>Where it came from: one of <see cref="TimelineSources"/>.</summary>
    public required string Source { get; init; }

    /// <summary>Who did it (<c>slack:U0123 (alice)</c>, <c>api</c>, <c>cli:alice</c>, <c>monitor</c>, <c>engine</c>).</summary>
    public required string Actor { get; init; }

    /// <summary>Dotted kind: one of <see cref="TimelineKinds"/> or an engine event kind prefixed <c>engine.</c>.</summary>
    public required string Kind { get; init; }

    /// <summary>One human sentence, stored verbatim (at most 4000 characters).</summary>
    public required string Text { get; init; }

    /// <summary>Identity for de-duplication, e.g. <c>alert.firing:3f2a…:1763712000000</c>; at most 400 characters.</summary>
    public required string DedupKey { get; init; }

    /// <summary>Alert fingerprint this event is about, or null.</summary>
    public string? Fingerprint { get; init; }

    /// <summary>Alert group key this event is about, or null.</summary>
    public string? GroupKey { get; init; }

    /// <summary>Machine-readable details (label values, fault name, notification receiver, ...); stored as a JSON object.</summary>
    public IReadOnlyDictionary<string, string> Fields { get; init; } = new Dictionary<string, string>();

    /// <summary>When it was stored (set by the store).</summary>
    public DateTimeOffset RecordedAt { get; init; }
}

/// <summary>Values of <see cref="TimelineEvent.Source"/>.</summary>
public static class TimelineSources
{
    /// <summary>The monitor's rule evaluation.</summary>
    public const string Alerting = "alerting";

    /// <summary>Notification delivery (outbox).</summary>
    public const string Notify = "notify";

    /// <summary>Slack commands and buttons.</summary>
    public const string Slack = "slack";

    /// <summary>The REST API.</summary>
    public const string Api = "api";

    /// <summary>The <c>exh incidents</c> command line (through the API).</summary>
    public const string Cli = "cli";

    /// <summary>The matching engine's event log.</summary>
    public const string Engine = "engine";

    /// <summary>Silences.</summary>
    public const string Silences = "silences";

    /// <summary>The incident logic itself (opened, mitigated automatically, report generated).</summary>
    public const string Incident = "incident";
}

/// <summary>Values of <see cref="TimelineEvent.Kind"/> written by ExchangeHealth.</summary>
public static class TimelineKinds
{
#pragma warning disable CS1591 // names say it
    public const string AlertPending = "alert.pending";
    public const string AlertFiring = "alert.firing";
    public const string AlertResolved = "alert.resolved";
    public const string NotificationSent = "notification.sent";
    public const string NotificationFailed = "notification.failed";
    public const string NotificationRetried = "notification.retried";
    public const string Opened = "incident.opened";
    public const string AlertAttached = "incident.alert_attached";
    public const string Acknowledged = "incident.acknowledged";
    public const string Mitigated = "incident.mitigated";
    public const string Retriggered = "incident.retriggered";
    public const string Resolved = "incident.resolved";
    public const string Closed = "incident.closed";
    public const string SeverityChanged = "incident.severity_changed";
    public const string CommanderAssigned = "incident.commander_assigned";
    public const string Note = "incident.note";
    public const string FollowUpAdded = "incident.follow_up";
    public const string SlackChannelCreated = "incident.slack_channel";
    public const string SlackChannelFailed = "incident.slack_channel_failed";
    public const string SlackPageLinked = "incident.slack_page_linked";
    public const string FollowUpUpdated = "incident.follow_up_updated";
    public const string ReportGenerated = "incident.report";
    public const string SlackCommand = "slack.command";
    public const string SilenceCreated = "silence.created";
    public const string SilenceExpired = "silence.expired";
#pragma warning restore CS1591
}
