using System.Diagnostics;
using System.Globalization;
using System.Net;
using ExchangeHealth.Engine.Gateway;

namespace ExchangeHealth.Chaos.Platform;

/// <summary>A component's process exited.</summary>
/// <param name="component">The component name (<see cref="ComponentNames"/>).</param>
/// <param name="pid">Its PID.</param>
/// <param name="exitCode">Its exit code (128 + signal number for a signal, as the shell reports it; -1 when unknown).</param>
/// <param name="expected">Whether the supervisor stopped it (<see cref="PlatformSupervisor.StopAsync"/> or disposal).</param>
public sealed class ComponentExitedEventArgs(string component, int pid, int exitCode, bool expected) : EventArgs
{
    /// <summary>The component name.</summary>
    public string Component { get; } = component;

    /// <summary>The PID that exited.</summary>
    public int Pid { get; } = pid;

    /// <summary>The exit code.</summary>
    public int ExitCode { get; } = exitCode;

    /// <summary>Whether the supervisor stopped it on purpose.</summary>
    public bool Expected { get; } = expected;
}

/// <summary>
/// The process supervisor behind <c>exh up</c> and the chaos runner: starts PostgreSQL (two monitor
/// nodes only), the engine, a real Prometheus (generated <c>prometheus.yml</c>: 1 s scrape and
/// evaluation, jobs <c>exh-engine</c>, <c>exh-canary</c>, <c>exh-monitor</c>, the repository's
/// <c>alert-rules/*.yml</c>), the monitor node(s), the canary and the order flow as child
/// processes, in that order, each waited for until ready. Every child writes stdout and stderr to
/// <c>DATA/logs/NAME.log</c> (appended), runs in its own session (so a terminal's Ctrl-C reaches
/// only the supervisor, which stops them in reverse order), and is signalled by its PID only.
/// <c>DATA/up.json</c> names the PIDs, arguments, endpoints and logs (no secrets); a second
/// supervisor on the same data directory is refused while those PIDs live.
/// </summary>
public sealed class PlatformSupervisor : IPlatform
{
    /// <summary>The manifest file name in the data directory.</summary>
    public const string ManifestFileName = "up.json";

    private static readonly TimeSpan _loadRestartInterval = TimeSpan.FromSeconds(5);

    private readonly PlatformOptions _options;
    private readonly TextWriter? _progress;
    private readonly Lock _gate = new();
    private readonly Lock _progressGate = new();
    private readonly List<Child> _children = [];
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly DateTimeOffset _startedAt;
    private PostgresServer? _postgres;
    private volatile bool _disposing;
    private int _disposed;

    private PlatformSupervisor(PlatformOptions options, TextWriter? progress, PlatformEndpoints endpoints)
    {
        _options = options;
        _progress = progress;
        Endpoints = endpoints;
        _startedAt = options.Time.GetUtcNow();
    }

    /// <inheritdoc/>
    public PlatformEndpoints Endpoints { get; private set; }

    /// <inheritdoc/>
    public IReadOnlyList<string> Components
    {
        get { lock (_gate) return _children.Select(c => c.Name).ToList(); }
    }

    /// <summary>The path of <c>up.json</c>.</summary>
    public string ManifestPath => Path.Combine(Endpoints.DataDirectory, ManifestFileName);

    /// <summary>The repository root whose <c>alert-rules/</c>, <c>slos/</c> and <c>config/</c> the platform uses.</summary>
    public string RepositoryRoot { get; private set; } = "";

    /// <summary>Raised (on a thread-pool thread) when a component's process exits, expected or not.</summary>
    public event EventHandler<ComponentExitedEventArgs>? ComponentExited;

