using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace ExchangeHealth.Monitor.Storage;

/// <summary>Which SQL engine a <see cref="MonitorDatabase"/> runs on.</summary>
public enum MonitorDatabaseDialect
{
    /// <summary>The embedded per-node SQLite file (the default).</summary>
    Sqlite,

    /// <summary>A PostgreSQL database shared by several monitor nodes (<c>EXH_MONITOR_POSTGRES</c>).</summary>
    Postgres,
}

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
/// <remarks>
/// On PostgreSQL (<see cref="MonitorDatabase(DbDataSource, string)"/>) the same stores keep the same
/// tables: their DDL is written for SQLite and translated by <see cref="EnsureSchema"/>
/// (<c>INTEGER PRIMARY KEY AUTOINCREMENT</c> becomes an identity column, <c>INTEGER</c>
/// <c>BIGINT</c>, <c>REAL</c> <c>DOUBLE PRECISION</c>) and run under a transaction-scoped advisory
/// lock, so nodes starting together create each table once. Statements use <c>@name</c>
/// parameters (both providers bind them) and <c>ON CONFLICT</c> (both dialects). Writers need no
/// in-process lock there (<see cref="EnterWriteAsync"/> returns at once): PostgreSQL's row locks decide.
/// </remarks>
public sealed class MonitorDatabase
{
    private static readonly Lazy<bool> Initialized = new(() => { SQLitePCL.Batteries_V2.Init(); return true; });

    /// <summary>Key of the advisory lock held while creating the monitor's tables on PostgreSQL (ASCII <c>EXHMON</c>, then 1).</summary>
    public const long SchemaLockKey = 0x4558_484D_4F4E_0001;

    private readonly DbDataSource? _dataSource;

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

    /// <summary>
    /// A monitor database on PostgreSQL, over <paramref name="dataSource"/> (e.g. an
    /// <c>NpgsqlDataSource</c>; the caller keeps and disposes it). Checks that the server answers.
    /// </summary>
    /// <param name="dataSource">The connection pool.</param>
    /// <param name="description">Where it is, without secrets (e.g. <c>postgresql://exh@db:5432/exh</c>); shown as <see cref="Path"/>.</param>
    /// <exception cref="DbException">The server cannot be reached or refuses the login.</exception>
    public MonitorDatabase(DbDataSource dataSource, string description)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        ArgumentException.ThrowIfNullOrEmpty(description);
        _dataSource = dataSource;
        Dialect = MonitorDatabaseDialect.Postgres;
        Path = description;
        ConnectionString = "";
        using var c = OpenConnection();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT 1";
        cmd.ExecuteScalar();
    }

    /// <summary>The SQL engine.</summary>
    public MonitorDatabaseDialect Dialect { get; }

    /// <summary>True on PostgreSQL: several monitor nodes share this database.</summary>
    public bool IsShared => Dialect == MonitorDatabaseDialect.Postgres;

    /// <summary>Full path of the database file (SQLite), or the description of the PostgreSQL database (no password).</summary>
    public string Path { get; }

    /// <summary>The connection string used by <see cref="Open"/> (SQLite); empty on PostgreSQL.</summary>
    public string ConnectionString { get; }

    /// <summary>Opens a new SQLite connection with foreign keys on; a busy database is retried every 150 ms (see remarks).</summary>
    /// <exception cref="InvalidOperationException">This database is on PostgreSQL (use <see cref="OpenConnection"/>).</exception>
    public SqliteConnection Open()
    {
        if (_dataSource is not null) throw new InvalidOperationException("the monitor database is on PostgreSQL: use OpenConnection()");
        var c = new SqliteConnection(ConnectionString);
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout=0; PRAGMA foreign_keys=ON;";
        cmd.ExecuteNonQuery();
        return c;
    }

    /// <summary>Opens a new connection of either dialect (SQLite: as <see cref="Open"/>; PostgreSQL: from the pool).</summary>
    public DbConnection OpenConnection() => _dataSource is null ? Open() : _dataSource.OpenConnection();

    /// <summary>Asynchronous <see cref="OpenConnection"/>.</summary>
    public async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken = default) =>
        _dataSource is null ? Open() : await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Runs idempotent DDL (<c>CREATE TABLE IF NOT EXISTS ...</c>, written for SQLite) in one
    /// transaction; on PostgreSQL translated (see the remarks of the class) and serialized across
    /// nodes by <c>pg_advisory_xact_lock(</c><see cref="SchemaLockKey"/><c>)</c>.
    /// </summary>
    public void EnsureSchema(string ddl)
    {
        ArgumentException.ThrowIfNullOrEmpty(ddl);
        using var write = EnterWrite();
        using var c = OpenConnection();
        using var tx = c.BeginTransaction();
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        if (IsShared)
        {
            cmd.CommandText = "SELECT pg_advisory_xact_lock(@key)";
            AddParameter(cmd, "@key", SchemaLockKey);
            cmd.ExecuteNonQuery();
            cmd.Parameters.Clear();
        }
        cmd.CommandText = IsShared ? TranslateDdl(ddl) : ddl;
        cmd.ExecuteNonQuery();
        tx.Commit();
    }

    /// <summary>SQLite DDL in PostgreSQL's words (identity column, 64-bit integers, doubles).</summary>
    internal static string TranslateDdl(string ddl) =>
        System.Text.RegularExpressions.Regex.Replace(
            ddl.Replace("INTEGER PRIMARY KEY AUTOINCREMENT", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", StringComparison.Ordinal),
            @"\b(INTEGER|REAL)\b",
            m => m.Value == "INTEGER" ? "BIGINT" : "DOUBLE PRECISION");

    /// <summary>
    /// Adds the parameter <paramref name="name"/> (<c>@name</c>) to <paramref name="command"/>:
    /// <see cref="DBNull"/> for null, typed as <paramref name="nullType"/> (PostgreSQL must know the
    /// type of a null parameter), otherwise typed by the value.
    /// </summary>
    public static DbParameter AddParameter(DbCommand command, string name, object? value, DbType nullType = DbType.String)
    {
        ArgumentNullException.ThrowIfNull(command);
        var p = command.CreateParameter();
        p.ParameterName = name;
        if (value is null or DBNull)
        {
            p.DbType = nullType;
            p.Value = DBNull.Value;
        }
        else
        {
            p.Value = value;
        }
        command.Parameters.Add(p);
        return p;
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
        if (IsShared) return NoLock.Instance;
        var gate = WriteGates.GetOrAdd(Path, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new WriteLock(gate);
    }

    /// <summary>Synchronous <see cref="EnterWriteAsync"/>.</summary>
    public IDisposable EnterWrite()
    {
        if (IsShared) return NoLock.Instance;
        var gate = WriteGates.GetOrAdd(Path, _ => new SemaphoreSlim(1, 1));
        gate.Wait();
        return new WriteLock(gate);
    }

    private sealed class NoLock : IDisposable
    {
        public static readonly NoLock Instance = new();

        public void Dispose()
        {
        }
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
        if (IsShared) return;
        using var c = new SqliteConnection(ConnectionString);
        SqliteConnection.ClearPool(c);
    }
}
