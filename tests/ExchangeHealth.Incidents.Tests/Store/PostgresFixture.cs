using ExchangeHealth.Chaos.Platform;

namespace ExchangeHealth.Incidents.Tests.Store;

/// <summary>Every test class that needs PostgreSQL joins this collection: one real server per test run.</summary>
[CollectionDefinition(Name)]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "PostgreSQL server";
}

/// <summary>
/// Starts one throwaway PostgreSQL 15 server (TestKit <see cref="PostgresServer"/>) for the
/// collection and stops it at the end. Without the PostgreSQL binaries every test of the collection
/// fails with the message "... apt-get install -y postgresql ..." (never skipped).
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
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