    /// <summary>
    /// Starts the platform: (postgres) → engine → prometheus → monitor node(s) → canary → load,
    /// each waited for until ready (engine <c>/ready</c>, Prometheus <c>/-/ready</c>, monitor
    /// <c>/ready</c> and its token file, canary <c>/health</c>).
    /// </summary>
    /// <param name="options">What to start and where.</param>
    /// <param name="progress">Receives one line per step (timestamped); null for none.</param>
    /// <param name="cancellationToken">Cancels the start (what was started is stopped).</param>
    /// <returns>The running platform; dispose it to stop everything.</returns>
    /// <exception cref="InvalidOperationException">
    /// <c>up.json</c> names live processes of a previous run (the message names them and how to stop
    /// them); a component exited before it was ready (the message holds the end of its log); the
    /// repository root is not found; a fixed (non-zero) port is in use (the message names it and says how to find its owner).
    /// </exception>
    /// <exception cref="TimeoutException">A component was not ready in time (the message holds the end of its log).</exception>
    /// <exception cref="ArgumentException">Bad options (monitor nodes not 1 or 2, replay without a file, rate not positive).</exception>
    /// <exception cref="FileNotFoundException"><c>prometheus</c> is not on PATH, or the replay file does not exist.</exception>
    public static async Task<PlatformSupervisor> StartAsync(PlatformOptions options, TextWriter? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MonitorNodes is < 1 or > 2) throw new ArgumentException($"MonitorNodes must be 1 or 2, not {options.MonitorNodes}", nameof(options));
        if (options.OrderFlow.Kind != OrderFlowKind.None && !(options.OrderFlow.Rate > 0))
            throw new ArgumentException($"OrderFlow.Rate must be positive, not {options.OrderFlow.Rate}", nameof(options));
        if (options.OrderFlow.Kind == OrderFlowKind.Replay)
        {
            if (string.IsNullOrWhiteSpace(options.OrderFlow.File)) throw new ArgumentException("a replay needs OrderFlow.File", nameof(options));
            if (!File.Exists(options.OrderFlow.File)) throw new FileNotFoundException($"the replay file {options.OrderFlow.File} does not exist", options.OrderFlow.File);
        }
        string root = Path.GetFullPath(options.RepositoryRoot ?? FindRepositoryRoot()
            ?? throw new InvalidOperationException("the repository root (a directory with alert-rules/ and config/alertmanager.yml) was not found above the current directory; set RepositoryRoot"));
        string prometheusBinary = ExternalTool.Find("prometheus", "prometheus");
        var exh = options.ExhCommand ?? ExhCommand.Current();

        string data = Path.GetFullPath(options.DataDirectory);
        Directory.CreateDirectory(data);
        RefuseWhenRunning(data);

        var ports = options.Ports;
        var fixedPorts = new List<(int Port, string What)>
        {
            (ports.EngineTcp, "engine order entry"), (ports.EngineHttp, "engine HTTP"), (ports.Prometheus, "Prometheus"),
            (ports.Monitor, "monitor API"), (ports.Canary, "canary"),
        };
        if (options.MonitorNodes == 2) fixedPorts.Add((ports.Monitor2, "second monitor API"));
        foreach (var (port, what) in fixedPorts.Where(p => p.Port != 0))
        {
            if (!IsFree(port))
            {
                throw new InvalidOperationException(
                    $"port {port} ({what}) on 127.0.0.1 is in use: another 'exh up', a system Prometheus or another program listens there "
                    + $"(see: ss -ltnp 'sport = :{port}'). Stop it, or pick free ports (exh up --ports-auto).");
            }
        }
        int Pick(int port) => port == 0 ? LoopbackPort.Free() : port;
        ports = new PlatformPorts(Pick(ports.EngineTcp), Pick(ports.EngineHttp), Pick(ports.Prometheus), Pick(ports.Monitor), Pick(ports.Canary),
            options.MonitorNodes == 2 ? Pick(ports.Monitor2) : ports.Monitor2);

        string logs = Path.Combine(data, "logs");
        string engineData = Path.GetFullPath(options.EngineDataDirectory ?? Path.Combine(data, "engine"));
        foreach (string d in new[] { logs, engineData }) Directory.CreateDirectory(d);
        var monitors = new List<MonitorNodeEndpoints> { Node(ComponentNames.Monitor, ports.Monitor) };
        if (options.MonitorNodes == 2) monitors.Add(Node(ComponentNames.Monitor2, ports.Monitor2));
        MonitorNodeEndpoints Node(string name, int port)
        {
            string dir = Path.Combine(data, name);
            return new MonitorNodeEndpoints(name, LocalUri(port), Path.Combine(dir, "monitor-token"), dir);
        }

