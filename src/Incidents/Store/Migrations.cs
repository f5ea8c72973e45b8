namespace ExchangeHealth.Incidents.Store;

/// <summary>One schema change: applied once, in version order, and recorded in <c>schema_migrations</c>.</summary>
/// <param name="Version">1, 2, 3, ... (no gaps).</param>
/// <param name="Description">One line for <c>schema_migrations.description</c>.</param>
/// <param name="Ddl">
/// Statements separated by semicolons, the same for both back ends except the tokens
/// <see cref="IncidentMigrations.IdentityToken"/> (an auto-assigned, never reused 64-bit primary key),
/// replaced per dialect.
/// </param>
internal sealed record Migration(int Version, string Description, string Ddl)
{
    /// <summary>The DDL for a back end: <paramref name="identityColumn"/> replaces the identity token.</summary>
    public string For(string identityColumn) => Ddl.Replace(IncidentMigrations.IdentityToken, identityColumn, StringComparison.Ordinal);
}

/// <summary>
/// The incident schema, in one place: every version, in order. SQLite and PostgreSQL run the same
/// DDL (only the identity column differs), so ordering and equality are identical in both:
/// times are BIGINT Unix microseconds (UTC); statuses are the lowercase names of
/// <see cref="Model.IncidentNames.Format(Model.IncidentStatus)"/>; severities the integers 1-4;
/// lists, labels and event fields are JSON text.
/// </summary>
/// <remarks>
/// To change the schema, append a migration (never edit an applied one): a database records the
/// versions it has in <c>schema_migrations</c>, and a database with a version newer than
/// <see cref="Latest"/> is refused.
/// </remarks>
internal static class IncidentMigrations
{
    /// <summary>Replaced by the dialect's identity primary key column type.</summary>
    public const string IdentityToken = "{identity}";

    /// <summary>The bookkeeping table, created before any migration runs (the same in both dialects).</summary>
    public const string SchemaMigrationsDdl = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version      INTEGER PRIMARY KEY,
            description  TEXT    NOT NULL,
            applied_at   BIGINT  NOT NULL    -- Unix microseconds, UTC
        )
        """;

    /// <summary>Every migration, in version order.</summary>
    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "incidents, alerts, follow-ups, timeline events", """
            CREATE TABLE incidents (
                id                  {identity},
                title               TEXT    NOT NULL,
                severity            INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 4),
                status              TEXT    NOT NULL CHECK (status IN ('triggered', 'acknowledged', 'mitigated', 'resolved', 'closed')),
                commander           TEXT,
                markets             TEXT    NOT NULL,   -- JSON array of strings
                services            TEXT    NOT NULL,   -- JSON array of strings
                group_key           TEXT,               -- alert group (dispatcher aggregation group); NULL when declared by hand
                started_at          BIGINT  NOT NULL,   -- Unix microseconds, UTC (every *_at column)
                detected_at         BIGINT,
                acknowledged_at     BIGINT,
                acknowledged_by     TEXT,
                mitigated_at        BIGINT,
                resolved_at         BIGINT,
                closed_at           BIGINT,
                page_channel        TEXT,
                page_ts             TEXT,
                slack_channel       TEXT,
                slack_channel_name  TEXT,
                created_at          BIGINT  NOT NULL,
                updated_at          BIGINT  NOT NULL,
                version             BIGINT  NOT NULL    -- optimistic concurrency: 1, then +1 per update
            );
            -- At most one open incident per alert group: two nodes paging for one group create one incident.
            CREATE UNIQUE INDEX incidents_open_group_key ON incidents (group_key)
                WHERE status IN ('triggered', 'acknowledged', 'mitigated');
            CREATE INDEX incidents_status ON incidents (status, severity);
            CREATE INDEX incidents_slack_channel ON incidents (slack_channel);
            CREATE INDEX incidents_page_channel ON incidents (page_channel);

            CREATE TABLE incident_alerts (
                incident_id  BIGINT  NOT NULL REFERENCES incidents (id),
                fingerprint  TEXT    NOT NULL,          -- 16 hex digits (Alertmanager fingerprint)
                alert_name   TEXT    NOT NULL,
                labels       TEXT    NOT NULL,          -- JSON object, names sorted
                annotations  TEXT    NOT NULL,          -- JSON object, names sorted
                starts_at    BIGINT  NOT NULL,
                fired_at     BIGINT,
                ends_at      BIGINT,
                attached_at  BIGINT  NOT NULL,
                PRIMARY KEY (incident_id, fingerprint)
            );
            CREATE INDEX incident_alerts_fingerprint ON incident_alerts (fingerprint);

            CREATE TABLE follow_ups (
                id           {identity},
                incident_id  BIGINT  NOT NULL REFERENCES incidents (id),
                text         TEXT    NOT NULL,
                owner        TEXT,
                done         INTEGER NOT NULL DEFAULT 0 CHECK (done IN (0, 1)),
                created_at   BIGINT  NOT NULL,
                created_by   TEXT    NOT NULL
            );
            CREATE INDEX follow_ups_incident ON follow_ups (incident_id, id);

            CREATE TABLE timeline_events (
                id           {identity},
                incident_id  BIGINT  NOT NULL DEFAULT 0,    -- 0: a global event (TimelineEvent.IncidentId null)
                at           BIGINT  NOT NULL,              -- when it happened
                source       TEXT    NOT NULL,
                actor        TEXT    NOT NULL,
                kind         TEXT    NOT NULL,
                text         TEXT    NOT NULL,
                dedup_key    TEXT    NOT NULL,
                fingerprint  TEXT,
                group_key    TEXT,
                fields       TEXT    NOT NULL,              -- JSON object of strings
                recorded_at  BIGINT  NOT NULL,              -- when it was stored
                UNIQUE (incident_id, dedup_key)             -- the same event twice is stored once
            );
            -- An incident's own events, and global events (incident_id 0) by time.
            CREATE INDEX timeline_events_incident_at ON timeline_events (incident_id, at);
            -- Global events about one of an incident's alerts, or about its alert group.
            CREATE INDEX timeline_events_fingerprint ON timeline_events (fingerprint, at) WHERE incident_id = 0;
            CREATE INDEX timeline_events_group_key ON timeline_events (group_key, at) WHERE incident_id = 0
            """),
    ];

    /// <summary>The highest version this build knows.</summary>
    public static int Latest => All[^1].Version;
}
