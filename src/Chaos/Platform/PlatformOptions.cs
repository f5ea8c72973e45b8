using System.Reflection;

namespace ExchangeHealth.Chaos.Platform;

/// <summary>How to run <c>exh</c> itself: an executable and the arguments before the subcommand.</summary>
/// <param name="FileName">The executable, e.g. the <c>exh</c> apphost or <c>dotnet</c>.</param>
/// <param name="LeadingArguments">Arguments before the subcommand, e.g. the path of <c>exh.dll</c> after <c>dotnet</c>.</param>
public sealed record ExhCommand(string FileName, IReadOnlyList<string> LeadingArguments)
{
    /// <summary>
    /// The command of the running process: <see cref="Environment.ProcessPath"/> when it is an apphost,
    /// or <c>dotnet ENTRY.dll</c> when the process is <c>dotnet</c> (as under the <c>./exh</c> wrapper).
    /// </summary>
    /// <exception cref="InvalidOperationException">The process path or entry assembly is unknown.</exception>
    public static ExhCommand Current()
    {
        string process = Environment.ProcessPath ?? throw new InvalidOperationException("the path of the running executable is unknown");
        string name = Path.GetFileNameWithoutExtension(process);
        if (!string.Equals(name, "dotnet", StringComparison.OrdinalIgnoreCase)) return new ExhCommand(process, []);
        string entry = Assembly.GetEntryAssembly()?.Location is { Length: > 0 } l ? l
            : throw new InvalidOperationException("the entry assembly of this dotnet process is unknown; set PlatformOptions.ExhCommand");
        return new ExhCommand(process, [entry]);
    }

    /// <summary><c>dotnet PATH/exh.dll</c>.</summary>
    /// <param name="exhDll">The path of <c>exh.dll</c>.</param>
    public static ExhCommand Dll(string exhDll) => new("dotnet", [Path.GetFullPath(exhDll)]);
}

/// <summary>TCP ports on 127.0.0.1 of the platform's servers; <c>0</c> means "pick a free one before starting" (kept across restarts).</summary>
/// <param name="EngineTcp">Engine order entry (binary protocol), default 7001.</param>
/// <param name="EngineHttp">Engine HTTP (JSON API, /ready, /metrics, /admin), default 7080.</param>
/// <param name="Prometheus">Prometheus, default 9090.</param>
/// <param name="Monitor">First monitor node's HTTP API, default 7090.</param>
/// <param name="Canary">Canary /metrics and /health, default 7091.</param>
/// <param name="Monitor2">Second monitor node's HTTP API (two-node platforms only), default 7092.</param>
public sealed record PlatformPorts(int EngineTcp = 7001, int EngineHttp = 7080, int Prometheus = 9090, int Monitor = 7090, int Canary = 7091, int Monitor2 = 7092)
{
    /// <summary>Every port picked free at start.</summary>
    public static PlatformPorts Auto { get; } = new(0, 0, 0, 0, 0, 0);
}

/// <summary>Kinds of order flow.</summary>
public enum OrderFlowKind
{
    /// <summary>No order flow (no <c>load</c> component).</summary>
    None,

    /// <summary><c>exh load</c> with the generated workload.</summary>
    Generated,

    /// <summary><c>exh load --workload replay --file F</c>: a replay of real order flow.</summary>
    Replay,
}

/// <summary>The platform's order flow: run by <c>exh load</c> as the component <see cref="ComponentNames.Load"/>, restarted when it exits (at most once per 5 s).</summary>
/// <param name="Kind">None, generated or replay.</param>
/// <param name="Rate">Commands per second over all connections.</param>
/// <param name="File">The order-flow file of a replay (bitfinex, lobster or our CSV; see docs/replay.md).</param>
public sealed record OrderFlow(OrderFlowKind Kind, double Rate = 100, string? File = null)
{
    /// <summary>No order flow.</summary>
    public static OrderFlow None { get; } = new(OrderFlowKind.None, 0);

    /// <summary>The generated workload at <paramref name="rate"/> commands/s.</summary>
    public static OrderFlow Generated(double rate) => new(OrderFlowKind.Generated, rate);

