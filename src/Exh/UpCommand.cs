using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using ExchangeHealth.Chaos.Platform;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Monitor.Prometheus;
using Spectre.Console;
using Command = System.CommandLine.Command;

namespace ExchangeHealth.Cli;

/// <summary>
/// <c>exh up</c>: installs Prometheus when it is missing, starts the whole platform on this machine
/// through <see cref="PlatformSupervisor"/> (engine, Prometheus, monitor, canary, order flow), prints
/// where everything is, shows live status until Ctrl-C / SIGTERM (or <c>--for</c>), then stops
/// everything in reverse order. <c>--demo</c> runs a narrated game day instead (docs/up.md).
/// Exit codes: 0 clean stop (demo: every step happened); 1 a component failed to start, set-up
/// failed, or a demo step did not happen in its budget; 2 bad usage.
/// </summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Data directory of everything (engine journal, Prometheus TSDB, monitor DB, reports, logs, up.json).", DefaultValueFactory = _ => Path.Combine("data", "up"), HelpName = "DIR" };
        var replay = new Option<string?>("--replay") { Description = "Order flow: replay this file (bitfinex, lobster or our CSV) instead of the generated workload; it starts again when it ends.", HelpName = "FILE" };
        var rate = new Option<double>("--rate") { Description = "Order flow rate, commands/s.", DefaultValueFactory = _ => 100, HelpName = "N" };
        var noLoad = new Option<bool>("--no-load") { Description = "No order flow." };
        var demo = new Option<bool>("--demo") { Description = "Run a short game day (steady state, a matcher stall, the page, the incident, recovery, the report) and stop; about 2 minutes, at most about 3." };
        var runFor = new Option<string?>("--for") { Description = "Run this long (Prometheus duration, e.g. 30s), then stop everything.", HelpName = "DURATION" };
        var portsAuto = new Option<bool>("--ports-auto") { Description = "Pick free ports instead of 7001, 7080, 9090, 7090 and 7091." };
        var statusEvery = new Option<string>("--status-interval") { Description = "Time between status refreshes.", DefaultValueFactory = _ => "3s", HelpName = "DURATION" };

        var command = new Command("up",
            "Start the whole platform on this machine, bound to 127.0.0.1: the engine (journal under DIR/engine), a real Prometheus " +
            "(1 s scrape, alert-rules/ loaded), the monitor (alerting, incidents, reports), the canary and order flow (generated, or " +
            "--replay FILE). Installs Prometheus first when it is missing (apt-get). Prints where everything is, then live status; " +
            "Ctrl-C or SIGTERM stops everything in reverse order. Notifications go to the console (DIR/logs/monitor.log) unless " +
            "SLACK_BOT_TOKEN is set. See docs/up.md.\n\n" +
            "Examples:\n  exh up\n  exh up --replay examples/orderflow-sample.csv --rate 200\n  exh up --demo\n  exh up --for 30s --ports-auto --data /tmp/exh-up");
        foreach (Option o in new Option[] { data, replay, rate, noLoad, demo, runFor, portsAuto, statusEvery }) command.Options.Add(o);

        // A synchronous action: System.CommandLine's own SIGINT/SIGTERM handling of asynchronous
        // actions would end the process 2 s after the signal, before the engine has snapshotted.
        command.SetAction(parse =>
        {
            TimeSpan? duration = null;
            if (parse.GetValue(runFor) is { } text)
            {
                if (!PromDuration.TryParse(text, out var d, out string error) || d <= TimeSpan.Zero) return Cli.Fail($"--for: {(d <= TimeSpan.Zero && error.Length == 0 ? "must be positive" : error)}");
                duration = d;
            }
            if (!PromDuration.TryParse(parse.GetValue(statusEvery)!, out var every, out string statusError) || every < TimeSpan.FromMilliseconds(200))
                return Cli.Fail($"--status-interval: {(statusError.Length > 0 ? statusError : "at least 200ms")}");
            double r = parse.GetValue(rate);
            if (!(r > 0) || double.IsInfinity(r)) return Cli.Fail("--rate must be a positive number of commands/s");
            string? file = parse.GetValue(replay);
            if (file is not null && parse.GetValue(noLoad)) return Cli.Fail("--replay and --no-load exclude each other");
            if (file is not null && !File.Exists(file)) return Cli.Fail($"--replay: {file} does not exist");
            var flow = parse.GetValue(noLoad) ? OrderFlow.None : file is not null ? OrderFlow.Replay(Path.GetFullPath(file), r) : OrderFlow.Generated(r);
            var options = new PlatformOptions
            {
                DataDirectory = Path.GetFullPath(parse.GetValue(data)!),
                Ports = parse.GetValue(portsAuto) ? PlatformPorts.Auto : new PlatformPorts(),
                OrderFlow = flow,
            };
            return Run(options, parse.GetValue(demo), duration, every);
        });
        return command;
    }

    private static int Run(PlatformOptions options, bool demo, TimeSpan? duration, TimeSpan statusEvery)
    {
        var output = Console.Out;
        using var stop = new CancellationTokenSource();
        string? stopReason = null;
        void OnSignal(PosixSignalContext context)
        {
            context.Cancel = true;
            if (Interlocked.CompareExchange(ref stopReason, context.Signal.ToString(), null) is null)
            {
                output.WriteLine($"{Now()} exh up: {context.Signal}: stopping everything (reverse order; the engine snapshots, up to 15 s)");
                stop.Cancel();
            }
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);

        if (!EnsurePrometheus(output)) return 1;

        PlatformSupervisor platform;
        try
        {
            platform = PlatformSupervisor.StartAsync(options, output, stop.Token).GetAwaiter().GetResult();
        }
        catch (OperationCanceledException)
        {
            output.WriteLine($"{Now()} exh up: start cancelled; everything started was stopped");
            return 1;
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException or FileNotFoundException or ArgumentException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"exh up: {e.Message}");
            return 1;
        }

        int code = 0;
        try
        {
            PrintWhere(output, platform, options);
            using var session = new UpSession(platform);
            if (demo)
            {
                code = new UpDemo(session, output).RunAsync(stop.Token).GetAwaiter().GetResult();
            }
            else
            {
                using var limit = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
                if (duration is { } d)
                {
                    limit.CancelAfter(d);
                    output.WriteLine($"{Now()} exh up: running for {PromDuration.Format(d)}, then stopping");
                }
                StatusLoopAsync(session, output, statusEvery, limit.Token).GetAwaiter().GetResult();
                if (!stop.IsCancellationRequested) output.WriteLine($"{Now()} exh up: {PromDuration.Format(duration!.Value)} elapsed: stopping everything");
            }
        }
        finally
        {
            platform.DisposeAsync().AsTask().GetAwaiter().GetResult();
            output.WriteLine($"{Now()} exh up: stopped everything; data and logs stay in {platform.Endpoints.DataDirectory}");
        }
        return code;
    }

    internal static string Now() => DateTimeOffset.Now.ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>Installs the Debian package prometheus when <c>prometheus</c> is not on PATH (apt-get as root, else <c>sudo -n</c>).</summary>
    private static bool EnsurePrometheus(TextWriter output)
    {
        if (ExternalTool.TryFind("prometheus") is not null) return true;
        bool root = string.Equals(RunQuiet("id", ["-u"]).Output.Trim(), "0", StringComparison.Ordinal);
        string[] prefix = root ? [] : ["sudo", "-n"];
        output.WriteLine($"{Now()} exh up: prometheus is not on PATH: installing the Debian package 'prometheus' ({string.Join(' ', [.. prefix, "apt-get", "install", "-y", "prometheus"])})");
        foreach (string[] step in new[] { new[] { "apt-get", "install", "-y", "prometheus" }, new[] { "apt-get", "update" }, new[] { "apt-get", "install", "-y", "prometheus" } })
        {
            string[] argv = [.. prefix, .. step];
            var (exit, text) = RunQuiet(argv[0], argv[1..], TimeSpan.FromMinutes(10));
            if (exit == 0 && step[1] == "install" && ExternalTool.TryFind("prometheus") is not null)
            {
                output.WriteLine($"{Now()} exh up: installed prometheus ({ExternalTool.TryFind("prometheus")})");
                return true;
            }
            if (exit != 0) output.WriteLine($"{Now()} exh up: '{string.Join(' ', argv)}' failed (exit code {exit}): {LastLines(text, 5)}");
        }
        Console.Error.WriteLine("exh up: could not install Prometheus. Install it yourself (sudo apt-get install -y prometheus, or put a prometheus 2.x binary on PATH) and run exh up again.");
        return false;
    }

    private static (int ExitCode, string Output) RunQuiet(string file, string[] args, TimeSpan? timeout = null)
    {
        try
        {
            var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (string a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeout ?? TimeSpan.FromSeconds(10)))
            {
                p.Kill();
                return (-1, "timed out");
            }
            return (p.ExitCode, stdout.GetAwaiter().GetResult() + stderr.GetAwaiter().GetResult());
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, e.Message);
        }
    }

    private static string LastLines(string text, int n) => string.Join(" | ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).TakeLast(n));

    private static void PrintWhere(TextWriter o, PlatformSupervisor p, PlatformOptions options)
    {
        var e = p.Endpoints;
        var m = e.Monitors[0];
        string flow = options.OrderFlow.Kind switch
        {
            OrderFlowKind.None => "none (--no-load)",
            OrderFlowKind.Replay => $"replay of {options.OrderFlow.File} at {options.OrderFlow.Rate.ToString(CultureInfo.InvariantCulture)} commands/s",
            _ => $"generated workload at {options.OrderFlow.Rate.ToString(CultureInfo.InvariantCulture)} commands/s",
        };
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{Now()} exh up: everything runs on 127.0.0.1\n");
        sb.Append(CultureInfo.InvariantCulture, $"  engine       order entry tcp {e.EngineTcp}   http {e.EngineHttp} (/ready /metrics /admin)   data {e.EngineData}\n");
        sb.Append(CultureInfo.InvariantCulture, $"  prometheus   {e.Prometheus}  (targets {e.Prometheus}targets, its own alerts {e.Prometheus}alerts)\n");
        foreach (var node in e.Monitors)
            sb.Append(CultureInfo.InvariantCulture, $"  {node.Name,-12} {node.Api}api/v1/status   token {node.TokenFile}\n");
        sb.Append(CultureInfo.InvariantCulture, $"  canary       {e.Canary}metrics\n");
        sb.Append(CultureInfo.InvariantCulture, $"  order flow   {flow}\n");
        sb.Append(CultureInfo.InvariantCulture, $"  data         {e.DataDirectory}   (up.json: pids, commands, logs; reports in {Path.Combine(e.DataDirectory, "reports")})\n");
        sb.Append(CultureInfo.InvariantCulture, $"  logs         {e.LogDirectory}/{{{string.Join(",", p.Components.Where(c => c != ComponentNames.Postgres))}}}.log (notifications print to monitor.log without SLACK_BOT_TOKEN)\n");
        sb.Append(CultureInfo.InvariantCulture, $"  incidents    ./exh incidents list --data {m.DataDirectory}\n");
        sb.Append(CultureInfo.InvariantCulture, $"  stop         Ctrl-C, or kill -TERM {Environment.ProcessId}\n");
        o.Write(sb.ToString());
        o.Flush();
    }

    private static async Task StatusLoopAsync(UpSession session, TextWriter output, TimeSpan every, CancellationToken cancellationToken)
    {
        bool terminal = !Console.IsOutputRedirected && ReferenceEquals(output, Console.Out);
        if (terminal)
        {
            var console = Cli.CreateConsole(output, interactive: true);
            var status = await session.SnapshotAsync(cancellationToken).ConfigureAwait(false);
            await console.Live(StatusTable(status)).AutoClear(false).StartAsync(async ctx =>
            {
                while (!cancellationToken.IsCancellationRequested)
                {
                    try { await Task.Delay(every, cancellationToken).ConfigureAwait(false); }
                    catch (OperationCanceledException) { break; }
                    ctx.UpdateTarget(StatusTable(await session.SnapshotAsync(CancellationToken.None).ConfigureAwait(false)));
                    ctx.Refresh();
                }
            }).ConfigureAwait(false);
            return;
        }
        while (!cancellationToken.IsCancellationRequested)
        {
            var status = await session.SnapshotAsync(CancellationToken.None).ConfigureAwait(false);
            output.Write(status.ToPlainText());
            output.Flush();
            try { await Task.Delay(every, cancellationToken).ConfigureAwait(false); }
            catch (OperationCanceledException) { break; }
        }
    }

    private static Rows StatusTable(UpStatus s)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"exh up  {s.At:HH:mm:ss}");
        table.AddColumns("component", "state", "pid");
        foreach (var c in s.Components)
        {
            string color = c.State switch { ComponentState.Running => "green", ComponentState.Frozen => "blue", ComponentState.Starting => "yellow", _ => "red" };
            table.AddRow(Markup.Escape(c.Name), $"[{color}]{c.State}[/]", c.Pid?.ToString(CultureInfo.InvariantCulture) ?? "-");
        }
        return new Rows([table, .. s.SummaryLines().Select(l => new Text(l))]);
    }
}

