using ExchangeHealth.Incidents.Store;
using ExchangeHealth.Monitor.Storage;

namespace ExchangeHealth.Incidents.Tests.Store;

/// <summary>The store contract on SQLite: a fresh temporary file per test.</summary>
public sealed class SqliteIncidentStoreTests : IncidentStoreContract
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "exh-incidents-" + Guid.NewGuid().ToString("N"));
    protected override Task<string> CreateDatabaseAsync()
    {
        Directory.CreateDirectory(_directory);
        return Task.FromResult(Path.Combine(_directory, Guid.NewGuid().ToString("N")[..8] + "-incidents.db"));
    }

    protected override IIncidentStore NewStore(string database) => new SqliteIncidentStore(new MonitorDatabase(database), Clock);

    protected override async Task<long> ScalarAsync(string database, string sql)
    {
        await using var c = new MonitorDatabase(database).Open();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    protected override async Task ExecuteAsync(string database, string sql)
    {
        await using var c = new MonitorDatabase(database).Open();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync();
    }

    protected override Task CleanUpAsync()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Backend_is_sqlite_and_the_file_uses_WAL()
    {
        Assert.Equal("sqlite", Store.Backend);
        await using var c = new MonitorDatabase(Database).Open();
        await using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode";
        Assert.Equal("wal", (string?)await cmd.ExecuteScalarAsync());
    }
}
