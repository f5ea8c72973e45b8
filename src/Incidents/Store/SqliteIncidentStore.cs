using System.Data.Common;
using ExchangeHealth.Monitor.Storage;
using Microsoft.Data.Sqlite;

namespace ExchangeHealth.Incidents.Store;

/// <summary>
/// Incident records in one SQLite file (the embedded default, no set-up; by convention
/// <c>incidents.db</c> beside the monitor's database), through <see cref="MonitorDatabase"/>: WAL,
/// <c>synchronous=FULL</c>, foreign keys on. Every write and transaction runs inside the file's
/// in-process write lock (<see cref="MonitorDatabase.EnterWriteAsync"/>), as the monitor's other
/// stores do, so concurrent writers queue instead of meeting <c>SQLITE_BUSY</c>; migrations also
/// take SQLite's write lock (<c>BEGIN IMMEDIATE</c>) against other processes. Reads need no lock.
/// </summary>
/// <remarks>
/// Ids come from <c>INTEGER PRIMARY KEY AUTOINCREMENT</c>: they increase and are never reused.
/// The bundled SQLite (3.35.5) has <c>ON CONFLICT DO NOTHING</c>, <c>RETURNING</c> and partial
/// indexes, which the shared SQL of <see cref="SqlIncidentStore"/> uses.
/// </remarks>
public sealed class SqliteIncidentStore : SqlIncidentStore
{
    private readonly MonitorDatabase _db;

    /// <summary>A store over <paramref name="database"/> (not migrated yet: call <see cref="SqlIncidentStore.MigrateAsync"/>).</summary>
    /// <param name="database">The SQLite file; the caller keeps it (dispose only clears its idle pooled connections).</param>
    /// <param name="timeProvider">Clock for <see cref="Model.TimelineEvent.RecordedAt"/> and migration times; the system clock when null.</param>
    public SqliteIncidentStore(MonitorDatabase database, TimeProvider? timeProvider = null)
        : base(timeProvider)
    {
        ArgumentNullException.ThrowIfNull(database);
        _db = database;
    }

    /// <summary>A store over the SQLite file at <paramref name="path"/>, created (with its directory) when missing.</summary>
    /// <param name="path">File path, e.g. <c>data/incidents.db</c>.</param>
    /// <param name="timeProvider">Clock; the system clock when null.</param>
    /// <exception cref="SqliteException">The file cannot be opened or is not a SQLite database.</exception>
    public SqliteIncidentStore(string path, TimeProvider? timeProvider = null)
        : this(new MonitorDatabase(path), timeProvider)
    {
    }

    /// <summary>The database file.</summary>
    public MonitorDatabase Database => _db;

    /// <inheritdoc/>
    public override string Backend => "sqlite";

    private protected override string IdentityColumn => "INTEGER PRIMARY KEY AUTOINCREMENT";

    private protected override string SchemaMigrationsExistsSql => "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";

    private protected override ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new(_db.Open());
    }

    private protected override async ValueTask<IDisposable?> EnterWriteAsync(CancellationToken cancellationToken) =>
        await _db.EnterWriteAsync(cancellationToken).ConfigureAwait(false);

    // The in-process write lock is held and Microsoft.Data.Sqlite's BeginTransaction is BEGIN IMMEDIATE,
    // which takes the file's write lock against other processes.
    private protected override Task LockForMigrationAsync(DbConnection connection, DbTransaction transaction, CancellationToken cancellationToken) => Task.CompletedTask;

    private protected override StoreConstraint Classify(DbException exception)
    {
        // SQLITE_CONSTRAINT (19); SQLite names the violated index's columns or says FOREIGN KEY.
        if (exception is not SqliteException { SqliteErrorCode: 19 } e) return StoreConstraint.Other;
        if (e.Message.Contains("UNIQUE constraint failed: incidents.group_key", StringComparison.Ordinal)) return StoreConstraint.OpenGroupKey;
        if (e.Message.Contains("FOREIGN KEY constraint failed", StringComparison.Ordinal)) return StoreConstraint.ForeignKey;
        return StoreConstraint.Other;
    }

    /// <inheritdoc/>
    /// <remarks>Closes the file's idle pooled connections, so the file can be moved or deleted.</remarks>
    public override ValueTask DisposeAsync()
    {
        _db.ClearPool();
        return ValueTask.CompletedTask;
    }
}
