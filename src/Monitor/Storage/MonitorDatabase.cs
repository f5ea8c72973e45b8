using Microsoft.Data.Sqlite;

namespace ExchangeHealth.Monitor.Storage;

/// <summary>
/// The monitor's embedded SQLite database (one file, WAL mode): alert state, silences, the
/// notification log, the outbox and Slack message references each keep their own tables here,
/// created by their stores through <see cref="EnsureSchema"/>. Open a connection per unit of work
/// (connections are pooled); writes from several threads are serialized by SQLite: a statement
/// that finds the database locked is retried by Microsoft.Data.Sqlite every 150 ms up to the
/// command timeout (30 s).
/// </summary>
/// <remarks>
/// SQLite's own busy timeout (<c>PRAGMA busy_timeout</c>) is deliberately 0: the bundled
/// e_sqlite3 (SQLitePCLRaw 2.0.6) is built without <c>HAVE_USLEEP</c>, so its busy handler sleeps
/// whole seconds: any lock contention stalled a writer for 1 s (measured: 1001-1011 ms for a lock
/// held 5-50 ms; 154-172 ms with Microsoft.Data.Sqlite's retry instead).
/// </remarks>
public sealed class MonitorDatabase
{
    private static readonly Lazy<bool> Initialized = new(() => { SQLitePCL.Batteries_V2.Init(); return true; });

    /// <summary>Opens (creating when missing) the database at <paramref name="path"/>; its directory is created too.</summary>
    /// <exception cref="SqliteException">The file cannot be opened or is not a SQLite database.</exception>
    public MonitorDatabase(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _ = Initialized.Value;
        Path = System.IO.Path.GetFullPath(path);
        string? dir = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        ConnectionString = new SqliteConnectionStringBuilder { DataSource = Path, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = true }.ToString();
        using var c = Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;";
        cmd.ExecuteNonQuery();
    }

    /// <summary>Full path of the database file.</summary>
    public string Path { get; }

    /// <summary>The connection string used by <see cref="Open"/>.</summary>
    public string ConnectionString { get; }

    /// <summary>Opens a new connection with foreign keys on; a busy database is retried every 150 ms (see remarks).</summary>
    public SqliteConnection Open()
    {
        var c = new SqliteConnection(ConnectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout=0; PRAGMA foreign_keys=ON;";
        cmd.ExecuteNonQuery();
        return c;
    }

    /// <summary>Runs idempotent DDL (<c>CREATE TABLE IF NOT EXISTS ...</c>) in one transaction.</summary>
    public void EnsureSchema(string ddl)
    {
        ArgumentException.ThrowIfNullOrEmpty(ddl);
        using var write = EnterWrite();
        using var c = Open();
        using var tx = c.BeginTransaction();
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = ddl;
        cmd.ExecuteNonQuery();
        tx.Commit();
    }

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, SemaphoreSlim> WriteGates = new(StringComparer.Ordinal);

    /// <summary>
    /// Enters this file's in-process write lock (one per database file, shared by every
    /// <see cref="MonitorDatabase"/> of that path). Every writer of the monitor database takes it
    /// around its write transaction, so writers queue here for microseconds instead of colliding in
    /// SQLite, whose lock waits are slow (150 ms retries, see the remarks) and whose deferred
    /// upgrades can fail outright. Reads need no lock (WAL). Dispose the result to leave.
    /// </summary>
    public async Task<IDisposable> EnterWriteAsync(CancellationToken cancellationToken = default)
    {
        var gate = WriteGates.GetOrAdd(Path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new WriteLock(gate);
    }

    /// <summary>Synchronous <see cref="EnterWriteAsync"/>.</summary>
    public IDisposable EnterWrite()
    {
        var gate = WriteGates.GetOrAdd(Path, _ => new SemaphoreSlim(1, 1));
        gate.Wait();
        return new WriteLock(gate);
    }

    private sealed class WriteLock(SemaphoreSlim gate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0) gate.Release();
        }
    }

    /// <summary>
    /// Closes this file's pooled connections (call when the owner shuts down): a pooled connection
    /// would otherwise keep the file open, and a database deleted and re-created at the same path
    /// would be served by connections to the deleted one.
    /// </summary>
    public void ClearPool()
    {
        using var c = new SqliteConnection(ConnectionString);
        SqliteConnection.ClearPool(c);
    }
}
