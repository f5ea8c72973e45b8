using ExchangeHealth.Engine;
using ExchangeHealth.Engine.Replay;
using ExchangeHealth.Load.Client;

namespace ExchangeHealth.Load;

/// <summary>How the load driver decides when to send.</summary>
public enum LoadModel
{
    /// <summary>
    /// Open model: commands arrive on a schedule (<see cref="LoadOptions.Rate"/>) whatever the
    /// engine does; latency is measured from each command's intended send time.
    /// </summary>
    Open,
    /// <summary>
    /// Closed model: each connection keeps <see cref="LoadOptions.Concurrency"/> requests in flight
    /// and sends the next one when one is acknowledged; latency is measured from the actual send.
    /// </summary>
    Closed,
}

/// <summary>Where the commands come from.</summary>
public enum LoadWorkloadKind
{
    /// <summary>The exchange-core style <see cref="Engine.Workload.WorkloadGenerator"/> (pre-fill, then a realistic mix).</summary>
    Generator,
    /// <summary>An order-flow file (Bitfinex, LOBSTER or our CSV) read through the replay sources.</summary>
    Replay,
}

/// <summary>Settings of a load run (<see cref="LoadRunner.RunAsync"/>). Every property except <see cref="ApiKeys"/> has a default.</summary>
public sealed record LoadOptions
{
    /// <summary>The default target port of the engine's order-entry server.</summary>
    public const int DefaultPort = 7001;

    /// <summary>The engine's order-entry host. Must be a loopback address unless <see cref="AllowRemote"/> (load tests target 127.0.0.1 only). Default 127.0.0.1.</summary>
    public string Host { get; init; } = "127.0.0.1";

    /// <summary>The engine's order-entry port. Default 7001.</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>Allow a target that is not a loopback address. Default false.</summary>
    public bool AllowRemote { get; init; }

    /// <summary>API keys; connection <c>i</c> logs on with key <c>i mod count</c>, so each connection trades for that key's account.</summary>
    public IReadOnlyList<string> ApiKeys { get; init; } = [];

    /// <summary>Number of TCP sessions. Default 1.</summary>
    public int Connections { get; init; } = 1;

    /// <summary>Open or closed model. Default open.</summary>
    public LoadModel Model { get; init; } = LoadModel.Open;

    /// <summary>Open model: the total arrival rate over all connections, as a function of time. Default 1,000 commands/s constant.</summary>
    public RateSchedule Rate { get; init; } = RateSchedule.Constant(1000);

    /// <summary>Closed model: requests in flight per connection. Default 1.</summary>
    public int Concurrency { get; init; } = 1;

