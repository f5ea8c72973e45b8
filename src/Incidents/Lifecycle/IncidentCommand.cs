using ExchangeHealth.Incidents.Model;

namespace ExchangeHealth.Incidents.Lifecycle;

/// <summary>
/// What a person asks of an incident, from the REST API, the CLI or Slack. Applied by
/// <see cref="IncidentService.ExecuteAsync"/>; illegal transitions are refused with a reason.
/// </summary>
public abstract record IncidentCommand
{
    private IncidentCommand() { }

    /// <summary>Take the incident (triggered → acknowledged; on a mitigated one only records who).</summary>
    public sealed record Acknowledge : IncidentCommand;

    /// <summary>The impact stopped (triggered/acknowledged → mitigated).</summary>
    public sealed record Mitigate : IncidentCommand;

    /// <summary>Resolved (triggered/acknowledged/mitigated → resolved); generates the report.</summary>
    public sealed record Resolve : IncidentCommand;

    /// <summary>Closed after review (resolved → closed).</summary>
    public sealed record Close : IncidentCommand;

    /// <summary>Change the severity (any status but closed).</summary>
    /// <param name="Severity">The new severity.</param>
    public sealed record SetSeverity(IncidentSeverity Severity) : IncidentCommand;

    /// <summary>Assign the incident commander (any status but closed).</summary>
    /// <param name="Commander">Name or Slack mention, at most <see cref="IncidentNames.MaxNameLength"/> characters.</param>
    public sealed record AssignCommander(string Commander) : IncidentCommand;

    /// <summary>Add a note to the timeline (any status).</summary>
    /// <param name="Text">At most <see cref="IncidentNames.MaxNoteLength"/> characters, stored verbatim.</param>
    public sealed record AddNote(string Text) : IncidentCommand;

    /// <summary>Add a follow-up action (any status).</summary>
    /// <param name="Text">What to do, at most <see cref="IncidentNames.MaxNoteLength"/> characters.</param>
    /// <param name="Owner">Who owns it, or null.</param>
    public sealed record AddFollowUp(string Text, string? Owner) : IncidentCommand;

    /// <summary>Short name for messages and the timeline: <c>ack</c>, <c>mitigate</c>, <c>resolve</c>, <c>close</c>, <c>sev</c>, <c>commander</c>, <c>note</c>, <c>follow-up</c>.</summary>
    public string Verb => this switch
    {
        Acknowledge => "ack",
        Mitigate => "mitigate",
        Resolve => "resolve",
        Close => "close",
        SetSeverity => "sev",
        AssignCommander => "commander",
        AddNote => "note",
        AddFollowUp => "follow-up",
        _ => "?",
    };
}

/// <summary>Who asked.</summary>
/// <param name="Name">Display form, e.g. <c>slack:U0123 (alice)</c>, <c>cli:alice</c>, <c>api</c>; at most <see cref="IncidentNames.MaxNameLength"/> characters.</param>
/// <param name="Source">Where from: <see cref="TimelineSources.Slack"/>, <see cref="TimelineSources.Api"/>, <see cref="TimelineSources.Cli"/> or <see cref="TimelineSources.Incident"/>.</param>
public sealed record IncidentActor(string Name, string Source);

/// <summary>Why a command was refused.</summary>
public enum IncidentError
{
    /// <summary>Not refused.</summary>
    None,

    /// <summary>No incident with this id (HTTP 404).</summary>
    NotFound,

    /// <summary>The transition is not allowed from the incident's status (HTTP 409).</summary>
    IllegalTransition,

    /// <summary>An argument is invalid or too long (HTTP 400); <see cref="IncidentCommandResult.Field"/> names it.</summary>
    Invalid,
}

/// <summary>The outcome of a command.</summary>
/// <param name="Incident">The incident after the command (or as it was, when refused); null when not found.</param>
/// <param name="Error">Why it was refused, or <see cref="IncidentError.None"/>.</param>
/// <param name="Reason">A sentence for the person: what happened or why it was refused.</param>
/// <param name="Field">The invalid argument's name, for <see cref="IncidentError.Invalid"/>.</param>
public sealed record IncidentCommandResult(Incident? Incident, IncidentError Error, string Reason, string? Field = null)
{
    /// <summary>True when the command was applied.</summary>
    public bool Ok => Error == IncidentError.None;
}

/// <summary>Everything about one incident, for the API, Slack and reports.</summary>
/// <param name="Incident">The record.</param>
/// <param name="Alerts">Its alerts.</param>
/// <param name="Timeline">Its timeline (own and related global events), sorted by time.</param>
/// <param name="FollowUps">Its follow-ups.</param>
public sealed record IncidentDetails(Incident Incident, IReadOnlyList<IncidentAlert> Alerts, IReadOnlyList<TimelineEvent> Timeline, IReadOnlyList<FollowUp> FollowUps);

/// <summary>Reads an incident's details and appends to its timeline (implemented by <see cref="IncidentService"/>; what report jobs need).</summary>
public interface IIncidentDetailsSource
{
    /// <summary>The incident with its alerts, timeline and follow-ups; null when unknown.</summary>
    Task<IncidentDetails?> GetDetailsAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>Appends a timeline event (stored once per dedup key); false when it was already there.</summary>
    Task<bool> RecordAsync(TimelineEvent timelineEvent, CancellationToken cancellationToken = default);
}
