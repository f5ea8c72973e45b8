using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Engine.Journal;
using ExchangeHealth.Load;
using ExchangeHealth.Monitor.Canary;
using ExchangeHealth.Monitor.Prometheus;
using Command = System.CommandLine.Command;

namespace ExchangeHealth.Cli;

/// <summary>
/// <c>exh canary</c>: the canary prober as a service. Every interval it places and cancels a
/// post-only order per market through the engine's order-entry gateway, serves
/// <c>exh_probe_success</c>, <c>exh_probe_latency_seconds</c> and <c>exh_probe_total</c> on
/// <c>/metrics</c> (Prometheus job <c>exh-canary</c>), logs one line per failed probe, and writes
/// <c>canary.json</c>. The work is <see cref="CanaryProber"/>; this is the command-line shell.
/// Exit codes: 0 stopped by SIGTERM/Ctrl+C, 1 cannot listen or write canary.json, 2 bad usage or input.
/// </summary>
internal static class CanaryCommand
{
    public const string DefaultDataDirectory = "data/canary";

    private const string Description =
        "Probe the engine end to end like a trader: per market, every --interval, place a post-only limit buy far below\n" +
        "the touch (inside the price collar) through the binary order-entry gateway, wait for its acknowledgement, cancel\n" +
        "it and wait for the cancel's acknowledgement. A probe succeeds when both arrive within --timeout.\n" +
        "\n" +
        "Metrics on http://LISTEN/metrics (Prometheus job exh-canary):\n" +
        "  exh_probe_success{market}          1 when the last probe succeeded, else 0\n" +
        "  exh_probe_latency_seconds{market}  order sent -> cancel acknowledged, successful probes\n" +
        "  exh_probe_total{market,outcome}    ok, timeout, disconnected, executed, rejected:<reason>\n" +
        "\n" +
        "The canary logs on with the API key named 'canary' of the engine's credentials.yaml (its own account: engines\n" +
        "create it; --key-name picks another) and cancels every order of that account it may have left (after a time-out,\n" +
        "a reconnection, and when it stops). It reconnects by itself when the engine restarts; with --engine-data it\n" +
        "re-reads engine.json, so a restarted engine on new ports is found. One line per failed probe goes to stderr.\n" +
        "canary.json (pid, metrics URL) is written into --data and removed on SIGTERM or Ctrl+C.\n" +
        "\n" +
        "Examples:\n" +
        "  exh canary --engine-data data/engine\n" +
        "  exh canary --target 127.0.0.1:7001 --credentials data/engine/credentials.yaml --markets BTC/USD,ETH/USD --interval 10s\n" +
        "  curl -s 127.0.0.1:7091/metrics | grep exh_probe";

