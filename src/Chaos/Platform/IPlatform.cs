using System.Net;

namespace ExchangeHealth.Chaos.Platform;

/// <summary>Names of the platform's components (child processes), as used by <see cref="IPlatform"/>, <c>up.json</c> and experiment files.</summary>
public static class ComponentNames
{
    /// <summary>The matching engine (<c>exh engine</c>).</summary>
    public const string Engine = "engine";

    /// <summary>The real Prometheus server (scrapes every 1 s, loads <c>alert-rules/</c>).</summary>
    public const string Prometheus = "prometheus";

    /// <summary>The first (or only) monitor node (<c>exh monitor</c>).</summary>
    public const string Monitor = "monitor";

    /// <summary>The second monitor node, when the platform runs two in a Quartz cluster on PostgreSQL.</summary>
    public const string Monitor2 = "monitor-2";

    /// <summary>The canary prober (<c>exh canary</c>).</summary>
    public const string Canary = "canary";

    /// <summary>Order flow (<c>exh load</c>: generated workload or a replay of real data).</summary>
    public const string Load = "load";

    /// <summary>The throwaway PostgreSQL server of a two-node monitor cluster.</summary>
    public const string Postgres = "postgres";
}

/// <summary>What a component's process is doing, as the supervisor last saw it.</summary>
public enum ComponentState
{
    /// <summary>Never started (or not part of this platform).</summary>
    NotStarted,

    /// <summary>Started, readiness check not passed yet.</summary>
    Starting,

    /// <summary>Running and ready.</summary>
    Running,

    /// <summary>Stopped by SIGSTOP (frozen), until SIGCONT.</summary>
    Frozen,

    /// <summary>The process has exited (crash, kill, or a stop).</summary>
    Exited,
}

/// <summary>Signals a chaos action sends to a component's process (by its PID only).</summary>
public enum ComponentSignal
{
    /// <summary>SIGKILL: a crash, no clean-up.</summary>
    Kill,

    /// <summary>SIGTERM: a graceful stop (the engine drains, flushes and snapshots).</summary>
    Terminate,

    /// <summary>SIGSTOP: freeze (gray failure).</summary>
    Stop,

    /// <summary>SIGCONT: thaw after <see cref="Stop"/>.</summary>
    Continue,
}

/// <summary>One monitor node's endpoints.</summary>
/// <param name="Name">Component name (<see cref="ComponentNames.Monitor"/> or <see cref="ComponentNames.Monitor2"/>).</param>
/// <param name="Api">HTTP API base address, e.g. <c>http://127.0.0.1:7090/</c>.</param>
/// <param name="TokenFile">The bearer token file (<c>DATA/monitor-token</c>, mode 0600).</param>
/// <param name="DataDirectory">The node's data directory.</param>
public sealed record MonitorNodeEndpoints(string Name, Uri Api, string TokenFile, string DataDirectory);

/// <summary>Where everything of a running platform is. All servers listen on 127.0.0.1.</summary>
public sealed record PlatformEndpoints
{
    /// <summary>The platform's root data directory (engine, prometheus, monitor, canary, logs below it).</summary>
    public required string DataDirectory { get; init; }

    /// <summary>Directory of every component's log file (<c>NAME.log</c>: stdout and stderr).</summary>
    public required string LogDirectory { get; init; }

    /// <summary>The engine's data directory (journal, snapshots, <c>engine.json</c>, <c>credentials.yaml</c>, <c>events.jsonl</c>).</summary>
    public required string EngineData { get; init; }

    /// <summary>The engine's order-entry TCP endpoint (the binary protocol).</summary>
    public required IPEndPoint EngineTcp { get; init; }

    /// <summary>The engine's HTTP base address (JSON API, <c>/ready</c>, <c>/metrics</c>, <c>/admin</c>).</summary>
    public required Uri EngineHttp { get; init; }

    /// <summary>Prometheus's base address (<c>/api/v1/query</c>).</summary>
    public required Uri Prometheus { get; init; }

    /// <summary>The monitor nodes (one, or two in a cluster).</summary>
    public required IReadOnlyList<MonitorNodeEndpoints> Monitors { get; init; }

    /// <summary>The canary's base address (<c>/metrics</c>, <c>/health</c>).</summary>
    public required Uri Canary { get; init; }

    /// <summary>The Slack Web API the monitors post to (the local stand-in), or null when notifications go to the console or to real Slack.</summary>
    public Uri? SlackApi { get; init; }

    /// <summary>PostgreSQL connection string of a monitor cluster (Quartz job store, monitor state, incidents), or null. Never logged.</summary>
    public string? Postgres { get; init; }
}

/// <summary>
/// A running platform: the engine, Prometheus, the monitor node(s), the canary and order flow as
/// child processes this process started, each found and signalled by its PID only. Implemented by
/// the supervisor behind <c>exh up</c>; the chaos runner drives faults through it.
/// </summary>
public interface IPlatform : IAsyncDisposable
{
    /// <summary>Where everything is.</summary>
    PlatformEndpoints Endpoints { get; }

    /// <summary>The components of this platform, in start order.</summary>
    IReadOnlyList<string> Components { get; }

    /// <summary>The component's current PID, or null when it is not running.</summary>
    /// <exception cref="ArgumentException">Unknown component.</exception>
    int? PidOf(string component);

    /// <summary>The component's state.</summary>
    /// <exception cref="ArgumentException">Unknown component.</exception>
    ComponentState StateOf(string component);

    /// <summary>Sends <paramref name="signal"/> to the component's process (by PID). Returns when the signal was sent (for <see cref="ComponentSignal.Kill"/>: when the process has exited).</summary>
    /// <exception cref="ArgumentException">Unknown component.</exception>
    /// <exception cref="InvalidOperationException">The component is not running.</exception>
    Task SignalAsync(string component, ComponentSignal signal, CancellationToken cancellationToken = default);

    /// <summary>(Re)starts a component that is not running, with the same arguments and ports as before, and waits until it is ready.</summary>
    /// <exception cref="ArgumentException">Unknown component.</exception>
    /// <exception cref="TimeoutException">Not ready in time (the message holds the end of its log).</exception>
    Task StartAsync(string component, CancellationToken cancellationToken = default);

    /// <summary>Stops a component gracefully (SIGTERM, then SIGKILL after a grace period); nothing when it is not running.</summary>
    /// <exception cref="ArgumentException">Unknown component.</exception>
    Task StopAsync(string component, CancellationToken cancellationToken = default);
}
