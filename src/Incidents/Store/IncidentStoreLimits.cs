using System.Globalization;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Incidents.Store;

/// <summary>
/// Bounds every <see cref="IIncidentStore"/> enforces before it writes, so that no input is stored
/// unbounded (the service validates too; the store is the last line). Lengths are in UTF-16
/// characters. A value over a bound is refused with an <see cref="ArgumentException"/> whose
/// <see cref="ArgumentException.ParamName"/> is the field's name (e.g. <c>Title</c>, <c>DedupKey</c>).
/// </summary>
/// <remarks>
/// Besides lengths, text containing U+0000 or an unpaired surrogate is refused: PostgreSQL cannot
/// store either in <c>TEXT</c>, and both back ends must accept exactly the same input.
/// </remarks>
public static class IncidentStoreLimits
{
    /// <summary>Longest <see cref="TimelineEvent.DedupKey"/>.</summary>
    public const int MaxDedupKeyLength = 400;

    /// <summary>
    /// Longest alert group key (<see cref="Incident.GroupKey"/>, <see cref="TimelineEvent.GroupKey"/>):
    /// 600 characters are at most 2400 bytes of UTF-8, inside PostgreSQL's B-tree entry limit (2704 bytes).
    /// </summary>
    public const int MaxGroupKeyLength = 600;

    /// <summary>Longest alert fingerprint (Alertmanager's are 16 hex digits).</summary>
    public const int MaxFingerprintLength = 64;

    /// <summary>Longest <see cref="TimelineEvent.Source"/> and <see cref="TimelineEvent.Kind"/>.</summary>
    public const int MaxKindLength = 100;

    /// <summary>Longest <see cref="IncidentAlert.AlertName"/>.</summary>
    public const int MaxAlertNameLength = 1024;

    /// <summary>Most entries in <see cref="TimelineEvent.Fields"/>; names at most <see cref="IncidentNames.MaxNameLength"/>, values at most <see cref="IncidentNames.MaxNoteLength"/> characters.</summary>
    public const int MaxFields = 64;

    /// <summary>Longest JSON of an alert's <see cref="IncidentAlert.Labels"/>.</summary>
    public const int MaxLabelsJsonLength = 16 * 1024;

    /// <summary>Longest JSON of an alert's <see cref="IncidentAlert.Annotations"/>.</summary>
    public const int MaxAnnotationsJsonLength = 64 * 1024;

    /// <summary>Most fingerprints <see cref="IIncidentStore.FirstGlobalEventAtAsync"/> takes (one bound parameter each).</summary>
    public const int MaxFingerprintsPerQuery = 500;

    /// <summary>Most events <see cref="IIncidentStore.GetGlobalEventsAsync"/> returns at once.</summary>
    public const int MaxGlobalEvents = 10_000;

    internal static void Check(Incident incident)
    {
        ArgumentNullException.ThrowIfNull(incident);
        Text(incident.Title, nameof(Incident.Title), IncidentNames.MaxTitleLength, required: true);
        if (!Enum.IsDefined(incident.Severity)) throw Invalid(nameof(Incident.Severity), $"{(int)incident.Severity} is not a severity (1 to 4)");
        if (!Enum.IsDefined(incident.Status)) throw Invalid(nameof(Incident.Status), $"{(int)incident.Status} is not a status");
        Text(incident.Commander, nameof(Incident.Commander), IncidentNames.MaxNameLength);
        List(incident.Markets, nameof(Incident.Markets));
        List(incident.Services, nameof(Incident.Services));
        Text(incident.GroupKey, nameof(Incident.GroupKey), MaxGroupKeyLength);
        Text(incident.AcknowledgedBy, nameof(Incident.AcknowledgedBy), IncidentNames.MaxNameLength);
        Text(incident.PageChannel, nameof(Incident.PageChannel), IncidentNames.MaxNameLength);
        Text(incident.PageTs, nameof(Incident.PageTs), IncidentNames.MaxNameLength);
        Text(incident.SlackChannel, nameof(Incident.SlackChannel), IncidentNames.MaxNameLength);
        Text(incident.SlackChannelName, nameof(Incident.SlackChannelName), IncidentNames.MaxNameLength);
    }