/// <summary>One status refresh of <c>exh up</c>.</summary>
internal sealed record UpStatus(
    DateTimeOffset At,
    IReadOnlyList<(string Name, ComponentState State, int? Pid)> Components,
    double? DurableSequence, double? OrdersPerSecond, int TargetsUp, int Targets,
    int Pending, int Firing, int? OpenIncidents, string LastNotification, string? Problem)
{
    public IEnumerable<string> SummaryLines()
    {
        yield return string.Create(CultureInfo.InvariantCulture,
            $"engine      durable sequence {(DurableSequence is { } q ? q.ToString("0", CultureInfo.InvariantCulture) : "?")}, {(OrdersPerSecond is { } r ? r.ToString("0.#", CultureInfo.InvariantCulture) : "?")} orders/s");
        yield return string.Create(CultureInfo.InvariantCulture, $"prometheus  targets up {TargetsUp}/{Targets}");
        yield return string.Create(CultureInfo.InvariantCulture, $"monitor     alerts pending {Pending}, firing {Firing}; incidents open {(OpenIncidents?.ToString(CultureInfo.InvariantCulture) ?? "?")}");
        yield return $"            last notification {LastNotification}";
        if (Problem is not null) yield return "problem     " + Problem;
    }

    public string Summary() =>
        string.Create(CultureInfo.InvariantCulture,
            $"engine seq {(DurableSequence is { } q ? q.ToString("0", CultureInfo.InvariantCulture) : "?")}, {(OrdersPerSecond is { } r ? r.ToString("0.#", CultureInfo.InvariantCulture) : "?")} orders/s | targets up {TargetsUp}/{Targets} | alerts pending {Pending}, firing {Firing} | incidents open {(OpenIncidents?.ToString(CultureInfo.InvariantCulture) ?? "?")} | last notification {LastNotification}")
        + (Problem is null ? "" : " | " + Problem);

    public string ToPlainText() =>
        $"{At:HH:mm:ss} status: " + string.Join("  ", Components.Select(c => $"{c.Name} {c.State.ToString().ToLowerInvariant()}{(c.Pid is { } p ? " " + p.ToString(CultureInfo.InvariantCulture) : "")}"))
        + "\n         " + Summary() + "\n";
}

/// <summary>HTTP access to a running platform for <c>exh up</c>: Prometheus queries, the monitor API (bearer token), the engine admin API.</summary>
internal sealed class UpSession(PlatformSupervisor platform) : IDisposable
{
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(3) };

    public PlatformSupervisor Platform { get; } = platform;

    public void Dispose() => _http.Dispose();

    public async Task<UpStatus> SnapshotAsync(CancellationToken cancellationToken)
    {
        var components = Platform.Components.Select(c => (c, Platform.StateOf(c), Platform.PidOf(c))).ToList();
        double? sequence = null, rate = null;
        int up = 0, targets = 0, pending = 0, firing = 0;
        int? incidents = null;
        string last = "-";
        var problems = new List<string>();
        try
        {
            sequence = (await QueryAsync("max(exh_journal_sequence{job=\"exh-engine\"})", cancellationToken).ConfigureAwait(false)).FirstOrDefault();
            rate = (await QueryAsync("sum(rate(exh_orders_received_total{job=\"exh-engine\"}[10s]))", cancellationToken).ConfigureAwait(false)).FirstOrDefault();
            var ups = await QueryAsync("up", cancellationToken).ConfigureAwait(false);
            targets = ups.Count;
            up = ups.Count(v => v == 1);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            problems.Add("prometheus: " + e.Message);
        }
        try
        {
            (pending, firing) = await AlertCountsAsync(null, cancellationToken).ConfigureAwait(false);
            using (var doc = await MonitorAsync(HttpMethod.Get, "api/v1/incidents?status=open", null, cancellationToken).ConfigureAwait(false))
                incidents = doc.RootElement.GetProperty("incidents").GetArrayLength();
            using var outbox = await MonitorAsync(HttpMethod.Get, "api/v1/outbox?limit=1000", null, cancellationToken).ConfigureAwait(false);
            var newest = outbox.RootElement.EnumerateArray()
                .Select(e => (At: e.GetProperty("createdAt").GetDateTimeOffset(), Text: $"{e.GetProperty("kind").GetString()} to {e.GetProperty("receiver").GetString()} ({e.GetProperty("state").GetString()})"))
                .OrderByDescending(e => e.At).FirstOrDefault();
            if (newest.Text is not null) last = $"{newest.At.ToLocalTime():HH:mm:ss} {newest.Text}";
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or JsonException or KeyNotFoundException or InvalidOperationException or IOException)
        {
            problems.Add("monitor: " + e.Message);
        }
        return new UpStatus(DateTimeOffset.Now, components, sequence, rate, up, targets, pending, firing, incidents, last,
            problems.Count == 0 ? null : string.Join("; ", problems));
    }

    /// <summary>Alert instances in the monitor's rules view that are pending / firing (of one alert name, or all).</summary>
    public async Task<(int Pending, int Firing)> AlertCountsAsync(string? alertName, CancellationToken cancellationToken)
    {
        using var doc = await MonitorAsync(HttpMethod.Get, "api/v1/rules", null, cancellationToken).ConfigureAwait(false);
        int pending = 0, firing = 0;
        foreach (var group in doc.RootElement.GetProperty("groups").EnumerateArray())
        {
            foreach (var rule in group.GetProperty("rules").EnumerateArray())
            {
                if (alertName is not null && rule.GetProperty("name").GetString() != alertName) continue;
                foreach (var alert in rule.GetProperty("alerts").EnumerateArray())
                {
                    switch (alert.GetProperty("state").GetString())
                    {
                        case "pending": pending++; break;
                        case "firing": firing++; break;
                    }
                }
            }
        }
        return (pending, firing);
    }

    public async Task<List<double>> QueryAsync(string promql, CancellationToken cancellationToken)
    {
        string body = await _http.GetStringAsync(new Uri(Platform.Endpoints.Prometheus, "api/v1/query?query=" + Uri.EscapeDataString(promql)), cancellationToken).ConfigureAwait(false);
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.GetProperty("data").GetProperty("result").EnumerateArray()
            .Select(s => double.Parse(s.GetProperty("value")[1].GetString()!, NumberStyles.Float, CultureInfo.InvariantCulture)).ToList();
    }

    /// <summary>A monitor API call with its bearer token; throws <see cref="HttpRequestException"/> with the answer on a non-2xx status.</summary>
    public async Task<JsonDocument> MonitorAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        var node = Platform.Endpoints.Monitors[0];
        using var request = new HttpRequestMessage(method, new Uri(node.Api, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(node.TokenFile, cancellationToken).ConfigureAwait(false)).Trim());
        if (body is not null) request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        string text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"{method} {path}: HTTP {(int)response.StatusCode}: {text}");
        return JsonDocument.Parse(text);
    }

    /// <summary>An engine admin API call (admin token from DATA/engine/credentials.yaml).</summary>
    public async Task<string> EngineAdminAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken)
    {
        string token = EngineCredentials.Load(Path.Combine(Platform.Endpoints.EngineData, EngineCredentials.FileName)).AdminToken;
        using var request = new HttpRequestMessage(method, new Uri(Platform.Endpoints.EngineHttp, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null) request.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        string text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode) throw new HttpRequestException($"{method} {path}: HTTP {(int)response.StatusCode}: {text}");
        return text;
    }
}
