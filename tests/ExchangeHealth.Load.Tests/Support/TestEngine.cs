using System.Net;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Engine.Gateway.Tcp;
using ExchangeHealth.Engine.Service;

namespace ExchangeHealth.Load.Tests.Support;

/// <summary>
/// A real engine (<see cref="EngineService"/> in a temporary data directory) behind the real
/// order-entry TCP server (<see cref="OrderEntryServer"/>) on 127.0.0.1 with a free port, and four
/// generated API keys (accounts 1..4) saved as the engine saves them.
/// </summary>
public sealed class TestEngine : IAsyncDisposable
{
    private readonly TempDirectory _dir;

    static TestEngine()
    {
        // The test runner blocks thread-pool threads of its own; on a 2-core machine the pool would
        // then add a thread only every ~0.5 s, stalling the socket continuations of the server and
        // the client (a stall that is the harness's, not the engine's). Start with enough threads.
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, 32), Math.Max(io, 32));
    }

    private TestEngine(TempDirectory dir, EngineService service, OrderEntryServer server, EngineCredentials credentials)
    {
        _dir = dir;
        Service = service;
        Server = server;
        Credentials = credentials;
    }

    /// <summary>Starts an engine and its server.</summary>
    /// <param name="flushToDisk">fsync the journal (slower acknowledgements).</param>
    public static async Task<TestEngine> StartAsync(bool flushToDisk = false)
    {
        var dir = new TempDirectory();
        var credentials = EngineCredentials.Generate(4);
        credentials.Save(dir.Combine(EngineCredentials.FileName));
        var service = EngineService.Start(new EngineServiceOptions { DataDirectory = dir.Combine("engine"), FlushToDisk = flushToDisk });
        var server = new OrderEntryServer(service, credentials, new OrderEntryServerOptions { Endpoint = new IPEndPoint(IPAddress.Loopback, 0) });
        await server.StartAsync();
        return new TestEngine(dir, service, server, credentials);
    }

    public EngineService Service { get; }

    public OrderEntryServer Server { get; }

    public EngineCredentials Credentials { get; }

    public IPEndPoint EndPoint => Server.LocalEndPoint;

    public int Port => EndPoint.Port;

    /// <summary>The credentials file (mode 0600), as the engine writes it in its data directory.</summary>
    public string CredentialsFile => _dir.Combine(EngineCredentials.FileName);

    public IReadOnlyList<string> ApiKeys => Credentials.ApiKeys.Select(k => k.Key).ToList();

    /// <summary>Load options aimed at this engine.</summary>
    public LoadOptions Options() => new() { Host = "127.0.0.1", Port = Port, ApiKeys = ApiKeys };

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        await Service.DisposeAsync();
        _dir.Dispose();
    }
}

/// <summary>A fresh directory under the system temp folder, deleted on dispose.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "exh-load-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); }
        catch (IOException) { }
    }
}

/// <summary>A clock the test moves by hand.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _timestamp = 1_000_000_000;
    private DateTimeOffset _now = start;

    public ManualClock() : this(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)) { }

    public override long TimestampFrequency => 1_000_000_000;

    public override long GetTimestamp() => Interlocked.Read(ref _timestamp);

    public override DateTimeOffset GetUtcNow() => _now;

    public void Advance(TimeSpan by)
    {
        Interlocked.Add(ref _timestamp, (long)(by.TotalSeconds * 1e9));
        _now += by;
    }

    public void AdvanceNanoseconds(long ns)
    {
        Interlocked.Add(ref _timestamp, ns);
        _now += TimeSpan.FromTicks(ns / 100);
    }
}

/// <summary>The console is process-wide: tests that capture it must not run in parallel with each other.</summary>
[CollectionDefinition(nameof(ConsoleCollection), DisableParallelization = true)]
public sealed class ConsoleCollection;

/// <summary>Runs the <c>exh</c> host in-process with captured standard output and error.</summary>
internal static class CliHarness
{
    public static (int ExitCode, string Out, string Error) Run(params string[] args)
    {
        TextWriter oldOut = Console.Out, oldError = Console.Error;
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        Console.SetOut(stdout);
        Console.SetError(stderr);
        try
        {
            int code = ExchangeHealth.Cli.Program.Main(args);
            return (code, stdout.ToString(), stderr.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
        }
    }
}