    /// <summary>Length of the measured run; null for no time bound (then <see cref="Count"/> or the end of the input ends it). Default 10 s.</summary>
    public TimeSpan? Duration { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Most commands to send in the measured run (pre-fill not included); null for no bound.</summary>
    public long? Count { get; init; }

    /// <summary>The source of commands. Default the generator.</summary>
    public LoadWorkloadKind Workload { get; init; } = LoadWorkloadKind.Generator;

    /// <summary>Replay: the order-flow file.</summary>
    public string? ReplayFile { get; init; }

    /// <summary>Replay: the file's format (default: detected).</summary>
    public OrderFlowFormat ReplayFormat { get; init; } = OrderFlowFormat.Auto;

    /// <summary>The engine's markets (null: the embedded default, config/markets.yaml). Commands name markets by id.</summary>
    public IReadOnlyList<MarketDefinition>? Markets { get; init; }

    /// <summary>Generator: the markets that receive orders. Default market 1 (BTC/USD).</summary>
    public IReadOnlyList<ushort> GeneratorMarketIds { get; init; } = [1];

    /// <summary>Generator: seed of the command stream. Default 1.</summary>
    public long Seed { get; init; } = 1;

    /// <summary>Generator: resting orders to build up before the measured run and keep in steady state. Default 1,000.</summary>
    public int TargetRestingOrders { get; init; } = 1000;

    /// <summary>Generator: send the pre-fill (passive orders up to <see cref="TargetRestingOrders"/>) before the measured run. Default true.</summary>
    public bool PreFill { get; init; } = true;

    /// <summary>Open model: a command sent more than this after its intended time counts as a late send. Default 1 ms.</summary>
    public TimeSpan LateThreshold { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>
    /// Open model: most requests in flight on one connection. A command due while its connection is
    /// at this bound is not sent and counts as dropped. Default 10,000.
    /// </summary>
    public int MaxInFlightPerConnection { get; init; } = 10_000;

    /// <summary>After the last send, how long to wait for the outstanding acknowledgements; those still missing count as unacknowledged. Default 5 s.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// First client order id of every account; null (the default) for the engine's last durable
    /// sequence at logon plus one. Each command uses a new id; since each journaled command takes a
    /// sequence number, ids chosen this way were not used by earlier runs against the same engine.
    /// </summary>
    public ulong? ClOrdIdBase { get; init; }

    /// <summary>Keep every acknowledged new order (pre-fill included) in <see cref="LoadReport.AcknowledgedOrders"/>. Default false.</summary>
    public bool RecordAcknowledged { get; init; }

    /// <summary>Pass/fail criteria, evaluated into <see cref="LoadReport.Thresholds"/>.</summary>
    public IReadOnlyList<LoadThreshold> Thresholds { get; init; } = [];

    /// <summary>How often the timeline gets a point and progress is reported. Default 1 s.</summary>
    public TimeSpan SampleInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The clock for schedules, timestamps and the timeline. Default the system clock.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Settings of each connection's <see cref="OrderEntryClient"/> (its <see cref="OrderEntryClientOptions.TimeProvider"/> is replaced by <see cref="TimeProvider"/>).</summary>
    public OrderEntryClientOptions? ClientOptions { get; init; }

    /// <summary>Checks the options.</summary>
    /// <returns>null when valid, else the first problem, naming the option as the CLI does.</returns>
    public string? Validate()
    {
        if (string.IsNullOrWhiteSpace(Host)) return "--target: the host is empty";
        if (Port is < 1 or > 65535) return $"--target: port {Port} is not in 1..65535";
        if (ApiKeys.Count == 0) return "no API key: pass --credentials FILE or --api-key KEY";
        foreach (string key in ApiKeys)
        {
            if (string.IsNullOrEmpty(key) || key.Length > Engine.Gateway.Protocol.OrderEntryProtocol.MaxApiKeyLength || !System.Text.Ascii.IsValid(key))
                return $"an API key must have 1..{Engine.Gateway.Protocol.OrderEntryProtocol.MaxApiKeyLength} ASCII characters";
        }
        if (Connections is < 1 or > 10_000) return "--connections must be in 1..10000";
        if (Model == LoadModel.Closed && Concurrency is < 1 or > 1_000_000) return "--concurrency must be in 1..1000000";
        if (Duration is { } d && d <= TimeSpan.Zero) return "--duration must be positive";
        if (Count is < 0) return "--count must not be negative";
        if (Duration is null && Count is null && Workload == LoadWorkloadKind.Generator)
            return "the generator never ends by itself: give --duration or --count";
        if (Workload == LoadWorkloadKind.Replay && string.IsNullOrEmpty(ReplayFile)) return "--workload replay needs --file PATH";
        if (Workload == LoadWorkloadKind.Generator && GeneratorMarketIds.Count == 0) return "--market-ids: at least one market is needed";
        if (TargetRestingOrders < 0) return "--resting-orders must not be negative";
        if (LateThreshold < TimeSpan.Zero) return "--late-threshold must not be negative";
        if (MaxInFlightPerConnection < 1) return "--max-in-flight must be at least 1";
        if (DrainTimeout < TimeSpan.Zero) return "--drain-timeout must not be negative";
        if (ClOrdIdBase is { } b && (b == 0 || b > Engine.Gateway.Protocol.OrderEntryProtocol.MaxClOrdId)) return "--cl-ord-id-base must be in 1..2^40-1";
        if (SampleInterval <= TimeSpan.Zero) return "the sample interval must be positive";
        if (Model == LoadModel.Open && !(Rate.SecondsOf(0) < (Duration?.TotalSeconds ?? double.PositiveInfinity)))
            return "the rate is 0 for the whole run: nothing would be sent";
        return ClientOptions?.Validate();
    }
}