    internal static void Check(TimelineEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e.IncidentId is <= 0) throw Invalid(nameof(TimelineEvent.IncidentId), $"{e.IncidentId} is not an incident id (null for a global event)");
        Text(e.Source, nameof(TimelineEvent.Source), MaxKindLength, required: true);
        Text(e.Actor, nameof(TimelineEvent.Actor), IncidentNames.MaxNameLength, required: true);
        Text(e.Kind, nameof(TimelineEvent.Kind), MaxKindLength, required: true);
        Text(e.Text, nameof(TimelineEvent.Text), IncidentNames.MaxNoteLength, required: true, allowEmpty: true);
        Text(e.DedupKey, nameof(TimelineEvent.DedupKey), MaxDedupKeyLength, required: true);
        Text(e.Fingerprint, nameof(TimelineEvent.Fingerprint), MaxFingerprintLength);
        Text(e.GroupKey, nameof(TimelineEvent.GroupKey), MaxGroupKeyLength);
        if (e.Fields is null) throw Invalid(nameof(TimelineEvent.Fields), "is required (empty for none)");
        if (e.Fields.Count > MaxFields) throw Invalid(nameof(TimelineEvent.Fields), $"has {e.Fields.Count} entries, more than {MaxFields}");
        foreach (var (name, value) in e.Fields)
        {
            Text(name, nameof(TimelineEvent.Fields), IncidentNames.MaxNameLength, required: true);
            Text(value, nameof(TimelineEvent.Fields), IncidentNames.MaxNoteLength, required: true, allowEmpty: true);
        }
    }

    internal static void Check(IncidentAlert alert, string labelsJson, string annotationsJson)
    {
        if (alert.IncidentId <= 0) throw Invalid(nameof(IncidentAlert.IncidentId), $"{alert.IncidentId} is not an incident id");
        Text(alert.Fingerprint, nameof(IncidentAlert.Fingerprint), MaxFingerprintLength, required: true);
        Text(alert.AlertName, nameof(IncidentAlert.AlertName), MaxAlertNameLength, required: true, allowEmpty: true);
        if (labelsJson.Length > MaxLabelsJsonLength) throw Invalid(nameof(IncidentAlert.Labels), $"take {labelsJson.Length} characters as JSON, more than {MaxLabelsJsonLength}");
        if (annotationsJson.Length > MaxAnnotationsJsonLength) throw Invalid(nameof(IncidentAlert.Annotations), $"take {annotationsJson.Length} characters as JSON, more than {MaxAnnotationsJsonLength}");
        Labels(alert.Labels, nameof(IncidentAlert.Labels));
        Labels(alert.Annotations, nameof(IncidentAlert.Annotations));
    }

    internal static void Check(FollowUp followUp)
    {
        ArgumentNullException.ThrowIfNull(followUp);
        if (followUp.IncidentId <= 0) throw Invalid(nameof(FollowUp.IncidentId), $"{followUp.IncidentId} is not an incident id");
        Text(followUp.Text, nameof(FollowUp.Text), IncidentNames.MaxNoteLength, required: true);
        Text(followUp.Owner, nameof(FollowUp.Owner), IncidentNames.MaxNameLength);
        Text(followUp.CreatedBy, nameof(FollowUp.CreatedBy), IncidentNames.MaxNameLength, required: true);
    }

    internal static ArgumentException Invalid(string field, string reason) => new($"{field} {reason}", field);

    private static void Labels(LabelSet labels, string field)
    {
        if (labels is null) throw Invalid(field, "is required (LabelSet.Empty for none)");
        foreach (var (name, value) in labels)
        {
            Text(name, field, MaxLabelsJsonLength, required: true);
            Text(value, field, MaxAnnotationsJsonLength, required: true, allowEmpty: true);
        }
    }

    private static void List(IReadOnlyList<string> items, string field)
    {
        if (items is null) throw Invalid(field, "is required (empty for none)");
        if (items.Count > IncidentNames.MaxAffected) throw Invalid(field, $"lists {items.Count} entries, more than {IncidentNames.MaxAffected}");
        foreach (string item in items) Text(item, field, IncidentNames.MaxNameLength, required: true);
    }

    private static void Text(string? value, string field, int max, bool required = false, bool allowEmpty = false)
    {
        if (value is null)
        {
            if (required) throw Invalid(field, "is required");
            return;
        }
        if (value.Length == 0 && required && !allowEmpty) throw Invalid(field, "is empty");
        if (value.Length > max)
            throw Invalid(field, string.Create(CultureInfo.InvariantCulture, $"is {value.Length} characters long, more than {max}"));
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (c == '\0') throw Invalid(field, "contains the character U+0000");
            if (char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])) { i++; continue; }
            if (char.IsSurrogate(c)) throw Invalid(field, "contains an unpaired UTF-16 surrogate");
        }
    }
}
