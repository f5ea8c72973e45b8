using System.Data;
using System.Data.Common;
using System.Globalization;
using System.Text;
using ExchangeHealth.Incidents.Model;

namespace ExchangeHealth.Incidents.Store;

/// <summary>
/// The SQL shared by <see cref="SqliteIncidentStore"/> and <see cref="PostgresIncidentStore"/>: one
/// schema (<c>Store/Migrations.cs</c>), the same statements (named <c>@parameters</c>, which both
/// ADO.NET providers bind; no value is ever concatenated into SQL), the same encodings (times as
/// Unix microseconds, JSON text for lists and maps). The back ends differ only in how connections
/// are opened, how writers are serialized, how a migration is locked and how a constraint
/// violation is recognized.
/// </summary>
/// <remarks>
/// Thread-safe: every call opens its own (pooled) connection. Input is checked against
/// <see cref="IncidentStoreLimits"/> before anything is written (<see cref="ArgumentException"/>
/// naming the field). Times come back in UTC, truncated to the microsecond.
/// </remarks>
public abstract class SqlIncidentStore : IIncidentStore
{
    private const string OpenStatuses = "('triggered', 'acknowledged', 'mitigated')";

    private const string IncidentColumns = """
        id, title, severity, status, commander, markets, services, group_key, started_at, detected_at,
        acknowledged_at, acknowledged_by, mitigated_at, resolved_at, closed_at, page_channel, page_ts,
        slack_channel, slack_channel_name, created_at, updated_at, version
        """;

    private const string EventColumns = "id, incident_id, at, source, actor, kind, text, dedup_key, fingerprint, group_key, fields, recorded_at";

    private const string AlertColumns = "incident_id, fingerprint, alert_name, labels, annotations, starts_at, fired_at, ends_at, attached_at";

    private const string FollowUpColumns = "id, incident_id, text, owner, done, created_at, created_by";

    private const string InsertIncidentSql = """
        INSERT INTO incidents (title, severity, status, commander, markets, services, group_key, started_at, detected_at,
            acknowledged_at, acknowledged_by, mitigated_at, resolved_at, closed_at, page_channel, page_ts,
            slack_channel, slack_channel_name, created_at, updated_at, version)
        VALUES (@title, @severity, @status, @commander, @markets, @services, @group_key, @started_at, @detected_at,
            @acknowledged_at, @acknowledged_by, @mitigated_at, @resolved_at, @closed_at, @page_channel, @page_ts,
            @slack_channel, @slack_channel_name, @created_at, @updated_at, 1)
        RETURNING id
        """;

    private const string UpdateIncidentSql = """
        UPDATE incidents SET title = @title, severity = @severity, status = @status, commander = @commander,
            markets = @markets, services = @services, group_key = @group_key, started_at = @started_at,
            detected_at = @detected_at, acknowledged_at = @acknowledged_at, acknowledged_by = @acknowledged_by,
            mitigated_at = @mitigated_at, resolved_at = @resolved_at, closed_at = @closed_at,
            page_channel = @page_channel, page_ts = @page_ts, slack_channel = @slack_channel,
            slack_channel_name = @slack_channel_name, created_at = @created_at, updated_at = @updated_at,
            version = version + 1
        WHERE id = @id AND version = @version
        """;

    // An incident's event is stored only while the incident exists (incident_id 0, a global event, has
    // no row to point at, hence no foreign key); a duplicate (incident, dedup key) is skipped.
    private const string InsertEventSql = """
        INSERT INTO timeline_events (incident_id, at, source, actor, kind, text, dedup_key, fingerprint, group_key, fields, recorded_at)
        SELECT @incident_id, @at, @source, @actor, @kind, @text, @dedup_key, @fingerprint, @group_key, @fields, @recorded_at
        WHERE @incident_id = 0 OR EXISTS (SELECT 1 FROM incidents i WHERE i.id = @incident_id)
        ON CONFLICT (incident_id, dedup_key) DO NOTHING
        """;