        var endpoints = new PlatformEndpoints
        {
            DataDirectory = data,
            LogDirectory = logs,
            EngineData = engineData,
            EngineTcp = new IPEndPoint(IPAddress.Loopback, ports.EngineTcp),
            EngineHttp = LocalUri(ports.EngineHttp),
            Prometheus = LocalUri(ports.Prometheus),
            Monitors = monitors,
            Canary = LocalUri(ports.Canary),
            SlackApi = options.SlackApi,
        };
        var platform = new PlatformSupervisor(options, progress, endpoints) { RepositoryRoot = root };
        try
        {
            if (options.MonitorNodes == 2 && options.PostgresConnectionString is null)
            {
                platform.Say("starting postgres (throwaway PostgreSQL 15 for the monitor cluster)");
                platform._postgres = await PostgresServer.StartAsync(cancellationToken).ConfigureAwait(false);
                string cs = await platform._postgres.CreateDatabaseAsync("exh", cancellationToken).ConfigureAwait(false);
                platform.Endpoints = endpoints with { Postgres = cs };
                lock (platform._gate)
                {
                    platform._children.Add(new Child(ComponentNames.Postgres, "postgres", [], data, platform._postgres.LogPath, TimeSpan.FromSeconds(5), null)
                    {
                        State = ComponentState.Running,
                        ExternalPid = platform._postgres.Pid,
                        Endpoint = $"127.0.0.1:{platform._postgres.Port}",
                    });
                }
                platform.Say($"postgres running (pid {platform._postgres.Pid}, 127.0.0.1:{platform._postgres.Port})");
            }
            else if (options.MonitorNodes == 2)
            {
                platform.Endpoints = endpoints with { Postgres = options.PostgresConnectionString };
            }
            platform.Define(exh, prometheusBinary, ports);
            platform.WriteManifest();
            foreach (var child in platform.SnapshotChildren().Where(c => c.ExternalPid is null))
                await platform.StartChildAsync(child, cancellationToken).ConfigureAwait(false);
            platform.Say("platform running");
            return platform;
        }
        catch
        {
            await platform.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The component's log file (<c>DATA/logs/NAME.log</c>; PostgreSQL's own log for <c>postgres</c>).</summary>
    /// <exception cref="ArgumentException">Unknown component.</exception>
    public string LogOf(string component) => Get(component).LogPath;

    /// <summary>The last <paramref name="lines"/> lines of the component's log (empty when unreadable).</summary>
    /// <exception cref="ArgumentException">Unknown component.</exception>
    public string LogTail(string component, int lines = 40) => Tail(Get(component).LogPath, lines);

    /// <summary>The component's command line (executable first), as recorded in <c>up.json</c>.</summary>
    /// <exception cref="ArgumentException">Unknown component.</exception>
    public IReadOnlyList<string> CommandOf(string component)
    {
        var c = Get(component);
        return [c.FileName, .. c.Arguments];
    }

    /// <inheritdoc/>
    public int? PidOf(string component)
    {
        var c = Get(component);
        lock (_gate)
        {
            if (c.ExternalPid is int external) return Posix.IsAlive(external) ? external : null;
            return c.State is ComponentState.Running or ComponentState.Frozen or ComponentState.Starting ? c.Pid : null;
        }
    }

    /// <inheritdoc/>
    public ComponentState StateOf(string component)
    {
        var c = Get(component);
        lock (_gate)
        {
            if (c.ExternalPid is int external && c.State is ComponentState.Running or ComponentState.Frozen && !Posix.IsAlive(external))
                c.State = ComponentState.Exited;
            return c.State;
        }
    }

