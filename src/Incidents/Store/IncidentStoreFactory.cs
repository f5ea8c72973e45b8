using System.Globalization;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ExchangeHealth.Incidents.Store;

/// <summary>Where incident records live.</summary>
public sealed record IncidentStoreOptions
{
    /// <summary>
    /// An Npgsql connection string (e.g. <c>Host=db.internal;Port=5432;Database=exh;Username=exh;Password=...</c>):
    /// when set, incidents are kept in PostgreSQL (what several monitor nodes share); when null or
    /// blank, in the SQLite file <see cref="SqlitePath"/>. It may hold a password: it is never logged.
    /// </summary>
    public string? PostgresConnectionString { get; init; }

    /// <summary>The SQLite file used when no PostgreSQL connection string is set; created with its directory when missing.</summary>
    public string SqlitePath { get; init; } = "incidents.db";

    /// <summary>True when <see cref="PostgresConnectionString"/> selects PostgreSQL.</summary>
    public bool UsesPostgres => !string.IsNullOrWhiteSpace(PostgresConnectionString);
}

/// <summary>Opens the configured <see cref="IIncidentStore"/> and brings its schema up to date.</summary>
public static class IncidentStoreFactory
{
    /// <summary>
    /// Opens <see cref="PostgresIncidentStore"/> when <see cref="IncidentStoreOptions.PostgresConnectionString"/>
    /// is set, else <see cref="SqliteIncidentStore"/> on <see cref="IncidentStoreOptions.SqlitePath"/>, then runs
    /// <see cref="IIncidentStore.MigrateAsync"/>. Logs one line naming the back end and where it is
    /// (<see cref="Describe"/>: never the password).
    /// </summary>
    /// <param name="options">Where.</param>
    /// <param name="timeProvider">The store's clock; the system clock when null.</param>
    /// <param name="logger">Receives the "incident store: ..." line; none when null.</param>
    /// <param name="cancellationToken">Cancels opening and migrating.</param>
    /// <returns>The migrated store; the caller disposes it.</returns>
    /// <exception cref="ArgumentException">The connection string is malformed, or <see cref="IncidentStoreOptions.SqlitePath"/> is empty without one.</exception>
    /// <exception cref="InvalidOperationException">The database has a newer schema than this build knows.</exception>
    /// <exception cref="System.Data.Common.DbException">The database cannot be reached or used.</exception>
    public static async Task<IIncidentStore> OpenAsync(
        IncidentStoreOptions options, TimeProvider? timeProvider = null, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        string where = Describe(options);
        IIncidentStore store;
        if (options.UsesPostgres)
        {
            store = new PostgresIncidentStore(options.PostgresConnectionString!, timeProvider);
        }
        else
        {
            if (string.IsNullOrWhiteSpace(options.SqlitePath))
                throw new ArgumentException("SqlitePath is required when no PostgreSQL connection string is set", nameof(options));
            store = new SqliteIncidentStore(options.SqlitePath, timeProvider);
        }
        try
        {
            await store.MigrateAsync(cancellationToken).ConfigureAwait(false);
            if (logger is not null && logger.IsEnabled(LogLevel.Information))
            {
                int version = await store.GetSchemaVersionAsync(cancellationToken).ConfigureAwait(false);
                logger.LogInformation("incident store: {Where}, schema version {Version}", where, version);
            }
            return store;
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Where <paramref name="options"/> point, for logs and <c>exh</c> output, without secrets:
    /// <c>postgresql://user@host:port/database</c> (no password, no other settings) or
    /// <c>sqlite:/full/path/incidents.db</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The connection string is malformed.</exception>
    public static string Describe(IncidentStoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.UsesPostgres) return "sqlite:" + Path.GetFullPath(string.IsNullOrWhiteSpace(options.SqlitePath) ? "." : options.SqlitePath);
        var b = new NpgsqlConnectionStringBuilder(options.PostgresConnectionString);
        string user = string.IsNullOrEmpty(b.Username) ? "" : b.Username + "@";
        string host = string.IsNullOrEmpty(b.Host) ? "localhost" : b.Host;
        return string.Create(CultureInfo.InvariantCulture, $"postgresql://{user}{host}:{b.Port}/{b.Database ?? b.Username ?? ""}");
    }
}
