using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Journal;
using Command = System.CommandLine.Command;

namespace ExchangeHealth.Cli;

/// <summary>
/// <c>exh engine</c>: runs the matching engine as a service until SIGTERM or Ctrl+C (graceful:
/// drain, flush, snapshot; exit 0). Exit codes: 0 stopped cleanly, 1 failed to start or failed
/// while running, 2 bad usage or an invalid config file.
/// </summary>
internal static class EngineCommand
{
    public const string DefaultDataDirectory = "data/engine";

    public static Command Create()
    {
        var markets = new Option<FileInfo?>("--markets") { Description = "Markets file for a NEW data directory (default: the embedded config/markets.yaml). An existing data directory keeps its own markets.yaml." };
        var data = new Option<string>("--data") { Description = "Data directory: journal/, snapshots/, markets.yaml, credentials.yaml, events.jsonl, engine.json.", DefaultValueFactory = _ => DefaultDataDirectory };
        var listen = new Option<string>("--listen") { Description = "Order-entry TCP endpoint HOST:PORT (port 0: any free port; see engine.json).", DefaultValueFactory = _ => "127.0.0.1:7001" };
        var http = new Option<string>("--http") { Description = "HTTP endpoint HOST:PORT for the JSON API, /health, /ready, /metrics and /admin.", DefaultValueFactory = _ => "127.0.0.1:7080" };
        var credentials = new Option<FileInfo?>("--credentials") { Description = "Credentials file (API keys, admin token). Default: DATA/credentials.yaml, created with random secrets (mode 0600) when missing." };
        var noFsync = new Option<bool>("--no-fsync") { Description = "Do not fsync the journal (benchmarks only: a power loss can lose acknowledged orders; kill -9 cannot)." };
        var ring = new Option<int>("--ring") { Description = "Inbound ring slots (a power of two). A full ring rejects with reason overload.", DefaultValueFactory = _ => 1 << 16 };
        var snapshotEvery = new Option<long>("--snapshot-every") { Description = "Write a snapshot every N commands (0: only at shutdown).", DefaultValueFactory = _ => 1_000_000 };

        var command = new Command("engine",
            "Run the matching engine as a service: recover from the data directory's journal, then serve the binary order-entry " +
            "protocol over TCP (docs/order-entry-protocol.md) and the HTTP JSON API with /health, /ready, /metrics (Prometheus) " +
            "and the admin API for market states and fault injection (docs/http-api.md). Acknowledgements are sent only after " +
            "the journal batch is fsynced. SIGTERM or Ctrl+C stops gracefully (drain, flush, snapshot).\n\n" +
            "Examples:\n  exh engine\n  exh engine --data /var/lib/exh --listen 127.0.0.1:7001 --http 127.0.0.1:7080\n" +
            "  curl -s 127.0.0.1:7080/metrics | grep exh_orders");
        foreach (Option o in new Option[] { markets, data, listen, http, credentials, noFsync, ring, snapshotEvery }) command.Options.Add(o);

        command.SetAction(async (parse, cancellationToken) =>
        {
            if (!TryParseEndpoint(parse.GetValue(listen)!, "--listen", out var tcpEndpoint)) return 2;
            if (!TryParseEndpoint(parse.GetValue(http)!, "--http", out var httpEndpoint)) return 2;
            int ringSize = parse.GetValue(ring);
            if (ringSize < 16 || (ringSize & (ringSize - 1)) != 0) return Cli.Fail($"--ring: {ringSize} is not a power of two of at least 16");
            if (parse.GetValue(snapshotEvery) < 0) return Cli.Fail("--snapshot-every: must be 0 or more");
            IReadOnlyList<MarketDefinition>? marketList = null;
            if (parse.GetValue(markets) is FileInfo file)
            {
                if (!Cli.TryLoadMarkets(file, out var loaded)) return 2;
                marketList = loaded;
            }
            string dataDir = Path.GetFullPath(parse.GetValue(data)!);
            var options = new EngineHostOptions
            {
                DataDirectory = dataDir,
                Markets = marketList,
                Listen = tcpEndpoint,
                Http = httpEndpoint,
                CredentialsPath = parse.GetValue(credentials)?.FullName,
                FlushToDisk = !parse.GetValue(noFsync),
                RingCapacity = ringSize,
                SnapshotEveryCommands = parse.GetValue(snapshotEvery),
            };
            return await RunAsync(options, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> RunAsync(EngineHostOptions options, CancellationToken cancellationToken)
    {
        var log = Console.Error;
        EngineHost host;
        try
        {
            host = await EngineHost.StartAsync(options, cancellationToken).ConfigureAwait(false);
        }
        catch (ConfigException e) { return Cli.Fail(e.Message); }
        catch (JournalCorruptException e) { return Cli.Fail($"cannot recover {options.DataDirectory}: {e.Message} (see 'exh journal verify --data {options.DataDirectory}')", 1); }
        catch (IOException e) { return Cli.Fail($"cannot start: {e.Message}", 1); }
        catch (UnauthorizedAccessException e) { return Cli.Fail($"cannot start: {e.Message}", 1); }
        catch (InvalidOperationException e) { return Cli.Fail($"cannot start: {e.Message}", 1); }

        var stop = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult("SIGTERM"); });
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult("SIGINT"); });
        using var registration = cancellationToken.Register(() => stop.TrySetResult("cancellation"));

        var s = host.Service;
        var r = s.Recovery;
        log.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"exh engine: recovered {options.DataDirectory} to sequence {r.LastSequence} in {r.Elapsed.TotalMilliseconds:F0} ms " +
            $"(snapshot {(r.SnapshotPath is null ? "none" : Path.GetFileName(r.SnapshotPath))}, {r.ReplayedCommands:N0} journal records replayed" +
            $"{(r.TornTail is null ? "" : $", torn tail truncated: {r.TornTail.Reason}")})"));
        foreach (string w in r.Warnings) log.WriteLine($"exh engine: warning: {w}");
        log.WriteLine($"exh engine: markets {string.Join(", ", s.Markets.Select(m => $"{m.Symbol} (id {m.Id})"))}");
        log.WriteLine($"exh engine: order entry tcp://{host.Tcp.LocalEndPoint}  (docs/order-entry-protocol.md)");
        log.WriteLine($"exh engine: http {host.Http.BaseAddress}  (/health /ready /metrics /api/v1 /admin; docs/http-api.md)");
        log.WriteLine($"exh engine: credentials {host.CredentialsPath} ({host.Credentials.ApiKeys.Count} API keys, admin token)");
        log.WriteLine($"exh engine: journal fsync {(options.FlushToDisk ? "on" : "OFF")}, ring {options.RingCapacity:N0} slots; pid {Environment.ProcessId}; SIGTERM or Ctrl+C stops gracefully");

        var fatal = s.Stopped;
        var which = await Task.WhenAny(stop.Task, fatal).ConfigureAwait(false);
        if (which == fatal && s.Fatal is not null)
        {
            log.WriteLine($"exh engine: FATAL: {s.Fatal}");
            await host.DisposeAsync().ConfigureAwait(false);
            return 1;
        }
        string reason = stop.Task.IsCompleted ? stop.Task.Result : "engine stopped";
        log.WriteLine($"exh engine: {reason}: stopping (drain, flush, snapshot) ...");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await host.StopAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            log.WriteLine("exh engine: graceful stop did not finish in 30 s; exiting (the journal has every acknowledged command)");
            return 1;
        }
        await host.DisposeAsync().ConfigureAwait(false);
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"exh engine: stopped at sequence {s.DurableSequence}"));
        return 0;
    }

    internal static bool TryParseEndpoint(string text, string option, out IPEndPoint endpoint)
    {
        if (IPEndPoint.TryParse(text, out var parsed) && text.Contains(':', StringComparison.Ordinal))
        {
            endpoint = parsed;
            return true;
        }
        if (text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase)
            && int.TryParse(text.AsSpan(10), NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port <= 65535)
        {
            endpoint = new IPEndPoint(IPAddress.Loopback, port);
            return true;
        }
        endpoint = new IPEndPoint(IPAddress.Loopback, 0);
        Cli.Fail($"{option}: '{text}' is not HOST:PORT with an IP address (e.g. 127.0.0.1:7001)");
        return false;
    }
}