    /// <inheritdoc/>
    /// <remarks>For <see cref="ComponentSignal.Stop"/> and <see cref="ComponentSignal.Continue"/> it returns once <c>/proc/PID/stat</c> shows the process stopped / no longer stopped (at most 2 s).</remarks>
    public async Task SignalAsync(string component, ComponentSignal signal, CancellationToken cancellationToken = default)
    {
        var c = Get(component);
        int pid = PidOf(component) ?? throw new InvalidOperationException($"{component} is not running");
        int number = signal switch
        {
            ComponentSignal.Kill => Posix.SigKill,
            ComponentSignal.Terminate => Posix.SigTerm,
            ComponentSignal.Stop => Posix.SigStop,
            ComponentSignal.Continue => Posix.SigCont,
            _ => throw new ArgumentOutOfRangeException(nameof(signal)),
        };
        if (!Posix.Signal(pid, number)) throw new InvalidOperationException($"kill -{number} {pid} ({component}) failed: the process is gone");
        Say($"sent SIG{signal switch { ComponentSignal.Kill => "KILL", ComponentSignal.Terminate => "TERM", ComponentSignal.Stop => "STOP", _ => "CONT" }} to {component} (pid {pid})");
        lock (_gate)
        {
            if (signal == ComponentSignal.Stop && c.State == ComponentState.Running) c.State = ComponentState.Frozen;
            else if (signal == ComponentSignal.Continue && c.State == ComponentState.Frozen) c.State = ComponentState.Running;
        }
        if (signal == ComponentSignal.Kill) await WaitForExitAsync(c, pid, Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
        // Delivery is asynchronous: wait (up to 2 s) until the kernel shows the process stopped or running again.
        for (int i = 0; i < 100 && signal is ComponentSignal.Stop or ComponentSignal.Continue; i++)
        {
            char? state = Posix.StateLetter(pid);
            if (state is null || (signal == ComponentSignal.Stop) == (state is 'T' or 't')) break;
            await Task.Delay(20, cancellationToken).ConfigureAwait(false);
        }
        WriteManifest();
    }

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The component exited before it was ready (the message holds the end of its log); or it is <c>postgres</c>, which is not restarted.</exception>
    public async Task StartAsync(string component, CancellationToken cancellationToken = default)
    {
        var c = Get(component);
        ObjectDisposedException.ThrowIf(_disposing, this);
        if (c.ExternalPid is not null) throw new InvalidOperationException($"{component} is not restarted by the supervisor");
        lock (_gate)
        {
            if (c.State is ComponentState.Running or ComponentState.Frozen or ComponentState.Starting) return;
        }
        await StartChildAsync(c, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public Task StopAsync(string component, CancellationToken cancellationToken = default) => StopChildAsync(Get(component), cancellationToken);

    /// <summary>Stops everything in reverse start order: frozen processes are thawed (SIGCONT) first, then each gets SIGTERM and, after a grace (engine 15 s, others 5 s), SIGKILL.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _disposing = true;
        var children = SnapshotChildren();
        foreach (var c in children)
        {
            int? pid;
            lock (_gate) pid = c.State == ComponentState.Frozen ? (c.ExternalPid ?? c.Pid) : null;
            if (pid is int p) Posix.Signal(p, Posix.SigCont);
        }
        if (children.Count > 0) Say("stopping everything (reverse start order)");
        foreach (var c in Enumerable.Reverse(children))
        {
            if (c.ExternalPid is not null) continue;
            try { await StopChildAsync(c, CancellationToken.None).ConfigureAwait(false); }
            catch (InvalidOperationException e) { Say($"{c.Name}: {e.Message}"); }
        }
        if (_postgres is not null)
        {
            Say("stopping postgres");
            await _postgres.DisposeAsync().ConfigureAwait(false);
            lock (_gate)
            {
                foreach (var c in children.Where(c => c.ExternalPid is not null)) c.State = ComponentState.Exited;
            }
        }
        WriteManifest();
        _http.Dispose();
        if (children.Count > 0) Say("stopped");
    }

    // ------------------------------------------------------------------ definitions

    private void Define(ExhCommand exh, string prometheusBinary, PlatformPorts ports)
    {
        var o = _options;
        var e = Endpoints;
        string data = e.DataDirectory;
        string Log(string name) => Path.Combine(e.LogDirectory, name + ".log");
        string Port(int p) => "127.0.0.1:" + p.ToString(CultureInfo.InvariantCulture);
        string Secs(TimeSpan t) => PromDurationText(t);
        List<string> Exh(params string[] args) => [.. exh.LeadingArguments, .. args];
        var children = new List<Child>();

        var engine = new Child(ComponentNames.Engine, exh.FileName,
            [.. Exh("engine", "--data", e.EngineData, "--listen", Port(ports.EngineTcp), "--http", Port(ports.EngineHttp)), .. o.EngineExtraArgs],
            RepositoryRoot, Log(ComponentNames.Engine), TimeSpan.FromSeconds(15), EngineReadyAsync)
        { Endpoint = $"tcp {Port(ports.EngineTcp)}, http {e.EngineHttp}" };
        children.Add(engine);

        string promDir = Path.Combine(data, "prometheus");
        Directory.CreateDirectory(promDir);
        string promConfig = Path.Combine(promDir, "prometheus.yml");
        File.WriteAllText(promConfig, PlatformConfig.PrometheusYaml(o.ScrapeInterval, Path.Combine(RepositoryRoot, "alert-rules"),
            Port(ports.EngineHttp), Port(ports.Canary), e.Monitors.Select(m => m.Api.Authority).ToList()));
        children.Add(new Child(ComponentNames.Prometheus, prometheusBinary,
            ["--config.file=" + promConfig, "--storage.tsdb.path=" + Path.Combine(promDir, "tsdb"), "--web.listen-address=" + Port(ports.Prometheus),
             "--storage.tsdb.retention.time=2d"],
            promDir, Log(ComponentNames.Prometheus), TimeSpan.FromSeconds(5), c => HttpOkAsync(new Uri(e.Prometheus, "-/ready"), c))
        { Endpoint = e.Prometheus.ToString() });

        string routing = Path.Combine(RepositoryRoot, "config", "alertmanager.yml");
        if (o.SlackApi is not null)
        {
            string generated = Path.Combine(data, "alertmanager.yml");
            File.WriteAllText(generated, PlatformConfig.RoutingWithSlackApi(File.ReadAllText(routing), o.SlackApi));
            routing = generated;
        }
        string reports = Path.Combine(data, "reports");
        foreach (var node in e.Monitors)
        {
            Directory.CreateDirectory(node.DataDirectory);
            var args = Exh("monitor", "--prometheus", e.Prometheus.ToString(), "--rules", Path.Combine(RepositoryRoot, "alert-rules"),
                "--routing", routing, "--data", node.DataDirectory, "--listen", node.Api.Authority, "--engine-data", e.EngineData,
                "--reports", reports, "--evaluation-interval", Secs(o.MonitorEvaluationInterval));
            string slos = Path.Combine(RepositoryRoot, "slos");
            args.AddRange(["--slo-specs", Directory.Exists(slos) ? slos : "none"]);
            string inhibit = Path.Combine(RepositoryRoot, "config", "slo-inhibit-rules.yml");
            if (File.Exists(inhibit)) args.AddRange(["--inhibit-rules", inhibit]);
            if (o.MonitorNodes == 2) args.AddRange(["--node-id", node.Name]);
            args.AddRange(o.MonitorExtraArgs);
            var child = new Child(node.Name, exh.FileName, args, RepositoryRoot, Log(node.Name), TimeSpan.FromSeconds(5),
                async c => File.Exists(node.TokenFile) && await HttpOkAsync(new Uri(node.Api, "ready"), c).ConfigureAwait(false))
            { Endpoint = node.Api.ToString() };
            if (o.SlackApi is not null)
            {
                child.Environment["SLACK_BOT_TOKEN"] = o.SlackBotToken;
                child.Environment["SLACK_SIGNING_SECRET"] = o.SlackSigningSecret;
            }
            if (o.MonitorNodes == 2 && e.Postgres is { } cs)
            {
                child.Environment["EXH_MONITOR_POSTGRES"] = cs;
                child.Environment["EXH_INCIDENTS_POSTGRES"] = cs;
            }
            children.Add(child);
        }

        string canaryData = Path.Combine(data, "canary");
        Directory.CreateDirectory(canaryData);
        children.Add(new Child(ComponentNames.Canary, exh.FileName,
            Exh("canary", "--engine-data", e.EngineData, "--listen", Port(ports.Canary), "--data", canaryData, "--interval", Secs(o.CanaryInterval)),
            RepositoryRoot, Log(ComponentNames.Canary), TimeSpan.FromSeconds(5), c => HttpOkAsync(new Uri(e.Canary, "health"), c))
        { Endpoint = e.Canary.ToString() });

        if (o.OrderFlow.Kind != OrderFlowKind.None)
        {
            var args = Exh("load", "--engine-data", e.EngineData, "--rate", o.OrderFlow.Rate.ToString(CultureInfo.InvariantCulture), "--duration", "24h");
            if (o.OrderFlow.Kind == OrderFlowKind.Replay) args.AddRange(["--workload", "replay", "--file", Path.GetFullPath(o.OrderFlow.File!)]);
            children.Add(new Child(ComponentNames.Load, exh.FileName, args, RepositoryRoot, Log(ComponentNames.Load), TimeSpan.FromSeconds(5), null)
            { Endpoint = o.OrderFlow.Kind == OrderFlowKind.Replay ? "replay " + o.OrderFlow.File : "generated" });
        }
        lock (_gate) _children.AddRange(children);
    }

    private async Task<bool> EngineReadyAsync(CancellationToken cancellationToken)
    {
        int? pid;
        lock (_gate) pid = _children.First(c => c.Name == ComponentNames.Engine).Pid;
        if (!EngineEndpoints.TryRead(Endpoints.EngineData, out var written, out _) || written!.Pid != pid) return false;
        return await HttpOkAsync(new Uri(Endpoints.EngineHttp, "ready"), cancellationToken).ConfigureAwait(false);
    }

    private async Task<bool> HttpOkAsync(Uri uri, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _http.GetAsync(uri, cancellationToken).ConfigureAwait(false);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException) { return false; }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested) { return false; }
    }