    // The incident's own events at any time, plus global events (incident_id 0) in the window that
    // are about nothing in particular, about one of its alerts, or about its alert group. UNION
    // removes an event matched twice (by fingerprint and by group key).
    private const string TimelineSql = $"""
        SELECT {EventColumns} FROM timeline_events WHERE incident_id = @incident_id
        UNION
        SELECT {EventColumns} FROM timeline_events
        WHERE incident_id = 0 AND at BETWEEN @from AND @to AND fingerprint IS NULL AND group_key IS NULL
          AND EXISTS (SELECT 1 FROM incidents i WHERE i.id = @incident_id)
        UNION
        SELECT {EventColumns} FROM timeline_events
        WHERE incident_id = 0 AND at BETWEEN @from AND @to
          AND fingerprint IN (SELECT a.fingerprint FROM incident_alerts a WHERE a.incident_id = @incident_id)
        UNION
        SELECT {EventColumns} FROM timeline_events
        WHERE incident_id = 0 AND at BETWEEN @from AND @to
          AND group_key = (SELECT i.group_key FROM incidents i WHERE i.id = @incident_id)
        ORDER BY at, id
        """;

    private readonly TimeProvider _time;

    private protected SqlIncidentStore(TimeProvider? timeProvider) => _time = timeProvider ?? TimeProvider.System;

    /// <summary>The highest schema version this build knows (what <see cref="MigrateAsync"/> brings a database to).</summary>
    public static int LatestSchemaVersion => IncidentMigrations.Latest;

    /// <inheritdoc/>
    public abstract string Backend { get; }

    /// <summary>The column type of an identity primary key in this dialect.</summary>
    private protected abstract string IdentityColumn { get; }

    /// <summary>A query returning a non-zero number when the table <c>schema_migrations</c> exists.</summary>
    private protected abstract string SchemaMigrationsExistsSql { get; }

    /// <summary>An open connection (pooled).</summary>
    private protected abstract ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    /// <summary>Whatever serializes this back end's writers (SQLite: the file's in-process write lock); dispose to leave.</summary>
    private protected abstract ValueTask<IDisposable?> EnterWriteAsync(CancellationToken cancellationToken);

