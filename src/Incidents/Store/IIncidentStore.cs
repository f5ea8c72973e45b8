using ExchangeHealth.Incidents.Model;

namespace ExchangeHealth.Incidents.Store;

/// <summary>What <see cref="IIncidentStore.ListAsync"/> returns.</summary>
public sealed record IncidentFilter
{
    /// <summary>Only these statuses; empty for all.</summary>
    public IReadOnlyList<IncidentStatus> Statuses { get; init; } = [];

    /// <summary>Only the incident whose own Slack channel (<see cref="Incident.SlackChannel"/>) or page channel is this ID; null for any.</summary>
    public string? SlackChannel { get; init; }

    /// <summary>Only incidents started at or after this time; null for any.</summary>
    public DateTimeOffset? StartedSince { get; init; }

    /// <summary>At most this many, newest (highest id) first; 1 to 1000.</summary>
    public int Limit { get; init; } = 100;

    /// <summary>Open incidents (triggered, acknowledged, mitigated).</summary>
    public static IncidentFilter Open { get; } = new() { Statuses = [IncidentStatus.Triggered, IncidentStatus.Acknowledged, IncidentStatus.Mitigated] };
}

/// <summary>
/// Durable incident records, alerts, follow-ups and timeline events. Two implementations run the
/// same test suite: SQLite (the embedded default, one file) and PostgreSQL (several monitor
/// nodes). Every statement is parameterized; text is stored verbatim.
/// </summary>
/// <remarks>
/// Concurrency: incidents are updated optimistically (<see cref="TryUpdateAsync"/> compares
/// <see cref="Incident.Version"/>); at most one open incident holds a group key (a unique index
/// over open incidents), so two nodes paging for the same group create one incident.
/// Implementations are thread-safe.
/// </remarks>
public interface IIncidentStore : IAsyncDisposable
{
    /// <summary><c>sqlite</c> or <c>postgresql</c>.</summary>
    string Backend { get; }

    /// <summary>
    /// Creates or upgrades the schema by applying the versioned migrations not applied yet (table
    /// <c>schema_migrations</c>). Idempotent; safe when two processes migrate at once.
    /// </summary>
    /// <exception cref="InvalidOperationException">The database has a newer schema version than this build knows.</exception>
    Task MigrateAsync(CancellationToken cancellationToken = default);

    /// <summary>The highest migration version applied (0 for an empty database).</summary>
    Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Stores a new incident; returns it with <see cref="Incident.Id"/> assigned and
    /// <see cref="Incident.Version"/> 1. <see cref="Incident.CreatedAt"/> and <see cref="Incident.UpdatedAt"/> are taken as given.
    /// </summary>
    /// <exception cref="IncidentConflictException">An open incident already holds <see cref="Incident.GroupKey"/>.</exception>
    Task<Incident> CreateAsync(Incident incident, CancellationToken cancellationToken = default);

    /// <summary>The incident, or null.</summary>
    Task<Incident?> GetAsync(long id, CancellationToken cancellationToken = default);

    /// <summary>The open incident holding <paramref name="groupKey"/>, or null.</summary>
    Task<Incident?> FindOpenByGroupKeyAsync(string groupKey, CancellationToken cancellationToken = default);

    /// <summary>Incidents matching <paramref name="filter"/>, newest first.</summary>
    Task<IReadOnlyList<Incident>> ListAsync(IncidentFilter filter, CancellationToken cancellationToken = default);

    /// <summary>
    /// Replaces every field of the stored incident with <paramref name="incident"/>'s, when its stored
    /// version still equals <paramref name="incident"/>.<see cref="Incident.Version"/>; the stored version
    /// becomes that plus one. False when the version moved on (reload and retry) or the id is unknown.
    /// </summary>
    /// <exception cref="IncidentConflictException">The change would give a second open incident the same group key.</exception>
    Task<bool> TryUpdateAsync(Incident incident, CancellationToken cancellationToken = default);

    /// <summary>Stores a timeline event; false (nothing stored) when (incident or global, dedup key) is already there.</summary>
    Task<bool> AppendEventAsync(TimelineEvent timelineEvent, CancellationToken cancellationToken = default);

    /// <summary>
    /// The incident's timeline between <paramref name="from"/> and <paramref name="to"/> inclusive:
    /// its own events (any time) plus the global events in the window that have neither
    /// fingerprint nor group key, or whose fingerprint is one of its alerts', or whose group key is
    /// its group key. Sorted by <see cref="TimelineEvent.At"/>, then by id.
    /// </summary>
    Task<IReadOnlyList<TimelineEvent>> GetTimelineAsync(long incidentId, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default);

    /// <summary>Global events (incident id null) in [from, to], sorted; at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<TimelineEvent>> GetGlobalEventsAsync(DateTimeOffset from, DateTimeOffset to, int limit = 1000, CancellationToken cancellationToken = default);

    /// <summary>
    /// When the first global event of <paramref name="kind"/> about one of <paramref name="fingerprints"/>
    /// happened in [from, to]; null when none did. One indexed query (the lifecycle asks it when a
    /// page opens an incident: when did its alerts go pending).
    /// </summary>
    /// <exception cref="ArgumentException">More than <see cref="IncidentStoreLimits.MaxFingerprintsPerQuery"/> fingerprints.</exception>
    Task<DateTimeOffset?> FirstGlobalEventAtAsync(string kind, IReadOnlyCollection<string> fingerprints, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default);

    /// <summary>Links an alert to an incident, or updates the link (labels, annotations, fired/ends times); true when it is new.</summary>
    Task<bool> AttachAlertAsync(IncidentAlert alert, CancellationToken cancellationToken = default);

    /// <summary>The incident's alerts, ordered by start time then fingerprint.</summary>
    Task<IReadOnlyList<IncidentAlert>> GetAlertsAsync(long incidentId, CancellationToken cancellationToken = default);

    /// <summary>Adds a follow-up; returns it with its id.</summary>
    Task<FollowUp> AddFollowUpAsync(FollowUp followUp, CancellationToken cancellationToken = default);

    /// <summary>Marks a follow-up done or not; false when (incident, follow-up) is unknown.</summary>
    Task<bool> SetFollowUpDoneAsync(long incidentId, long followUpId, bool done, CancellationToken cancellationToken = default);

    /// <summary>The incident's follow-ups by id.</summary>
    Task<IReadOnlyList<FollowUp>> GetFollowUpsAsync(long incidentId, CancellationToken cancellationToken = default);

    /// <summary>Open incidents per severity (every severity present, zero included).</summary>
    Task<IReadOnlyDictionary<IncidentSeverity, int>> CountOpenAsync(CancellationToken cancellationToken = default);
}

/// <summary>A second open incident for the same alert group.</summary>
public sealed class IncidentConflictException : Exception
{
    /// <summary>Creates the exception.</summary>
    public IncidentConflictException(string groupKey, Exception? inner = null)
        : base($"an open incident already exists for alert group {groupKey}", inner) => GroupKey = groupKey;

    /// <summary>The contested group key.</summary>
    public string GroupKey { get; }
}
