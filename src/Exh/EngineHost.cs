using System.Globalization;
using System.Net;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Engine.Gateway.Http;
using ExchangeHealth.Engine.Gateway.Tcp;
using ExchangeHealth.Engine.Service;
using ExchangeHealth.Telemetry;

namespace ExchangeHealth.Cli;

/// <summary>Settings of an <see cref="EngineHost"/>.</summary>
internal sealed record EngineHostOptions
{
    /// <summary>The engine's data directory.</summary>
    public required string DataDirectory { get; init; }
    /// <summary>Markets for a new data directory (null: the directory's own, or the embedded default).</summary>
    public IReadOnlyList<MarketDefinition>? Markets { get; init; }
    /// <summary>Order-entry TCP endpoint.</summary>
    public IPEndPoint Listen { get; init; } = new(IPAddress.Loopback, 7001);
    /// <summary>HTTP endpoint.</summary>
    public IPEndPoint Http { get; init; } = new(IPAddress.Loopback, 7080);
    /// <summary>Credentials file (null: credentials.yaml in the data directory, created when missing).</summary>
    public string? CredentialsPath { get; init; }
    /// <summary>fsync the journal.</summary>
    public bool FlushToDisk { get; init; } = true;
    /// <summary>Ring slots.</summary>
    public int RingCapacity { get; init; } = 1 << 16;
    /// <summary>Snapshot period in commands.</summary>
    public long SnapshotEveryCommands { get; init; } = 1_000_000;
}

/// <summary>
/// The engine process: <see cref="EngineService"/> (recovery, ring, sequencer, matcher), the TCP
/// order-entry gateway, the HTTP API with <c>/metrics</c> (OpenTelemetry SDK and our Prometheus
/// exporter, with the <c>System.Runtime</c> meter), and <c>engine.json</c> in the data directory
/// naming the PID and the bound endpoints (tools and tests find the engine through it).
/// </summary>
internal sealed class EngineHost : IAsyncDisposable
{
    private readonly PrometheusTelemetry _telemetry;
    private readonly string _endpointsFile;
    private int _stopped;

    private EngineHost(EngineService service, OrderEntryServer tcp, EngineHttpServer http, PrometheusTelemetry telemetry,
        EngineCredentials credentials, string credentialsPath, string endpointsFile)
    {
        Service = service;
        Tcp = tcp;
        Http = http;
        _telemetry = telemetry;
        Credentials = credentials;
        CredentialsPath = credentialsPath;
        _endpointsFile = endpointsFile;
    }

    public EngineService Service { get; }
    public OrderEntryServer Tcp { get; }
    public EngineHttpServer Http { get; }
    public EngineCredentials Credentials { get; }
    public string CredentialsPath { get; }

    /// <summary>Recovers and starts everything; on failure, stops what was started.</summary>
    /// <exception cref="ConfigException">The markets or credentials file is invalid.</exception>
    /// <exception cref="IOException">The data directory cannot be used, or a port is taken.</exception>
    public static async Task<EngineHost> StartAsync(EngineHostOptions options, CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(options.DataDirectory);
        string credentialsPath = options.CredentialsPath ?? Path.Combine(options.DataDirectory, EngineCredentials.FileName);
        var credentials = EngineCredentials.LoadOrCreate(credentialsPath);
        var telemetry = EngineTelemetry.Create();
        EngineService? service = null;
        OrderEntryServer? tcp = null;
        EngineHttpServer? http = null;
        try
        {
            service = EngineService.Start(new EngineServiceOptions
            {
                DataDirectory = options.DataDirectory,
                Markets = options.Markets,
                FlushToDisk = options.FlushToDisk,
                RingCapacity = options.RingCapacity,
                SnapshotEveryCommands = options.SnapshotEveryCommands,
            });
            tcp = new OrderEntryServer(service, credentials, new OrderEntryServerOptions { Endpoint = options.Listen });
            await tcp.StartAsync(cancellationToken).ConfigureAwait(false);
            http = new EngineHttpServer(service, credentials, new EngineHttpServerOptions
            {
                Urls = string.Create(CultureInfo.InvariantCulture, $"http://{options.Http}"),
                MetricsWriter = telemetry.Handler.WriteAsync,
            });
            await http.StartAsync(cancellationToken).ConfigureAwait(false);
            string endpointsFile = EngineEndpoints.PathIn(options.DataDirectory);
            var host = new EngineHost(service, tcp, http, telemetry, credentials, credentialsPath, endpointsFile);
            host.WriteEndpointsFile();
            return host;
        }
        catch
        {
            if (http is not null) await http.DisposeAsync().ConfigureAwait(false);
            if (tcp is not null) await tcp.DisposeAsync().ConfigureAwait(false);
            if (service is not null) await service.DisposeAsync().ConfigureAwait(false);
            telemetry.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Graceful stop: the TCP gateway answers what is in flight and closes sessions with
    /// <c>server_shutting_down</c>, the engine drains its ring, flushes the journal and writes a
    /// snapshot, then HTTP stops.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0) return;
        try { File.Delete(_endpointsFile); } catch (IOException) { }
        await Tcp.StopAsync(cancellationToken).ConfigureAwait(false);
        await Service.StopAsync(cancellationToken).ConfigureAwait(false);
        await Http.StopAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await Tcp.DisposeAsync().ConfigureAwait(false);
        await Http.DisposeAsync().ConfigureAwait(false);
        await Service.DisposeAsync().ConfigureAwait(false);
        _telemetry.Dispose();
    }

    private void WriteEndpointsFile() =>
        new EngineEndpoints(Environment.ProcessId, Tcp.LocalEndPoint, Http.BaseAddress, Path.GetFullPath(CredentialsPath), TimeProvider.System.GetUtcNow())
            .Write(Path.GetDirectoryName(_endpointsFile)!);
}