    /// <summary>Takes the lock that serializes migrations across processes, inside <paramref name="transaction"/>.</summary>
    private protected abstract Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken);

    /// <summary>Which of the schema's constraints <paramref name="exception"/> reports violated.</summary>
    private protected abstract StoreConstraint Classify(DbException exception);

    /// <inheritdoc/>
    public abstract ValueTask DisposeAsync();

    /// <inheritdoc/>
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        using var gate = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (c.ConfigureAwait(false))
        {
            var tx = await c.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await using (tx.ConfigureAwait(false))
            {
                await LockForMigrationAsync(c, tx, cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(c, tx, IncidentMigrations.SchemaMigrationsDdl, cancellationToken).ConfigureAwait(false);
                int current = await ReadVersionAsync(c, tx, cancellationToken).ConfigureAwait(false);
                if (current > IncidentMigrations.Latest)
                {
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                        $"the incident database ({Backend}) has schema version {current}, newer than version {IncidentMigrations.Latest}, the latest this build of ExchangeHealth knows: upgrade ExchangeHealth or use another database"));
                }
                foreach (var m in IncidentMigrations.All.Where(m => m.Version > current))
                {
                    await ExecuteAsync(c, tx, m.For(IdentityColumn), cancellationToken).ConfigureAwait(false);
                    var record = Command(c, "INSERT INTO schema_migrations (version, description, applied_at) VALUES (@version, @description, @applied_at)", tx);
                    await using (record.ConfigureAwait(false))
                    {
                        AddInt(record, "@version", m.Version);
                        Add(record, "@description", m.Description);
                        Add(record, "@applied_at", StoreCodec.ToMicros(_time.GetUtcNow()));
                        await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <inheritdoc/>
    public async Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken = default)
    {
        var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (c.ConfigureAwait(false))
        {
            var exists = Command(c, SchemaMigrationsExistsSql);
            await using (exists.ConfigureAwait(false))
            {
                object? n = await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
                if (Convert.ToInt64(n, CultureInfo.InvariantCulture) == 0) return 0;
            }
            return await ReadVersionAsync(c, null, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    /// <remarks>
    /// The given <see cref="Incident.Id"/> and <see cref="Incident.Version"/> are ignored. The result is
    /// what a read returns: times in UTC truncated to the microsecond, lists copied.
    /// </remarks>
    /// <exception cref="ArgumentException">A bound of <see cref="IncidentStoreLimits"/> is exceeded (the field is named).</exception>
    public async Task<Incident> CreateAsync(Incident incident, CancellationToken cancellationToken = default)
    {
        IncidentStoreLimits.Check(incident);
        var stored = Normalize(incident) with { Id = 0, Version = 1 };
        try
        {
            using var gate = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
            var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (c.ConfigureAwait(false))
            {
                var cmd = Command(c, InsertIncidentSql);
                await using (cmd.ConfigureAwait(false))
                {
                    BindIncident(cmd, stored);
                    return stored with { Id = await InsertReturningIdAsync(cmd, cancellationToken).ConfigureAwait(false) };
                }
            }
        }
        catch (DbException e) when (Classify(e) == StoreConstraint.OpenGroupKey)
        {
            throw new IncidentConflictException(incident.GroupKey ?? "", e);
        }
    }

    /// <inheritdoc/>
    public async Task<Incident?> GetAsync(long id, CancellationToken cancellationToken = default)
    {
        var list = await QueryAsync($"SELECT {IncidentColumns} FROM incidents WHERE id = @id", cmd => Add(cmd, "@id", id), ReadIncident, cancellationToken).ConfigureAwait(false);
        return list.Count == 0 ? null : list[0];
    }

    /// <inheritdoc/>
    public async Task<Incident?> FindOpenByGroupKeyAsync(string groupKey, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupKey);
        var list = await QueryAsync(
            $"SELECT {IncidentColumns} FROM incidents WHERE group_key = @group_key AND status IN {OpenStatuses}",
            cmd => Add(cmd, "@group_key", groupKey), ReadIncident, cancellationToken).ConfigureAwait(false);
        return list.Count == 0 ? null : list[0];
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="IncidentFilter.Limit"/> is not 1 to 1000 (parameter name <c>Limit</c>).</exception>
    public Task<IReadOnlyList<Incident>> ListAsync(IncidentFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        if (filter.Limit is < 1 or > 1000) throw new ArgumentOutOfRangeException(nameof(IncidentFilter.Limit), filter.Limit, "Limit must be 1 to 1000");
        ArgumentNullException.ThrowIfNull(filter.Statuses, nameof(IncidentFilter.Statuses));
        var statuses = filter.Statuses.Distinct().Select(IncidentNames.Format).ToArray();

        // Only parameter names are composed here; every value is bound.
        var sql = new StringBuilder($"SELECT {IncidentColumns} FROM incidents WHERE 1 = 1");
        if (statuses.Length > 0)
            sql.Append(" AND status IN (").AppendJoin(", ", statuses.Select((_, i) => "@status" + i.ToString(CultureInfo.InvariantCulture))).Append(')');
        if (filter.SlackChannel is not null) sql.Append(" AND (slack_channel = @channel OR page_channel = @channel)");
        if (filter.StartedSince is not null) sql.Append(" AND started_at >= @since");
        sql.Append(" ORDER BY id DESC LIMIT @limit");
        return QueryAsync(sql.ToString(), cmd =>
        {
            for (int i = 0; i < statuses.Length; i++) Add(cmd, "@status" + i.ToString(CultureInfo.InvariantCulture), statuses[i]);
            if (filter.SlackChannel is not null) Add(cmd, "@channel", filter.SlackChannel);
            if (filter.StartedSince is { } since) Add(cmd, "@since", StoreCodec.ToMicros(since));
            Add(cmd, "@limit", (long)filter.Limit);
        }, ReadIncident, cancellationToken);
    }

    /// <inheritdoc/>
    /// <exception cref="ArgumentException">A bound of <see cref="IncidentStoreLimits"/> is exceeded (the field is named).</exception>
    public async Task<bool> TryUpdateAsync(Incident incident, CancellationToken cancellationToken = default)
    {
        IncidentStoreLimits.Check(incident);
        var stored = Normalize(incident);
        try
        {
            using var gate = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
            var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (c.ConfigureAwait(false))
            {
                var cmd = Command(c, UpdateIncidentSql);
                await using (cmd.ConfigureAwait(false))
                {
                    BindIncident(cmd, stored);
                    Add(cmd, "@id", stored.Id);
                    Add(cmd, "@version", stored.Version);
                    return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
                }
            }
        }
        catch (DbException e) when (Classify(e) == StoreConstraint.OpenGroupKey)
        {
            throw new IncidentConflictException(incident.GroupKey ?? "", e);
        }
    }

    /// <inheritdoc/>
    /// <remarks><see cref="TimelineEvent.RecordedAt"/> is set from the store's clock; the given <see cref="TimelineEvent.Id"/> is ignored.</remarks>
    /// <exception cref="ArgumentException">No incident has <see cref="TimelineEvent.IncidentId"/>, or a bound is exceeded (the field is named).</exception>
    public async Task<bool> AppendEventAsync(TimelineEvent timelineEvent, CancellationToken cancellationToken = default)
    {
        IncidentStoreLimits.Check(timelineEvent);
        string fields = StoreCodec.ObjectJson(timelineEvent.Fields);
        long recordedAt = StoreCodec.ToMicros(_time.GetUtcNow());
        using var gate = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (c.ConfigureAwait(false))
        {
            var cmd = Command(c, InsertEventSql);
            await using (cmd.ConfigureAwait(false))
            {
                Add(cmd, "@incident_id", timelineEvent.IncidentId ?? 0);
                Add(cmd, "@at", StoreCodec.ToMicros(timelineEvent.At));
                Add(cmd, "@source", timelineEvent.Source);
                Add(cmd, "@actor", timelineEvent.Actor);
                Add(cmd, "@kind", timelineEvent.Kind);
                Add(cmd, "@text", timelineEvent.Text);
                Add(cmd, "@dedup_key", timelineEvent.DedupKey);
                Add(cmd, "@fingerprint", timelineEvent.Fingerprint);
                Add(cmd, "@group_key", timelineEvent.GroupKey);
                Add(cmd, "@fields", fields);
                Add(cmd, "@recorded_at", recordedAt);
                if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1) return true;
            }
            // Nothing stored: a duplicate, or an incident that does not exist (incidents are never deleted).
            if (timelineEvent.IncidentId is { } id)
            {
                var exists = Command(c, "SELECT COUNT(*) FROM incidents WHERE id = @id");
                await using (exists.ConfigureAwait(false))
                {
                    Add(exists, "@id", id);
                    if (Convert.ToInt64(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture) == 0)
                        throw UnknownIncident(nameof(TimelineEvent.IncidentId), id, null);
                }
            }
            return false;
        }
    }

    /// <inheritdoc/>
    /// <remarks>Empty for an unknown incident.</remarks>
    public Task<IReadOnlyList<TimelineEvent>> GetTimelineAsync(long incidentId, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default) =>
        QueryAsync(TimelineSql, cmd =>
        {
            Add(cmd, "@incident_id", incidentId);
            Add(cmd, "@from", StoreCodec.ToMicros(from));
            Add(cmd, "@to", StoreCodec.ToMicros(to));
        }, ReadEvent, cancellationToken);

    /// <inheritdoc/>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not 1 to <see cref="IncidentStoreLimits.MaxGlobalEvents"/>.</exception>
    public Task<IReadOnlyList<TimelineEvent>> GetGlobalEventsAsync(DateTimeOffset from, DateTimeOffset to, int limit = 1000, CancellationToken cancellationToken = default)
    {
        if (limit is < 1 or > IncidentStoreLimits.MaxGlobalEvents)
            throw new ArgumentOutOfRangeException(nameof(limit), limit, $"limit must be 1 to {IncidentStoreLimits.MaxGlobalEvents}");
        return QueryAsync(
            $"SELECT {EventColumns} FROM timeline_events WHERE incident_id = 0 AND at BETWEEN @from AND @to ORDER BY at, id LIMIT @limit",
            cmd =>
            {
                Add(cmd, "@from", StoreCodec.ToMicros(from));
                Add(cmd, "@to", StoreCodec.ToMicros(to));
                Add(cmd, "@limit", (long)limit);
            }, ReadEvent, cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<DateTimeOffset?> FirstGlobalEventAtAsync(string kind, IReadOnlyCollection<string> fingerprints, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(kind);
        ArgumentNullException.ThrowIfNull(fingerprints);
        if (fingerprints.Count == 0) return null;
        if (fingerprints.Count > IncidentStoreLimits.MaxFingerprintsPerQuery)
            throw IncidentStoreLimits.Invalid(nameof(fingerprints), $"at most {IncidentStoreLimits.MaxFingerprintsPerQuery} fingerprints per query");
        var names = fingerprints.Select((_, i) => "@f" + i.ToString(CultureInfo.InvariantCulture)).ToList();
        var rows = await QueryAsync(
            $"SELECT MIN(at) FROM timeline_events WHERE incident_id = 0 AND kind = @kind AND at BETWEEN @from AND @to AND fingerprint IN ({string.Join(", ", names)})",
            cmd =>
            {
                Add(cmd, "@kind", kind);
                Add(cmd, "@from", StoreCodec.ToMicros(from));
                Add(cmd, "@to", StoreCodec.ToMicros(to));
                int i = 0;
                foreach (string f in fingerprints) Add(cmd, names[i++], f);
            },
            r => r.IsDBNull(0) ? (DateTimeOffset?)null : StoreCodec.FromMicros(r.GetInt64(0)), cancellationToken).ConfigureAwait(false);
        return rows.Count == 0 ? null : rows[0];
    }

    /// <inheritdoc/>
    /// <remarks>
    /// An update replaces the alert name, labels, annotations and the start, fired and end times
    /// with the given ones (an end time of null means firing again); <see cref="IncidentAlert.AttachedAt"/>
    /// keeps its first value.
    /// </remarks>
    /// <exception cref="ArgumentException">No incident has <see cref="IncidentAlert.IncidentId"/>, or a bound is exceeded (the field is named).</exception>
    public async Task<bool> AttachAlertAsync(IncidentAlert alert, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(alert);
        string labels = StoreCodec.ObjectJson(alert.Labels ?? throw IncidentStoreLimits.Invalid(nameof(IncidentAlert.Labels), "is required"));
        string annotations = StoreCodec.ObjectJson(alert.Annotations ?? throw IncidentStoreLimits.Invalid(nameof(IncidentAlert.Annotations), "is required"));
        IncidentStoreLimits.Check(alert, labels, annotations);
        try
        {
            using var gate = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
            var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (c.ConfigureAwait(false))
            {
                var tx = await c.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
                await using (tx.ConfigureAwait(false))
                {
                    bool inserted;
                    var insert = Command(c, $"""
                        INSERT INTO incident_alerts ({AlertColumns})
                        VALUES (@incident_id, @fingerprint, @alert_name, @labels, @annotations, @starts_at, @fired_at, @ends_at, @attached_at)
                        ON CONFLICT (incident_id, fingerprint) DO NOTHING
                        """, tx);
                    await using (insert.ConfigureAwait(false))
                    {
                        BindAlert(insert, alert, labels, annotations);
                        Add(insert, "@attached_at", StoreCodec.ToMicros(alert.AttachedAt));
                        inserted = await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
                    }
                    if (!inserted)
                    {
                        var update = Command(c, """
                            UPDATE incident_alerts SET alert_name = @alert_name, labels = @labels, annotations = @annotations,
                                starts_at = @starts_at, fired_at = @fired_at, ends_at = @ends_at
                            WHERE incident_id = @incident_id AND fingerprint = @fingerprint
                            """, tx);
                        await using (update.ConfigureAwait(false))
                        {
                            BindAlert(update, alert, labels, annotations);
                            await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                        }
                    }
                    await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
                    return inserted;
                }
            }
        }
        catch (DbException e) when (Classify(e) == StoreConstraint.ForeignKey)
        {
            throw UnknownIncident(nameof(IncidentAlert.IncidentId), alert.IncidentId, e);
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<IncidentAlert>> GetAlertsAsync(long incidentId, CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {AlertColumns} FROM incident_alerts WHERE incident_id = @incident_id ORDER BY starts_at, fingerprint",
            cmd => Add(cmd, "@incident_id", incidentId), ReadAlert, cancellationToken);

    /// <inheritdoc/>
    /// <remarks>The given <see cref="FollowUp.Id"/> is ignored; <see cref="FollowUp.CreatedAt"/> is kept (to the microsecond).</remarks>
    /// <exception cref="ArgumentException">No incident has <see cref="FollowUp.IncidentId"/>, or a bound is exceeded (the field is named).</exception>
    public async Task<FollowUp> AddFollowUpAsync(FollowUp followUp, CancellationToken cancellationToken = default)
    {
        IncidentStoreLimits.Check(followUp);
        var stored = followUp with { Id = 0, CreatedAt = StoreCodec.Truncate(followUp.CreatedAt) };
        try
        {
            using var gate = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
            var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using (c.ConfigureAwait(false))
            {
                var cmd = Command(c, """
                    INSERT INTO follow_ups (incident_id, text, owner, done, created_at, created_by)
                    VALUES (@incident_id, @text, @owner, @done, @created_at, @created_by)
                    RETURNING id
                    """);
                await using (cmd.ConfigureAwait(false))
                {
                    Add(cmd, "@incident_id", stored.IncidentId);
                    Add(cmd, "@text", stored.Text);
                    Add(cmd, "@owner", stored.Owner);
                    AddInt(cmd, "@done", stored.Done ? 1 : 0);
                    Add(cmd, "@created_at", StoreCodec.ToMicros(stored.CreatedAt));
                    Add(cmd, "@created_by", stored.CreatedBy);
                    return stored with { Id = await InsertReturningIdAsync(cmd, cancellationToken).ConfigureAwait(false) };
                }
            }
        }
        catch (DbException e) when (Classify(e) == StoreConstraint.ForeignKey)
        {
            throw UnknownIncident(nameof(FollowUp.IncidentId), followUp.IncidentId, e);
        }
    }

    /// <inheritdoc/>
    public async Task<bool> SetFollowUpDoneAsync(long incidentId, long followUpId, bool done, CancellationToken cancellationToken = default)
    {
        using var gate = await EnterWriteAsync(cancellationToken).ConfigureAwait(false);
        var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (c.ConfigureAwait(false))
        {
            var cmd = Command(c, "UPDATE follow_ups SET done = @done WHERE id = @id AND incident_id = @incident_id");
            await using (cmd.ConfigureAwait(false))
            {
                AddInt(cmd, "@done", done ? 1 : 0);
                Add(cmd, "@id", followUpId);
                Add(cmd, "@incident_id", incidentId);
                return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
            }
        }
    }

    /// <inheritdoc/>
    public Task<IReadOnlyList<FollowUp>> GetFollowUpsAsync(long incidentId, CancellationToken cancellationToken = default) =>
        QueryAsync($"SELECT {FollowUpColumns} FROM follow_ups WHERE incident_id = @incident_id ORDER BY id",
            cmd => Add(cmd, "@incident_id", incidentId), ReadFollowUp, cancellationToken);

    /// <inheritdoc/>
    public async Task<IReadOnlyDictionary<IncidentSeverity, int>> CountOpenAsync(CancellationToken cancellationToken = default)
    {
        var rows = await QueryAsync($"SELECT severity, COUNT(*) FROM incidents WHERE status IN {OpenStatuses} GROUP BY severity",
            _ => { }, r => (Severity: (IncidentSeverity)r.GetInt32(0), Count: r.GetInt64(1)), cancellationToken).ConfigureAwait(false);
        var counts = Enum.GetValues<IncidentSeverity>().ToDictionary(s => s, _ => 0);
        foreach (var (severity, count) in rows) counts[severity] = checked((int)count);
        return counts;
    }

    private static Incident Normalize(Incident incident) => incident with
    {
        Markets = [.. incident.Markets],
        Services = [.. incident.Services],
        StartedAt = StoreCodec.Truncate(incident.StartedAt),
        DetectedAt = StoreCodec.Truncate(incident.DetectedAt),
        AcknowledgedAt = StoreCodec.Truncate(incident.AcknowledgedAt),
        MitigatedAt = StoreCodec.Truncate(incident.MitigatedAt),
        ResolvedAt = StoreCodec.Truncate(incident.ResolvedAt),
        ClosedAt = StoreCodec.Truncate(incident.ClosedAt),
        CreatedAt = StoreCodec.Truncate(incident.CreatedAt),
        UpdatedAt = StoreCodec.Truncate(incident.UpdatedAt),
    };

    private static ArgumentException UnknownIncident(string field, long id, Exception? inner) =>
        new(string.Create(CultureInfo.InvariantCulture, $"{field} {id}: no such incident"), field, inner);

    private static void BindIncident(DbCommand cmd, Incident i)
    {
        Add(cmd, "@title", i.Title);
        AddInt(cmd, "@severity", (int)i.Severity);
        Add(cmd, "@status", IncidentNames.Format(i.Status));
        Add(cmd, "@commander", i.Commander);
        Add(cmd, "@markets", StoreCodec.ArrayJson(i.Markets));
        Add(cmd, "@services", StoreCodec.ArrayJson(i.Services));
        Add(cmd, "@group_key", i.GroupKey);
        Add(cmd, "@started_at", StoreCodec.ToMicros(i.StartedAt));
        AddTime(cmd, "@detected_at", i.DetectedAt);
        AddTime(cmd, "@acknowledged_at", i.AcknowledgedAt);
        Add(cmd, "@acknowledged_by", i.AcknowledgedBy);
        AddTime(cmd, "@mitigated_at", i.MitigatedAt);
        AddTime(cmd, "@resolved_at", i.ResolvedAt);
        AddTime(cmd, "@closed_at", i.ClosedAt);
        Add(cmd, "@page_channel", i.PageChannel);
        Add(cmd, "@page_ts", i.PageTs);
        Add(cmd, "@slack_channel", i.SlackChannel);
        Add(cmd, "@slack_channel_name", i.SlackChannelName);
        Add(cmd, "@created_at", StoreCodec.ToMicros(i.CreatedAt));
        Add(cmd, "@updated_at", StoreCodec.ToMicros(i.UpdatedAt));
    }

    private static void BindAlert(DbCommand cmd, IncidentAlert a, string labels, string annotations)
    {
        Add(cmd, "@incident_id", a.IncidentId);
        Add(cmd, "@fingerprint", a.Fingerprint);
        Add(cmd, "@alert_name", a.AlertName);
        Add(cmd, "@labels", labels);
        Add(cmd, "@annotations", annotations);
        Add(cmd, "@starts_at", StoreCodec.ToMicros(a.StartsAt));
        AddTime(cmd, "@fired_at", a.FiredAt);
        AddTime(cmd, "@ends_at", a.EndsAt);
    }

    private static Incident ReadIncident(DbDataReader r) => new()
    {
        Id = r.GetInt64(0),
        Title = r.GetString(1),
        Severity = (IncidentSeverity)r.GetInt32(2),
        Status = IncidentNames.TryParseStatus(r.GetString(3), out var status) ? status : throw new InvalidDataException($"unknown incident status '{r.GetString(3)}' in the database"),
        Commander = Text(r, 4),
        Markets = StoreCodec.ReadArray(r.GetString(5)),
        Services = StoreCodec.ReadArray(r.GetString(6)),
        GroupKey = Text(r, 7),
        StartedAt = StoreCodec.FromMicros(r.GetInt64(8)),
        DetectedAt = Time(r, 9),
        AcknowledgedAt = Time(r, 10),
        AcknowledgedBy = Text(r, 11),
        MitigatedAt = Time(r, 12),
        ResolvedAt = Time(r, 13),
        ClosedAt = Time(r, 14),
        PageChannel = Text(r, 15),
        PageTs = Text(r, 16),
        SlackChannel = Text(r, 17),
        SlackChannelName = Text(r, 18),
        CreatedAt = StoreCodec.FromMicros(r.GetInt64(19)),
        UpdatedAt = StoreCodec.FromMicros(r.GetInt64(20)),
        Version = r.GetInt64(21),
    };

    private static TimelineEvent ReadEvent(DbDataReader r)
    {
        long incidentId = r.GetInt64(1);
        return new TimelineEvent
        {
            Id = r.GetInt64(0),
            IncidentId = incidentId == 0 ? null : incidentId,
            At = StoreCodec.FromMicros(r.GetInt64(2)),
            Source = r.GetString(3),
            Actor = r.GetString(4),
            Kind = r.GetString(5),
            Text = r.GetString(6),
            DedupKey = r.GetString(7),
            Fingerprint = Text(r, 8),
            GroupKey = Text(r, 9),
            Fields = StoreCodec.ReadObject(r.GetString(10)),
            RecordedAt = StoreCodec.FromMicros(r.GetInt64(11)),
        };
    }

    private static IncidentAlert ReadAlert(DbDataReader r) => new(
        r.GetInt64(0),
        r.GetString(1),
        r.GetString(2),
        StoreCodec.ReadLabels(r.GetString(3)),
        StoreCodec.ReadLabels(r.GetString(4)),
        StoreCodec.FromMicros(r.GetInt64(5)),
        Time(r, 6),
        Time(r, 7),
        StoreCodec.FromMicros(r.GetInt64(8)));

    private static FollowUp ReadFollowUp(DbDataReader r) => new(
        r.GetInt64(0),
        r.GetInt64(1),
        r.GetString(2),
        Text(r, 3),
        r.GetInt32(4) != 0,
        StoreCodec.FromMicros(r.GetInt64(5)),
        r.GetString(6));

    private static string? Text(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    private static DateTimeOffset? Time(DbDataReader r, int i) => r.IsDBNull(i) ? null : StoreCodec.FromMicros(r.GetInt64(i));

    private async Task<IReadOnlyList<T>> QueryAsync<T>(string sql, Action<DbCommand> bind, Func<DbDataReader, T> read, CancellationToken cancellationToken)
    {
        var c = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using (c.ConfigureAwait(false))
        {
            var cmd = Command(c, sql);
            await using (cmd.ConfigureAwait(false))
            {
                bind(cmd);
                var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                await using (r.ConfigureAwait(false))
                {
                    var list = new List<T>();
                    while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) list.Add(read(r));
                    return list;
                }
            }
        }
    }

    /// <summary>
    /// Runs an <c>INSERT ... RETURNING id</c> to its end and returns the id. Reading on after the row
    /// matters: SQLite checks foreign keys when the statement ends, so a reader dropped after the
    /// first row (as <c>ExecuteScalar</c> does) would leave a row pointing at no incident unreported.
    /// </summary>
    private static async Task<long> InsertReturningIdAsync(DbCommand cmd, CancellationToken cancellationToken)
    {
        var r = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await using (r.ConfigureAwait(false))
        {
            if (!await r.ReadAsync(cancellationToken).ConfigureAwait(false)) throw new InvalidOperationException("INSERT ... RETURNING id returned no row");
            long id = r.GetInt64(0);
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false)) { }
            while (await r.NextResultAsync(cancellationToken).ConfigureAwait(false)) { }
            return id;
        }
    }

    private static async Task<int> ReadVersionAsync(DbConnection c, DbTransaction? tx, CancellationToken cancellationToken)
    {
        var cmd = Command(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", tx);
        await using (cmd.ConfigureAwait(false))
        {
            return Convert.ToInt32(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), CultureInfo.InvariantCulture);
        }
    }

    private static async Task ExecuteAsync(DbConnection c, DbTransaction tx, string sql, CancellationToken cancellationToken)
    {
        var cmd = Command(c, sql, tx);
        await using (cmd.ConfigureAwait(false))
        {
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private protected static DbCommand Command(DbConnection c, string sql, DbTransaction? tx = null)
    {
        var cmd = c.CreateCommand();
#pragma warning disable CA2100 // SQL text is composed only of constants and parameter names; values are always bound
        cmd.CommandText = sql;
#pragma warning restore CA2100
        cmd.Transaction = tx;
        return cmd;
    }

    private protected static void Add(DbCommand cmd, string name, string? value) => AddParameter(cmd, name, value, DbType.String);

    private protected static void Add(DbCommand cmd, string name, long value) => AddParameter(cmd, name, value, DbType.Int64);

    private static void AddTime(DbCommand cmd, string name, DateTimeOffset? value) => AddParameter(cmd, name, StoreCodec.Micros(value), DbType.Int64);

    private static void AddInt(DbCommand cmd, string name, int value) => AddParameter(cmd, name, value, DbType.Int32);

    private static void AddParameter(DbCommand cmd, string name, object? value, DbType type)
    {
        var p = cmd.CreateParameter();
        p.ParameterName = name;
        p.DbType = type;
        p.Value = value ?? DBNull.Value;
        cmd.Parameters.Add(p);
    }
}

/// <summary>The schema constraints a store reacts to.</summary>
internal enum StoreConstraint
{
    /// <summary>Something else (rethrown as is).</summary>
    Other,

    /// <summary>The partial unique index <c>incidents_open_group_key</c>: a second open incident for an alert group.</summary>
    OpenGroupKey,

    /// <summary>A foreign key to <c>incidents(id)</c>: no such incident.</summary>
    ForeignKey,
}