    // ------------------------------------------------------------------ process control

    private async Task StartChildAsync(Child c, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        var process = Launch(c);
        if (c.Ready is null)
        {
            Say($"{c.Name} started (pid {process.Id})");
            return;
        }
        var deadline = started.Elapsed + _options.ReadyTimeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
                throw new InvalidOperationException(
                    $"{c.Name} (pid {process.Id}) exited with code {process.ExitCode} before it was ready. Last lines of {c.LogPath}:\n{Tail(c.LogPath, 40)}");
            }
            if (await c.Ready(cancellationToken).ConfigureAwait(false)) break;
            if (started.Elapsed > deadline)
            {
                throw new TimeoutException(
                    $"{c.Name} (pid {process.Id}) was not ready within {_options.ReadyTimeout.TotalSeconds:0} s. Last lines of {c.LogPath}:\n{Tail(c.LogPath, 40)}");
            }
            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
        lock (_gate)
        {
            if (c.Process == process && c.State == ComponentState.Starting) c.State = ComponentState.Running;
        }
        WriteManifest();
        Say($"{c.Name} ready (pid {process.Id}, {started.Elapsed.TotalSeconds:0.0} s){(c.Endpoint is null ? "" : ": " + c.Endpoint)}");
    }

    private Process Launch(Child c)
    {
        File.AppendAllText(c.LogPath, $"=== exh up: starting {c.Name} at {_options.Time.GetUtcNow():O}: {string.Join(' ', c.FileName, string.Join(' ', c.Arguments))}\n");
        // sh execs setsid, which execs the program (no fork: sh is not a process-group leader), so the
        // PID is the program's; its own session keeps a terminal's Ctrl-C away from it; output is
        // appended to the log by the child itself.
        var psi = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, WorkingDirectory = c.WorkingDirectory };
        string setsid = ExternalTool.TryFind("setsid") is null ? "" : "setsid ";
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add($"exec {setsid}\"$@\" >>\"$0\" 2>&1 </dev/null");
        psi.ArgumentList.Add(c.LogPath);
        psi.ArgumentList.Add(c.FileName);
        foreach (string a in c.Arguments) psi.ArgumentList.Add(a);
        foreach (var (key, value) in c.Environment) psi.Environment[key] = value;
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        process.Exited += (_, _) => OnExited(c, process);
        lock (_gate)
        {
            if (!process.Start()) throw new InvalidOperationException($"{c.Name} did not start");
            c.Process?.Dispose();
            c.Process = process;
            c.Pid = process.Id;
            c.State = ComponentState.Starting;
            c.StopRequested = false;
            c.LastStart = _options.Time.GetUtcNow();
            if (c.Ready is null) c.State = ComponentState.Running;
        }
        WriteManifest();
        return process;
    }

    private void OnExited(Child c, Process process)
    {
        int code;
        try { code = process.ExitCode; }
        catch (InvalidOperationException) { code = -1; }
        bool expected, restart;
        lock (_gate)
        {
            if (c.Process != process) return;
            c.State = ComponentState.Exited;
            expected = c.StopRequested || _disposing;
            restart = !expected && c.Name == ComponentNames.Load;
        }
        if (!expected) Say($"{c.Name} (pid {process.Id}) exited unexpectedly with code {code}; log {c.LogPath}" + (restart ? "" : " (not restarted)"));
        if (!_disposing) WriteManifest();
        ComponentExited?.Invoke(this, new ComponentExitedEventArgs(c.Name, process.Id, code, expected));
        if (restart) _ = RestartLoadLaterAsync(c, process);
    }

    private async Task RestartLoadLaterAsync(Child c, Process exited)
    {
        var wait = c.LastStart + _loadRestartInterval - _options.Time.GetUtcNow();
        if (wait > TimeSpan.Zero) await Task.Delay(wait, _options.Time).ConfigureAwait(false);
        lock (_gate)
        {
            if (_disposing || c.Process != exited || c.StopRequested || c.State != ComponentState.Exited) return;
        }
        try
        {
            Launch(c);
            Say($"{c.Name} restarted (pid {c.Pid})");
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or IOException)
        {
            Say($"{c.Name} could not be restarted: {e.Message}");
        }
    }

    private async Task StopChildAsync(Child c, CancellationToken cancellationToken)
    {
        Process? process;
        bool frozen;
        lock (_gate)
        {
            process = c.Process;
            if (c.ExternalPid is not null) throw new InvalidOperationException($"{c.Name} is stopped with the platform");
            if (process is null || c.State is ComponentState.Exited or ComponentState.NotStarted) return;
            c.StopRequested = true;
            frozen = c.State == ComponentState.Frozen;
        }
        int pid = process.Id;
        if (frozen) Posix.Signal(pid, Posix.SigCont);
        Posix.Signal(pid, Posix.SigTerm);
        if (!await WaitForExitAsync(c, pid, c.Grace, cancellationToken).ConfigureAwait(false))
        {
            Say($"{c.Name} (pid {pid}) did not stop within {c.Grace.TotalSeconds:0} s of SIGTERM: SIGKILL");
            Posix.Signal(pid, Posix.SigKill);
            await WaitForExitAsync(c, pid, Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
        }
        lock (_gate)
        {
            if (c.Process == process) c.State = ComponentState.Exited;
        }
        Say($"{c.Name} stopped (pid {pid})");
        if (!_disposing) WriteManifest();
    }

    private static async Task<bool> WaitForExitAsync(Child c, int pid, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout != Timeout.InfiniteTimeSpan) cts.CancelAfter(timeout);
        try
        {
            if (c.Process is { } p && p.Id == pid)
            {
                await p.WaitForExitAsync(cts.Token).ConfigureAwait(false);
                return true;
            }
            while (Posix.IsAlive(pid)) await Task.Delay(50, cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    // ------------------------------------------------------------------ manifest

    private static void RefuseWhenRunning(string data)
    {
        var manifest = PlatformManifest.TryRead(Path.Combine(data, ManifestFileName));
        if (manifest is null) return;
        var live = manifest.Components.Where(c => c.Pid is int pid && PlatformManifest.IsSameProcess(pid, c.Command)).ToList();
        if (live.Count == 0) return;
        string pids = string.Join(" ", live.Select(c => c.Pid!.Value.ToString(CultureInfo.InvariantCulture)));
        throw new InvalidOperationException(
            $"{Path.Combine(data, ManifestFileName)} names processes of a platform that is still running: "
            + string.Join(", ", live.Select(c => $"{c.Name} (pid {c.Pid})"))
            + $". Stop that 'exh up' (Ctrl-C in its terminal, or kill -TERM {manifest.SupervisorPid}), or stop the processes: kill -TERM {pids}; or use another --data directory.");
    }

    private void WriteManifest()
    {
        List<PlatformManifest.Entry> entries;
        lock (_gate)
        {
            entries = _children.Select(c => new PlatformManifest.Entry(
                c.Name,
                c.ExternalPid is int ext ? (Posix.IsAlive(ext) ? ext : null) : (c.State is ComponentState.Exited or ComponentState.NotStarted ? null : c.Pid),
                c.State.ToString(),
                c.ExternalPid is int x ? Posix.CommandLine(x) : [c.FileName, .. c.Arguments],
                c.Endpoint,
                c.LogPath)).ToList();
        }
        var manifest = new PlatformManifest(Environment.ProcessId, _startedAt, _options.Time.GetUtcNow(), Endpoints.DataDirectory,
            Endpoints.EngineHttp.ToString(), Endpoints.Prometheus.ToString(), Endpoints.Monitors.Select(m => m.Api.ToString()).ToList(),
            Endpoints.Canary.ToString(), entries);
        try { manifest.Write(ManifestPath); }
        catch (IOException e) { Say($"cannot write {ManifestPath}: {e.Message}"); }
    }

    // ------------------------------------------------------------------ helpers

    private Child Get(string component)
    {
        ArgumentNullException.ThrowIfNull(component);
        lock (_gate)
        {
            return _children.FirstOrDefault(c => c.Name == component)
                ?? throw new ArgumentException($"unknown component '{component}' (this platform has: {string.Join(", ", _children.Select(c => c.Name))})", nameof(component));
        }
    }

    private List<Child> SnapshotChildren()
    {
        lock (_gate) return [.. _children];
    }

    private void Say(string line)
    {
        if (_progress is null) return;
        lock (_progressGate)
        {
            _progress.WriteLine($"{_options.Time.GetLocalNow():HH:mm:ss} exh up: {line}");
            _progress.Flush();
        }
    }

    internal static string Tail(string path, int lines)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length > 64 * 1024) stream.Seek(-64 * 1024, SeekOrigin.End);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines - 1)));
        }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    private static Uri LocalUri(int port) => new(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/"));

    private static string PromDurationText(TimeSpan t) =>
        t.TotalMilliseconds % 1000 == 0
            ? ((long)t.TotalSeconds).ToString(CultureInfo.InvariantCulture) + "s"
            : ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";

    /// <summary>The first directory with <c>alert-rules/</c> and <c>config/alertmanager.yml</c> upwards of the current directory, then of the executable; null when none.</summary>
    public static string? FindRepositoryRoot()
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (Directory.Exists(Path.Combine(dir.FullName, "alert-rules")) && File.Exists(Path.Combine(dir.FullName, "config", "alertmanager.yml")))
                    return dir.FullName;
            }
        }
        return null;
    }

    private sealed class Child(string name, string fileName, IReadOnlyList<string> arguments, string workingDirectory, string logPath, TimeSpan grace,
        Func<CancellationToken, Task<bool>>? ready)
    {
        public string Name { get; } = name;
        public string FileName { get; } = fileName;
        public IReadOnlyList<string> Arguments { get; } = arguments;
        public string WorkingDirectory { get; } = workingDirectory;
        public string LogPath { get; } = logPath;
        public TimeSpan Grace { get; } = grace;
        public Func<CancellationToken, Task<bool>>? Ready { get; } = ready;
        public Dictionary<string, string> Environment { get; } = new(StringComparer.Ordinal);
        public string? Endpoint { get; init; }
        public int? ExternalPid { get; init; }
        public Process? Process { get; set; }
        public int? Pid { get; set; }
        public ComponentState State { get; set; }
        public bool StopRequested { get; set; }
        public DateTimeOffset LastStart { get; set; }
    }
}
