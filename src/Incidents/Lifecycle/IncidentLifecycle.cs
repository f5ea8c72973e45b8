using System.Globalization;
using ExchangeHealth.Incidents.Model;

namespace ExchangeHealth.Incidents.Lifecycle;

/// <summary>
/// The incident state machine, as a pure function of (incident, command, time, actor):
/// <code>
/// triggered ──ack──▶ acknowledged ──mitigate──▶ mitigated ──resolve──▶ resolved ──close──▶ closed
///     │ └──────────mitigate──────────────────────▲    ▲                     ▲
///     └──────────────────────resolve─────────────┴────┴─────────────────────┘
/// </code>
/// Acknowledging a mitigated incident nobody acknowledged records who and when but keeps it
/// mitigated; acknowledging a resolved or closed incident is refused (a late acknowledgement never
/// re-opens it). Severity and commander change in every status but closed; notes and follow-ups
/// are accepted in every status. The automatic transitions (every alert resolved → mitigated; an
/// alert firing again → back to triggered or acknowledged) are in <see cref="IncidentService"/>.
/// </summary>
public static class IncidentLifecycle
{
    /// <summary>The outcome of <see cref="Apply"/>.</summary>
    /// <param name="Updated">The incident after the command; null when refused or when nothing on the record changes (notes, follow-ups, no-ops).</param>
    /// <param name="Error">Why it was refused.</param>
    /// <param name="Reason">A sentence for the person.</param>
    /// <param name="Kind">Timeline kind of the event to record, or null for none (refusals and no-ops).</param>
    /// <param name="Field">The invalid argument, for <see cref="IncidentError.Invalid"/>.</param>
    public readonly record struct Outcome(Incident? Updated, IncidentError Error, string Reason, string? Kind, string? Field = null);

    /// <summary>Applies <paramref name="command"/> to <paramref name="incident"/> at <paramref name="now"/>.</summary>
    /// <exception cref="ArgumentNullException">An argument is null.</exception>
    public static Outcome Apply(Incident incident, IncidentCommand command, DateTimeOffset now, IncidentActor actor)
    {
        ArgumentNullException.ThrowIfNull(incident);
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(actor);
        string n = "#" + incident.Id.ToString(CultureInfo.InvariantCulture);
        string status = IncidentNames.Format(incident.Status);
        var s = incident.Status;
        switch (command)
        {
            case IncidentCommand.Acknowledge:
                if (s is IncidentStatus.Resolved or IncidentStatus.Closed)
                    return Refuse($"incident {n} is {status}; an acknowledgement does not re-open it");
                if (incident.AcknowledgedAt is { } ackAt)
                    return Refuse($"incident {n} was already acknowledged by {incident.AcknowledgedBy} at {Time(ackAt)}");
                var acked = incident with { AcknowledgedAt = now, AcknowledgedBy = actor.Name, Status = s == IncidentStatus.Triggered ? IncidentStatus.Acknowledged : s };
                return Done(acked, s == IncidentStatus.Mitigated
                    ? $"incident {n} acknowledged by {actor.Name} (it stays mitigated)"
                    : $"incident {n} acknowledged by {actor.Name}", TimelineKinds.Acknowledged);

            case IncidentCommand.Mitigate:
                if (s is IncidentStatus.Mitigated or IncidentStatus.Resolved or IncidentStatus.Closed)
                    return Refuse($"incident {n} is already {status}");
                return Done(incident with { Status = IncidentStatus.Mitigated, MitigatedAt = now }, $"incident {n} mitigated by {actor.Name}", TimelineKinds.Mitigated);

            case IncidentCommand.Resolve:
                if (s is IncidentStatus.Resolved or IncidentStatus.Closed)
                    return Refuse($"incident {n} is already {status}");
                return Done(incident with { Status = IncidentStatus.Resolved, ResolvedAt = now, MitigatedAt = incident.MitigatedAt ?? now },
                    $"incident {n} resolved by {actor.Name}", TimelineKinds.Resolved);

            case IncidentCommand.Close:
                if (s == IncidentStatus.Closed) return Refuse($"incident {n} is already closed");
                if (s != IncidentStatus.Resolved) return Refuse($"incident {n} is {status}; resolve it before closing it");
                return Done(incident with { Status = IncidentStatus.Closed, ClosedAt = now }, $"incident {n} closed by {actor.Name}", TimelineKinds.Closed);

            case IncidentCommand.SetSeverity sev:
                if (!Enum.IsDefined(sev.Severity)) return Invalid("severity", "severity must be SEV1 to SEV4");
                if (s == IncidentStatus.Closed) return Refuse($"incident {n} is closed; its severity no longer changes");
                if (sev.Severity == incident.Severity)
                    return new Outcome(null, IncidentError.None, $"incident {n} is already {IncidentNames.Format(sev.Severity)}; unchanged", null);
                return Done(incident with { Severity = sev.Severity },
                    $"incident {n} severity changed from {IncidentNames.Format(incident.Severity)} to {IncidentNames.Format(sev.Severity)} by {actor.Name}",
                    TimelineKinds.SeverityChanged);

            case IncidentCommand.AssignCommander ic:
                if (string.IsNullOrWhiteSpace(ic.Commander)) return Invalid("commander", "commander is required");
                if (ic.Commander.Length > IncidentNames.MaxNameLength) return Invalid("commander", $"commander is longer than {IncidentNames.MaxNameLength} characters");
                if (s == IncidentStatus.Closed) return Refuse($"incident {n} is closed; its commander no longer changes");
                string commander = ic.Commander.Trim();
                if (commander == incident.Commander)
                    return new Outcome(null, IncidentError.None, $"{commander} is already the commander of incident {n}; unchanged", null);
                return Done(incident with { Commander = commander }, $"{commander} is now the incident commander of {n} (assigned by {actor.Name})", TimelineKinds.CommanderAssigned);

            case IncidentCommand.AddNote note:
                if (string.IsNullOrWhiteSpace(note.Text)) return Invalid("text", "a note needs text");
                if (note.Text.Length > IncidentNames.MaxNoteLength) return Invalid("text", $"a note is at most {IncidentNames.MaxNoteLength} characters (got {note.Text.Length})");
                return new Outcome(null, IncidentError.None, $"note added to incident {n}", TimelineKinds.Note);

            case IncidentCommand.AddFollowUp f:
                if (string.IsNullOrWhiteSpace(f.Text)) return Invalid("text", "a follow-up needs text");
                if (f.Text.Length > IncidentNames.MaxNoteLength) return Invalid("text", $"a follow-up is at most {IncidentNames.MaxNoteLength} characters (got {f.Text.Length})");
                if (f.Owner is { Length: > IncidentNames.MaxNameLength }) return Invalid("owner", $"owner is longer than {IncidentNames.MaxNameLength} characters");
                return new Outcome(null, IncidentError.None, $"follow-up added to incident {n}", TimelineKinds.FollowUpAdded);

            default:
                return Invalid("command", $"unknown command {command.GetType().Name}");
        }
    }

    /// <summary>Formats a time as the timeline shows it: <c>2026-11-21 03:14:07Z</c>.</summary>
    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static Outcome Done(Incident updated, string reason, string kind) => new(updated, IncidentError.None, reason, kind);

    private static Outcome Refuse(string reason) => new(null, IncidentError.IllegalTransition, reason, null);

    private static Outcome Invalid(string field, string reason) => new(null, IncidentError.Invalid, reason, null, field);
}