    public static Command Create()
    {
        var engineData = new Option<string?>("--engine-data") { Description = "A running engine's data directory: target, HTTP address and credentials from its engine.json (re-read at every reconnection), markets from its markets.yaml.", HelpName = "DIR" };
        var target = new Option<string>("--target") { Description = "The engine's order-entry server, HOST:PORT (without --engine-data).", DefaultValueFactory = _ => "127.0.0.1:7001", HelpName = "HOST:PORT" };
        var credentials = new Option<string>("--credentials") { Description = "The engine's credentials.yaml (without --engine-data).", DefaultValueFactory = _ => "data/engine/credentials.yaml", HelpName = "FILE" };
        var http = new Option<string>("--http") { Description = "The engine's HTTP address, for each market's live collar reference price (without --engine-data; 'none': use the markets file's reference prices).", DefaultValueFactory = _ => "http://127.0.0.1:7080/", HelpName = "URL" };
        var keyName = new Option<string>("--key-name") { Description = "Name of the API key in the credentials file (its account must be the canary's alone).", DefaultValueFactory = _ => EngineCredentials.CanaryKeyName, HelpName = "NAME" };
        var markets = new Option<string[]>("--markets") { Description = "Markets to probe, ids or symbols, comma-separated or repeated (default: every market).", HelpName = "LIST", AllowMultipleArgumentsPerToken = false };
        var marketsFile = new Option<FileInfo?>("--markets-file") { Description = "The engine's markets file (default: DIR/markets.yaml with --engine-data, else the embedded config/markets.yaml).", HelpName = "FILE" };
        var interval = new Option<string>("--interval") { Description = "Time between probe rounds (every market once per round).", DefaultValueFactory = _ => "5s", HelpName = "DUR" };
        var timeout = new Option<string>("--timeout") { Description = "Longest time from sending the order to the cancel's acknowledgement.", DefaultValueFactory = _ => "2s", HelpName = "DUR" };
        var listen = new Option<string>("--listen") { Description = "Address of /metrics and /health, HOST:PORT (port 0: any free port; see canary.json).", DefaultValueFactory = _ => "127.0.0.1:7091", HelpName = "HOST:PORT" };
        var data = new Option<string>("--data") { Description = "Directory of canary.json.", DefaultValueFactory = _ => DefaultDataDirectory, HelpName = "DIR" };

        var command = new Command("canary", Description);
        foreach (Option o in new Option[] { engineData, target, credentials, http, keyName, markets, marketsFile, interval, timeout, listen, data })
            command.Options.Add(o);

        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(engineData) is not null
                && (parse.GetResult(target) is { Implicit: false } || parse.GetResult(credentials) is { Implicit: false } || parse.GetResult(http) is { Implicit: false }))
                return Fail("give either --engine-data DIR or --target/--credentials/--http, not both");
            var args = new Args(parse.GetValue(engineData), parse.GetValue(target)!, parse.GetValue(credentials)!, parse.GetValue(http)!,
                parse.GetValue(keyName)!, parse.GetValue(markets) ?? [], parse.GetValue(marketsFile), parse.GetValue(interval)!,
                parse.GetValue(timeout)!, parse.GetValue(listen)!, parse.GetValue(data)!);
            if (!TryBuild(args, out var setup, out string? error)) return Fail(error!);
            return await RunAsync(setup!, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    internal sealed record Args(string? EngineData, string Target, string Credentials, string Http, string KeyName, string[] Markets,
        FileInfo? MarketsFile, string Interval, string Timeout, string Listen, string Data);

    internal sealed record Setup(CanaryOptions Options, IPEndPoint Listen, string DataDirectory, string TargetDescription);

    /// <summary>Turns the command line into the prober's options; false with the problem (exit code 2).</summary>
    internal static bool TryBuild(Args a, out Setup? setup, out string? error)
    {
        setup = null;
        if (!PromDuration.TryParse(a.Interval, out var interval, out string why) || interval <= TimeSpan.Zero)
        {
            error = $"--interval '{a.Interval}' is not a positive duration (e.g. 5s, 500ms){(why.Length > 0 ? ": " + why : "")}";
            return false;
        }
        if (!PromDuration.TryParse(a.Timeout, out var timeout, out why) || timeout <= TimeSpan.Zero)
        {
            error = $"--timeout '{a.Timeout}' is not a positive duration (e.g. 2s, 500ms){(why.Length > 0 ? ": " + why : "")}";
            return false;
        }
        if (!TryParseEndpoint(a.Listen, out var listen))
        {
            error = $"--listen '{a.Listen}' is not HOST:PORT with an IP address (e.g. 127.0.0.1:7091)";
            return false;
        }

        IReadOnlyList<MarketDefinition> all;
        Func<CancellationToken, ValueTask<CanaryTarget>> resolve;
        string description;
        try
        {
            if (a.EngineData is { } dir)
            {
                all = a.MarketsFile is { } f ? MarketsFile.Load(f.FullName) : EngineDataDirectory.LoadMarkets(dir) ?? MarketsFile.Default();
                // Fail fast on a missing key; a missing engine.json only means the engine is not running yet.
                string credentialsPath = Path.Combine(dir, EngineCredentials.FileName);
                if (File.Exists(credentialsPath)) CanaryTargets.KeyOf(credentialsPath, a.KeyName);
                resolve = CanaryTargets.FromEngineData(dir, a.KeyName);
                description = $"engine data {Path.GetFullPath(dir)}";
            }
            else
            {
                all = a.MarketsFile is { } f ? MarketsFile.Load(f.FullName) : MarketsFile.Default();
                if (!LoadRunner.TryParseTarget(a.Target, out string host, out int port, out error)) return false;
                EndPoint endpoint = IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(host, port);
                Uri? httpAddress = null;
                if (!string.Equals(a.Http, "none", StringComparison.OrdinalIgnoreCase))
                {
                    if (!Uri.TryCreate(a.Http, UriKind.Absolute, out httpAddress) || httpAddress.Scheme is not ("http" or "https"))
                    {
                        error = $"--http '{a.Http}' is not an http:// URL or 'none'";
                        return false;
                    }
                    if (!httpAddress.AbsoluteUri.EndsWith('/')) httpAddress = new Uri(httpAddress.AbsoluteUri + "/");
                }
                CanaryTargets.KeyOf(a.Credentials, a.KeyName);
                resolve = CanaryTargets.Fixed(endpoint, a.Credentials, httpAddress, a.KeyName);
                description = $"tcp {a.Target}";
            }
        }
        catch (ConfigException e)
        {
            error = e.Message;
            return false;
        }
        catch (CanaryTargetException e)
        {
            error = e.Message;
            return false;
        }

        if (!TrySelectMarkets(all, a.Markets, out var selected, out error)) return false;
        var options = new CanaryOptions
        {
            Markets = selected,
            ResolveTarget = resolve,
            Interval = interval,
            Timeout = timeout,
            Log = line => Console.Error.WriteLine(
                $"{TimeProvider.System.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture)} exh {line}"),
        };
        error = options.Validate();
        if (error is not null) return false;
        setup = new Setup(options, listen, Path.GetFullPath(a.Data), description);
        return true;
    }

    /// <summary>The markets named in <paramref name="names"/> (ids or symbols, any case; comma-separated), or all when none.</summary>
    internal static bool TrySelectMarkets(IReadOnlyList<MarketDefinition> all, IEnumerable<string> names, out IReadOnlyList<MarketDefinition> selected, out string? error)
    {
        var list = new List<MarketDefinition>();
        foreach (string item in names)
        {
            foreach (string part in item.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                MarketDefinition? found = null;
                foreach (var m in all)
                {
                    if (string.Equals(m.Symbol, part, StringComparison.OrdinalIgnoreCase)
                        || m.Id.ToString(CultureInfo.InvariantCulture) == part)
                        found = m;
                }
                if (found is null)
                {
                    selected = [];
                    error = $"--markets: no market '{part}' (known: {string.Join(", ", all.Select(m => $"{m.Symbol} (id {m.Id})"))})";
                    return false;
                }
                if (!list.Contains(found)) list.Add(found);
            }
        }
        selected = list.Count > 0 ? list : all;
        error = null;
        return true;
    }

    private static bool TryParseEndpoint(string text, out IPEndPoint endpoint)
    {
        if (text.StartsWith("localhost:", StringComparison.OrdinalIgnoreCase)
            && int.TryParse(text.AsSpan(10), NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port <= 65535)
        {
            endpoint = new IPEndPoint(IPAddress.Loopback, port);
            return true;
        }
        if (text.Contains(':', StringComparison.Ordinal) && IPEndPoint.TryParse(text, out var parsed))
        {
            endpoint = parsed;
            return true;
        }
        endpoint = CanaryMetricsServer.DefaultEndpoint;
        return false;
    }

    private static async Task<int> RunAsync(Setup setup, CancellationToken cancellationToken)
    {
        var log = Console.Error;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            log.WriteLine($"exh canary: {context.Signal}: stopping (sweeping canary orders, logging out)");
            stop.Cancel();
        }
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);

        using var telemetry = CanaryProber.CreateTelemetry();
        CanaryMetricsServer server;
        try
        {
            server = await CanaryMetricsServer.StartAsync(setup.Listen, telemetry.Handler, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            return Fail($"cannot listen on {setup.Listen}: {e.Message}", 1);
        }
        await using (server.ConfigureAwait(false))
        {
            string endpointsFile = CanaryEndpoints.PathIn(setup.DataDirectory);
            try
            {
                Directory.CreateDirectory(setup.DataDirectory);
                new CanaryEndpoints(Environment.ProcessId, server.MetricsAddress, setup.TargetDescription, TimeProvider.System.GetUtcNow()).Write(setup.DataDirectory);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Fail($"cannot write {endpointsFile}: {e.Message}", 1);
            }
            var o = setup.Options;
            log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"exh canary: probing {string.Join(", ", o.Markets.Select(m => m.Symbol))} of {setup.TargetDescription} every {PromDuration.Format(o.Interval)} " +
                $"(time-out {PromDuration.Format(o.Timeout)}); metrics {server.MetricsAddress}; pid {Environment.ProcessId}; SIGTERM or Ctrl+C stops"));
            var prober = new CanaryProber(o);
            try
            {
                await prober.RunAsync(stop.Token).ConfigureAwait(false);
            }
            finally
            {
                await prober.DisposeAsync().ConfigureAwait(false);
                try { File.Delete(endpointsFile); } catch (IOException) { }
            }
            log.WriteLine($"exh canary: stopped ({prober.ExecutedFills} canary fills)");
        }
        return 0;
    }

    private static int Fail(string message, int exitCode = 2)
    {
        Console.Error.WriteLine($"exh canary: {message}");
        return exitCode;
    }
}
