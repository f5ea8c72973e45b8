using System.Text.Json;
using System.Text.Json.Serialization;
using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;

namespace ExchangeHealth.Incidents.Http;

// Wire shapes of the incidents API (docs/incident-api.md). camelCase, times ISO 8601 with offset
// (UTC, as stored: microseconds), nulls written so every field is always present.

/// <summary>An incident as the API shows it.</summary>
internal sealed record IncidentDto(
    long Id, string Title, string Severity, int SeverityLevel, string Status, bool Open, string? Commander,
    IReadOnlyList<string> Markets, IReadOnlyList<string> Services, string? GroupKey,
    DateTimeOffset StartedAt, DateTimeOffset? DetectedAt, DateTimeOffset? AcknowledgedAt, string? AcknowledgedBy,
    DateTimeOffset? MitigatedAt, DateTimeOffset? ResolvedAt, DateTimeOffset? ClosedAt,
    string? SlackChannel, string? SlackChannelName, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, long Version,
    double AgeSeconds)
{
    /// <summary>The API form of <paramref name="i"/>; age is <paramref name="now"/> − started, in seconds.</summary>
    public static IncidentDto Of(Incident i, DateTimeOffset now) => new(
        i.Id, i.Title, IncidentNames.Format(i.Severity), (int)i.Severity, IncidentNames.Format(i.Status), i.IsOpen, i.Commander,
        i.Markets, i.Services, i.GroupKey, i.StartedAt, i.DetectedAt, i.AcknowledgedAt, i.AcknowledgedBy,
        i.MitigatedAt, i.ResolvedAt, i.ClosedAt, i.SlackChannel, i.SlackChannelName, i.CreatedAt, i.UpdatedAt, i.Version,
        Math.Max(0, Math.Round((now - i.StartedAt).TotalSeconds, 3)));
}

/// <summary>An alert linked to an incident.</summary>
internal sealed record IncidentAlertDto(
    string Fingerprint, string AlertName, string Status, IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, string> Annotations,
    DateTimeOffset StartsAt, DateTimeOffset? FiredAt, DateTimeOffset? EndsAt, DateTimeOffset AttachedAt)
{
    public static IncidentAlertDto Of(IncidentAlert a) => new(
        a.Fingerprint, a.AlertName, a.EndsAt is null ? "firing" : "resolved", a.Labels.ToDictionary(), a.Annotations.ToDictionary(),
        a.StartsAt, a.FiredAt, a.EndsAt, a.AttachedAt);
}

/// <summary>A follow-up action.</summary>
internal sealed record FollowUpDto(long Id, string Text, string? Owner, bool Done, DateTimeOffset CreatedAt, string CreatedBy)
{
    public static FollowUpDto Of(FollowUp f) => new(f.Id, f.Text, f.Owner, f.Done, f.CreatedAt, f.CreatedBy);
}

/// <summary>A timeline event.</summary>
internal sealed record TimelineEventDto(
    long Id, long? IncidentId, DateTimeOffset At, string Source, string Actor, string Kind, string Text,
    string? Fingerprint, string? GroupKey, IReadOnlyDictionary<string, string> Fields)
{
    public static TimelineEventDto Of(TimelineEvent e) => new(e.Id, e.IncidentId, e.At, e.Source, e.Actor, e.Kind, e.Text, e.Fingerprint, e.GroupKey, e.Fields);
}

/// <summary><c>GET /incidents/{id}</c>.</summary>
internal sealed record IncidentDetailsDto(IncidentDto Incident, IReadOnlyList<IncidentAlertDto> Alerts, IReadOnlyList<FollowUpDto> FollowUps, int TimelineCount);

/// <summary><c>GET /incidents/{id}/timeline</c>: the events between <see cref="From"/> and <see cref="To"/> (global ones) and the incident's own.</summary>
internal sealed record TimelineDto(long IncidentId, DateTimeOffset From, DateTimeOffset To, IReadOnlyList<TimelineEventDto> Events);

/// <summary>The answer to a command: what happened and the incident after it.</summary>
internal sealed record CommandDto(string Message, IncidentDto Incident, FollowUpDto? FollowUp = null);

/// <summary><c>GET /incidents</c>.</summary>
internal sealed record IncidentListDto(IReadOnlyList<string> Statuses, int Limit, IReadOnlyList<IncidentDto> Incidents);

/// <summary><c>POST /incidents/{id}/follow-ups/{followUpId}</c>.</summary>
internal sealed record FollowUpChangeDto(string Message, FollowUpDto FollowUp);

/// <summary><c>POST /incidents/{id}/report</c>: where the files are.</summary>
internal sealed record ReportDto(long IncidentId, string Markdown, string Html);

/// <summary>Every refusal: <c>{ "error": sentence, "field": what is at fault }</c>, as the rest of the monitor API.</summary>
internal sealed record ErrorDto(string Error, string Field);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(IncidentDto))]
[JsonSerializable(typeof(IncidentDetailsDto))]
[JsonSerializable(typeof(TimelineDto))]
[JsonSerializable(typeof(CommandDto))]
[JsonSerializable(typeof(IncidentListDto))]
[JsonSerializable(typeof(FollowUpChangeDto))]
[JsonSerializable(typeof(ReportDto))]
[JsonSerializable(typeof(ErrorDto))]
internal sealed partial class IncidentJsonContext : JsonSerializerContext;
