using ExchangeHealth.Alerting.Tests.Notify;
using ExchangeHealth.Alerting.Tests.Silences;
using ExchangeHealth.Monitor.Storage;
using Npgsql;

namespace ExchangeHealth.Alerting.Tests.Ha;

/// <summary>Data sources of one fresh PostgreSQL database per test; every <see cref="Open"/> is a new "process".</summary>
internal sealed class PostgresTestDatabase : IDisposable
{
    private readonly List<NpgsqlDataSource> _sources = [];
    private readonly string _cs;

    public PostgresTestDatabase(MonitorPostgresFixture postgres) =>
        _cs = postgres.Server.CreateDatabaseAsync().GetAwaiter().GetResult();

    public MonitorDatabase Open()
    {
        var source = NpgsqlDataSource.Create(_cs);
        _sources.Add(source);
        return new MonitorDatabase(source, "postgresql://test");
    }

    public void Dispose()
    {
        foreach (var s in _sources) s.Dispose();
    }
}

/// <summary>The outbox contract (Notify/SqliteOutboxTests.cs) on PostgreSQL.</summary>
[Collection(MonitorPostgresCollection.Name)]
public sealed class PostgresOutboxTests : OutboxContract
{
    private readonly PostgresTestDatabase _db;
    private MonitorDatabase _current;

    public PostgresOutboxTests(MonitorPostgresFixture postgres)
    {
        _db = new PostgresTestDatabase(postgres);
        _current = _db.Open();
    }

    protected override MonitorDatabase Database => _current;

    protected override MonitorDatabase Reopen() => _current = _db.Open();

    public override void Dispose() => _db.Dispose();
}

/// <summary>The silence store contract (Silences/SilenceStoreTests.cs) on PostgreSQL.</summary>
[Collection(MonitorPostgresCollection.Name)]
public sealed class PostgresSilenceStoreTests(MonitorPostgresFixture postgres) : SilenceStoreContract
{
    private readonly PostgresTestDatabase _db = new(postgres);

    protected override MonitorDatabase OpenDatabase() => _db.Open();

    public override void Dispose() => _db.Dispose();
}