    /// <summary>A replay of <paramref name="file"/> at <paramref name="rate"/> commands/s.</summary>
    public static OrderFlow Replay(string file, double rate) => new(OrderFlowKind.Replay, rate, file);
}

/// <summary>What <see cref="PlatformSupervisor.StartAsync(PlatformOptions, TextWriter?, CancellationToken)"/> starts and where. Every field has a default.</summary>
public sealed record PlatformOptions
{
    /// <summary>Root data directory (default <c>data/up</c>): <c>engine/</c>, <c>prometheus/</c>, <c>monitor/</c>, <c>canary/</c>, <c>reports/</c>, <c>logs/</c>, <c>up.json</c>.</summary>
    public string DataDirectory { get; init; } = Path.Combine("data", "up");

    /// <summary>How to run <c>exh</c> (default: <see cref="ExhCommand.Current"/>).</summary>
    public ExhCommand? ExhCommand { get; init; }

    /// <summary>The repository root holding <c>alert-rules/</c>, <c>slos/</c> and <c>config/</c> (default: the first directory with <c>alert-rules/</c> and <c>config/alertmanager.yml</c> upwards of the current directory, then of the executable).</summary>
    public string? RepositoryRoot { get; init; }

    /// <summary>Ports; <see cref="PlatformPorts.Auto"/> picks free ones.</summary>
    public PlatformPorts Ports { get; init; } = new();

    /// <summary>Order flow (default: generated, 100 commands/s).</summary>
    public OrderFlow OrderFlow { get; init; } = OrderFlow.Generated(100);

    /// <summary>
    /// A Slack Web API stand-in (e.g. <c>FakeSlackServer.BaseUrl</c>): the monitors get a routing file
    /// that is <c>config/alertmanager.yml</c> with <c>global.slack_api_url</c> pointing there (channels
    /// <c>C0EXONCALL</c> and <c>C0EXALERTS</c>, which the stand-in must know), and
    /// <see cref="SlackBotToken"/> / <see cref="SlackSigningSecret"/> in their environment. Null: the
    /// repository's routing file; Slack is real when <c>SLACK_BOT_TOKEN</c> is set in this process's
    /// environment, else notifications go to the console (the monitor's log).
    /// </summary>
    public Uri? SlackApi { get; init; }

    /// <summary>Bot token given to the monitors with <see cref="SlackApi"/> (default the stand-in's <c>xoxb-fake-token</c>).</summary>
    public string SlackBotToken { get; init; } = Slack.FakeSlackServer.DefaultToken;

    /// <summary>Signing secret given to the monitors with <see cref="SlackApi"/>.</summary>
    public string SlackSigningSecret { get; init; } = "exh-up-signing-secret";

    /// <summary>Monitor nodes: 1, or 2 (a Quartz cluster on PostgreSQL, <c>--node-id monitor|monitor-2</c>).</summary>
    public int MonitorNodes { get; init; } = 1;

    /// <summary>PostgreSQL of a two-node monitor (job store, state, incidents). Null with two nodes: a throwaway <see cref="PostgresServer"/> is started as the component <see cref="ComponentNames.Postgres"/>.</summary>
    public string? PostgresConnectionString { get; init; }

    /// <summary>The engine's data directory (default <c>DATA/engine</c>; chaos experiments put the journal on a tmpfs).</summary>
    public string? EngineDataDirectory { get; init; }

    /// <summary>Extra arguments of <c>exh engine</c>.</summary>
    public IReadOnlyList<string> EngineExtraArgs { get; init; } = [];

    /// <summary>Extra arguments of every <c>exh monitor</c> node.</summary>
    public IReadOnlyList<string> MonitorExtraArgs { get; init; } = [];

    /// <summary>The monitor's <c>--evaluation-interval</c> (default 1 s).</summary>
    public TimeSpan MonitorEvaluationInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The canary's probe interval (default 1 s).</summary>
    public TimeSpan CanaryInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Prometheus's scrape and evaluation interval (default 1 s).</summary>
    public TimeSpan ScrapeInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait for one component's readiness (default 60 s).</summary>
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Clock for log timestamps and the order-flow restart back-off.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
