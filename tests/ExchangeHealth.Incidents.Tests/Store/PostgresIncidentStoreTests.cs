using ExchangeHealth.Incidents.Store;
using Npgsql;

namespace ExchangeHealth.Incidents.Tests.Store;

/// <summary>The store contract on a real PostgreSQL 15 server (one per run): a fresh database per test.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresIncidentStoreTests(PostgresFixture postgres) : IncidentStoreContract
{
    protected override Task<string> CreateDatabaseAsync() => postgres.Server.CreateDatabaseAsync();

    protected override IIncidentStore NewStore(string database) => new PostgresIncidentStore(database, Clock);

    protected override async Task<long> ScalarAsync(string database, string sql)
    {
        await using var c = new NpgsqlConnection(database + ";Pooling=false");
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        return Convert.ToInt64(await cmd.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    protected override async Task ExecuteAsync(string database, string sql)
    {
        await using var c = new NpgsqlConnection(database + ";Pooling=false");
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    protected override Task CleanUpAsync() => Task.CompletedTask;

    [Fact]
    public async Task Backend_is_postgresql_and_the_open_group_key_index_is_partial_and_unique()
    {
        Assert.Equal("postgresql", Store.Backend);
        await using var c = new NpgsqlConnection(Database + ";Pooling=false");
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT indexdef FROM pg_indexes WHERE indexname = 'incidents_open_group_key'", c);
        string def = (string)(await cmd.ExecuteScalarAsync())!;
        Assert.StartsWith("CREATE UNIQUE INDEX", def, StringComparison.Ordinal);
        Assert.Contains("WHERE", def, StringComparison.Ordinal);
    }
}
