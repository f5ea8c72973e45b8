using System.Diagnostics;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Store;
using ExchangeHealth.Chaos.Platform;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace ExchangeHealth.Incidents.Tests.Store;

/// <summary>Collects formatted log lines.</summary>
internal sealed class ListLogger : ILogger
{
    public List<string> Lines { get; } = [];

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Lines) Lines.Add(formatter(state, exception));
    }
}

public sealed class SqliteIncidentStoreFactoryTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "exh-incidents-factory-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Without_a_connection_string_the_factory_opens_a_migrated_sqlite_file_creating_its_directory()
    {
        string path = Path.Combine(_directory, "data", "incidents.db");
        var log = new ListLogger();

        await using (var store = await IncidentStoreFactory.OpenAsync(new IncidentStoreOptions { SqlitePath = path, PostgresConnectionString = "  " }, logger: log))
        {
            Assert.Equal("sqlite", store.Backend);
            Assert.IsType<SqliteIncidentStore>(store);
            Assert.Equal(SqlIncidentStore.LatestSchemaVersion, await store.GetSchemaVersionAsync());
            await store.CreateAsync(new Incident { Title = "kept", StartedAt = DateTimeOffset.UnixEpoch });
        }

        Assert.True(File.Exists(path));
        Assert.Equal("incident store: sqlite:" + path + ", schema version " + SqlIncidentStore.LatestSchemaVersion, Assert.Single(log.Lines));
        await using var again = await IncidentStoreFactory.OpenAsync(new IncidentStoreOptions { SqlitePath = path });
        Assert.Equal("kept", Assert.Single(await again.ListAsync(new IncidentFilter())).Title);
    }

    [Fact]
    public async Task The_factory_refuses_a_database_from_a_newer_build()
    {
        string path = Path.Combine(_directory, "incidents.db");
        await using (var store = new SqliteIncidentStore(path))
        {
            await store.MigrateAsync();
        }
        await using (var c = new ExchangeHealth.Monitor.Storage.MonitorDatabase(path).Open())
        await using (var cmd = c.CreateCommand())
        {
            cmd.CommandText = "INSERT INTO schema_migrations (version, description, applied_at) VALUES (1000, 'future', 0)";
            await cmd.ExecuteNonQueryAsync();
        }

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => IncidentStoreFactory.OpenAsync(new IncidentStoreOptions { SqlitePath = path }));
        Assert.Contains("version 1000", e.Message, StringComparison.Ordinal);
    }
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresIncidentStoreFactoryTests(PostgresFixture postgres)
{
    [Fact]
    public async Task With_a_connection_string_the_factory_opens_migrated_postgresql_and_never_logs_the_password()
    {
        string database = await postgres.Server.CreateDatabaseAsync();
        // trust authentication ignores the password, which lets the test give one and look for it.
        string withPassword = new NpgsqlConnectionStringBuilder(database) { Password = "s3cret-Pa55" }.ConnectionString;
        var log = new ListLogger();
        var options = new IncidentStoreOptions { PostgresConnectionString = withPassword, SqlitePath = "/nonexistent/never-used.db" };

        await using var store = await IncidentStoreFactory.OpenAsync(options, logger: log);

        Assert.Equal("postgresql", store.Backend);
        Assert.IsType<PostgresIncidentStore>(store);
        Assert.Equal(SqlIncidentStore.LatestSchemaVersion, await store.GetSchemaVersionAsync());
        string db = new NpgsqlConnectionStringBuilder(database).Database!;
        string where = $"postgresql://postgres@127.0.0.1:{postgres.Server.Port}/{db}";
        Assert.Equal(where, IncidentStoreFactory.Describe(options));
        Assert.Equal($"incident store: {where}, schema version {SqlIncidentStore.LatestSchemaVersion}", Assert.Single(log.Lines));
        Assert.DoesNotContain("s3cret", IncidentStoreFactory.Describe(options), StringComparison.Ordinal);
        Assert.False(File.Exists("/nonexistent/never-used.db"));
    }

    [Fact]
    public async Task An_unreachable_server_fails_the_open_without_the_password_in_the_error()
    {
        int closedPort = LoopbackPort.Free();
        var options = new IncidentStoreOptions
        {
            PostgresConnectionString = $"Host=127.0.0.1;Port={closedPort};Username=exh;Password=s3cret-Pa55;Database=exh;Timeout=3",
        };

        var e = await Assert.ThrowsAnyAsync<Exception>(() => IncidentStoreFactory.OpenAsync(options));

        Assert.IsAssignableFrom<System.Data.Common.DbException>(e);
        Assert.DoesNotContain("s3cret", e.ToString(), StringComparison.Ordinal);
    }
}

/// <summary>The TestKit fixture itself: a real server that goes away completely when disposed.</summary>
public sealed class PostgresServerTests
{
    [Fact]
    public async Task A_server_serves_isolated_databases_on_127_0_0_1_and_dispose_stops_it_and_deletes_its_directory()
    {
        var server = await PostgresServer.StartAsync();
        string directory = server.Directory;
        int pid = server.Pid;
        try
        {
            string a = await server.CreateDatabaseAsync("db_a");
            string b = await server.CreateDatabaseAsync();
            await using (var c = new NpgsqlConnection(a + ";Pooling=false"))
            {
                await c.OpenAsync();
                await using var cmd = new NpgsqlCommand("CREATE TABLE t (x int); SELECT inet_server_addr()::text, current_setting('server_version_num')::int / 10000", c);
                await using var r = await cmd.ExecuteReaderAsync();
                Assert.True(await r.ReadAsync());
                Assert.Equal("127.0.0.1/32", r.GetString(0));
                Assert.Equal(15, r.GetInt32(1));
            }
            await using (var c = new NpgsqlConnection(b + ";Pooling=false"))
            {
                await c.OpenAsync();
                await using var cmd = new NpgsqlCommand("SELECT to_regclass('t') IS NULL", c);
                Assert.True((bool)(await cmd.ExecuteScalarAsync())!);
            }
            await Assert.ThrowsAsync<ArgumentException>(() => server.CreateDatabaseAsync("bad\"; DROP DATABASE postgres; --"));
        }
        finally
        {
            await server.DisposeAsync();
        }

        Assert.False(Directory.Exists(directory));
        // The postmaster was daemonized (its parent is PID 1, which may reap it a little later): gone or a zombie.
        var deadline = Stopwatch.StartNew();
        while (IsRunning(pid) && deadline.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(20);
        Assert.False(IsRunning(pid), $"postmaster {pid} still runs after DisposeAsync");
    }

    [Fact]
    public async Task Without_the_binaries_starting_fails_saying_what_to_install()
    {
        var e = await Assert.ThrowsAsync<FileNotFoundException>(() => PostgresServer.StartAsync("/nonexistent/postgresql/15/bin"));

        Assert.Contains("apt-get install postgresql", e.Message, StringComparison.Ordinal);
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            char state = stat[(stat.LastIndexOf(')') + 2)..][0];
            return state is not ('Z' or 'X');
        }
        catch (IOException) { return false; }
    }
}
