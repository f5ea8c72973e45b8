namespace ExchangeHealth.Alerting.Tests.Ha;

/// <summary>Every Alerting test class that needs PostgreSQL joins this collection: one real server per test run.</summary>
[CollectionDefinition(Name)]
public sealed class MonitorPostgresCollection : ICollectionFixture<MonitorPostgresFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Monitor PostgreSQL server";
}

/// <summary>
/// One throwaway PostgreSQL 15 server (<see cref="PostgresServer"/>) for the collection; each test
/// takes a fresh database. Without the PostgreSQL binaries the tests fail with the server's
/// "apt-get install -y postgresql" message (never skipped).
/// </summary>
public sealed class MonitorPostgresFixture : IAsyncLifetime
{
    private PostgresServer? _server;

    /// <summary>The running server.</summary>
    public PostgresServer Server => _server ?? throw new InvalidOperationException("the PostgreSQL server did not start");

    /// <inheritdoc/>
    public async Task InitializeAsync() => _server = await PostgresServer.StartAsync();

    /// <inheritdoc/>
    public async Task DisposeAsync()
    {
        if (_server is not null) await _server.DisposeAsync();
    }
}
