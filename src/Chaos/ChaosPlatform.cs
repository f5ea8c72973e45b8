using System.Globalization;
using System.Text.Json.Nodes;
using ExchangeHealth.Chaos.Experiments;
using ExchangeHealth.Chaos.Faults;
using ExchangeHealth.Chaos.Platform;

namespace ExchangeHealth.Chaos;

/// <summary>
/// Joins the experiment runner to the real platform and to the fault providers: the platform
/// factory behind <c>exh chaos run</c> (an experiment's <c>platform:</c> section becomes
/// <see cref="PlatformOptions"/> for <see cref="PlatformSupervisor"/>, with the engine's journal on a
/// tmpfs when asked), and the actions and invariants of <c>src/Chaos/Faults</c> (recorded order
/// flow, disk full, CPU starvation, network toxics, monitor leader kill, loss checks).
/// </summary>
public static class ChaosPlatform
{
    private const string LedgerKey = "faults.order_ledger";
    private const string StressKey = "faults.stress_ng";
    private const string ProxyKey = "faults.toxic_proxy";

    /// <summary>
    /// Starts the platform an experiment asks for: free ports, data in <see cref="PlatformRequest.DataDirectory"/>,
    /// generated order flow at <see cref="PlatformRequest.OrderRate"/>, the Slack stand-in as the
    /// monitors' Slack API, one or two monitor nodes (two: a throwaway PostgreSQL), the engine's
    /// <c>journal/</c> on a tmpfs of <see cref="PlatformRequest.EngineJournalTmpfsBytes"/> (root only).
    /// </summary>
    /// <param name="request">The experiment's platform section (plus the stand-in URL and data directory).</param>
    /// <param name="exh">How to run <c>exh</c> (null: this process's own executable).</param>
    /// <param name="repositoryRoot">Where alert-rules/, config/ and slos/ are (null: found from the working directory).</param>
    /// <param name="progress">Start-up progress lines, or null.</param>
    /// <param name="cancellationToken">Cancels the start (what was started is stopped).</param>
    /// <exception cref="FaultNotPermittedException">A tmpfs journal was asked for without root.</exception>
    public static async Task<IPlatform> StartAsync(PlatformRequest request, ExhCommand? exh, string? repositoryRoot, TextWriter? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string data = Path.GetFullPath(request.DataDirectory ?? Path.Combine("data", "chaos"));
        string engineData = Path.Combine(data, "engine");
        TmpfsVolume? volume = null;
        if (request.EngineJournalTmpfsBytes is { } bytes)
        {
            string journal = Path.Combine(engineData, "journal");
            Directory.CreateDirectory(journal);
            volume = await TmpfsVolume.MountAsync(journal, bytes, cancellationToken).ConfigureAwait(false);
        }
        try
        {
            var options = new PlatformOptions
            {
                DataDirectory = data,
                ExhCommand = exh,
                RepositoryRoot = repositoryRoot,
                Ports = PlatformPorts.Auto,
                OrderFlow = request.OrderRate > 0 ? OrderFlow.Generated(request.OrderRate) : OrderFlow.None,
                SlackApi = request.SlackApi,
                MonitorNodes = request.MonitorNodes,
                EngineDataDirectory = engineData,
                EngineExtraArgs = request.EngineArgs,
            };
            var supervisor = await PlatformSupervisor.StartAsync(options, progress, cancellationToken).ConfigureAwait(false);
            return new VolumePlatform(supervisor, volume);
        }
        catch
        {
            if (volume is not null) await volume.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>The tmpfs under the engine's journal of a platform started by <see cref="StartAsync"/>, or null.</summary>
    public static TmpfsVolume? JournalVolumeOf(IPlatform platform) => (platform as VolumePlatform)?.Volume;

    /// <summary>
    /// Registers the fault providers' actions and the loss invariants:
    /// <c>orders.start {rate, connections}</c> / <c>orders.stop</c> (the recorded order flow the loss
    /// checks read), <c>disk.fill {leave}</c> / <c>disk.free</c> (the journal's tmpfs),
    /// <c>stress.cpu {workers, duration, load}</c> / <c>stress.stop</c>,
    /// <c>network.proxy.start</c> / <c>network.toxic {toxic, ...}</c> / <c>network.toxic.clear</c> /
    /// <c>network.proxy.stop</c>, <c>monitor.kill_leader {takeover_within}</c>; invariants
    /// <c>acknowledged_orders_durable</c>, <c>gapless_sequence</c>, <c>state_hash_matches_replay</c>.
    /// </summary>
    public static void Register(ChaosActionRegistry actions, InvariantRegistry invariants)
    {
        ArgumentNullException.ThrowIfNull(actions);
        ArgumentNullException.ThrowIfNull(invariants);
        actions.Register("orders.start", StartOrdersAsync, optional: ["rate", "connections", "via_proxy"],
            description: "recorded order flow over the TCP gateway (every client order id and its answer is kept for the loss checks)");
        actions.Register("orders.stop", StopOrdersAsync, description: "stop the recorded order flow (waits for outstanding answers)");
        actions.Register("disk.fill", FillDiskAsync, optional: ["leave"], description: "fill the engine journal's tmpfs until LEAVE bytes are free (platform.engine_journal_tmpfs)");
        actions.Register("disk.free", FreeDiskAsync, description: "delete the ballast: space returns");
        actions.Register("stress.cpu", StressAsync, optional: ["workers", "duration", "load"], description: "stress-ng --cpu WORKERS for DURATION (ends by itself)");
        actions.Register("stress.stop", StopStressAsync, description: "stop stress-ng early");
        actions.Register("network.proxy.start", StartProxyAsync,
            description: "an in-process TCP proxy with toxics in front of the engine's order-entry gateway (orders.start via_proxy: true connects through it)");
        actions.Register("network.toxic", AddToxicAsync, required: ["toxic"],
            optional: ["name", "direction", "toxicity", "latency_ms", "jitter_ms", "kb_per_s", "after_ms", "average_bytes", "delay_us", "timeout_ms"],
            description: "add a toxic to the proxy: latency, bandwidth, reset_peer, slicer, timeout, or down (reset every connection)");
        actions.Register("network.toxic.clear", ClearToxicsAsync, description: "remove every toxic and bring the proxy up");
        actions.Register("network.proxy.stop", StopProxyAsync, description: "stop the proxy");
        actions.Register("monitor.kill_leader", KillLeaderAsync, optional: ["takeover_within"],
            description: "SIGKILL the monitor node that leads, then wait until another node leads (fails after TAKEOVER_WITHIN)");
        invariants.Register("acknowledged_orders_durable", OrdersDurableAsync, description: "every order the recorded order flow saw acknowledged is in the engine's journal, once");
        invariants.Register("gapless_sequence", GaplessAsync, description: "the journal's sequence numbers have no gap and no duplicate");
        invariants.Register("state_hash_matches_replay", StateHashAsync, description: "the running engine's state hash equals a full replay of its journal");
    }

    private static Task<ActionOutcome> StartOrdersAsync(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken)
    {
        if (context.State.ContainsKey(LedgerKey)) return Task.FromResult(ActionOutcome.Failed("recorded order flow already running"));
        double rate = arguments.Number("rate", 100);
        int sessions = (int)arguments.Integer("connections", 1);
        if (rate <= 0 || rate > 20_000) return Task.FromResult(ActionOutcome.Failed($"rate {rate.ToString(CultureInfo.InvariantCulture)} is not in (0, 20000] orders/s"));
        if (sessions is < 1 or > 8) return Task.FromResult(ActionOutcome.Failed($"connections {sessions} is not in 1..8"));
        var options = OrderLedgerOptions.ForEngine(context.Platform.Endpoints.EngineData, sessions, rate);
        if (arguments.Flag("via_proxy"))
        {
            if (!context.State.TryGetValue(ProxyKey, out var p) || p is not ToxicProxy proxy) return Task.FromResult(ActionOutcome.Failed("via_proxy: no proxy running (run network.proxy.start first)"));
            options = options with { Endpoint = () => proxy.EndPoint };
        }
        var ledger = OrderLedger.Start(options);
        context.State[LedgerKey] = ledger;
        return Task.FromResult(ActionOutcome.Ok(string.Create(CultureInfo.InvariantCulture, $"recorded order flow: {rate} orders/s over {sessions} session(s)")));
    }

    private static async Task<ActionOutcome> StopOrdersAsync(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken)
    {
        if (!context.State.TryGetValue(LedgerKey, out var o) || o is not OrderLedger ledger) return ActionOutcome.Ok("no recorded order flow running");
        await ledger.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        var c = ledger.Counts;
        return ActionOutcome.Ok(string.Create(CultureInfo.InvariantCulture, $"recorded order flow stopped: sent {c.Sent}, acknowledged {c.Acknowledged}, rejected {c.Rejected}, unanswered {c.Pending}"));
    }

    private static async Task<ActionOutcome> FillDiskAsync(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken)
    {
        if (JournalVolumeOf(context.Platform) is not { } volume) return ActionOutcome.Failed("the engine's journal is not on a tmpfs: set platform.engine_journal_tmpfs");
        long leave = arguments.Integer("leave", 0);
        long written = await volume.FillAsync(leave, cancellationToken).ConfigureAwait(false);
        return ActionOutcome.Ok(string.Create(CultureInfo.InvariantCulture, $"journal disk filled: {written} bytes of ballast, {volume.FreeBytes} bytes free"));
    }

    private static async Task<ActionOutcome> FreeDiskAsync(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken)
    {
        if (JournalVolumeOf(context.Platform) is not { } volume) return ActionOutcome.Ok("the engine's journal is not on a tmpfs");
        await volume.FreeAsync().ConfigureAwait(false);
        return ActionOutcome.Ok(string.Create(CultureInfo.InvariantCulture, $"ballast deleted: {volume.FreeBytes} bytes free"));
    }

    private static Task<ActionOutcome> StressAsync(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken)
    {
        int workers = (int)arguments.Integer("workers", Environment.ProcessorCount * 2);
        var duration = arguments.Duration("duration", TimeSpan.FromSeconds(60));
        int? load = arguments.Has("load") ? (int)arguments.Integer("load") : null;
        if (workers is < 1 or > 64) return Task.FromResult(ActionOutcome.Failed($"workers {workers} is not in 1..64"));
        if (duration <= TimeSpan.Zero || duration > TimeSpan.FromMinutes(10)) return Task.FromResult(ActionOutcome.Failed("duration must be in (0, 10m]"));
        var stress = StressNg.Start(workers, duration, load, context.Time);
        context.State[StressKey] = stress;
        return Task.FromResult(ActionOutcome.Ok(string.Create(CultureInfo.InvariantCulture, $"stress-ng --cpu {workers} for {duration.TotalSeconds}s (pid {stress.Pid})")));
    }

    private static async Task<ActionOutcome> StopStressAsync(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken)
    {
        if (!context.State.TryRemove(StressKey, out var o) || o is not StressNg stress) return ActionOutcome.Ok("stress-ng not running");
        await stress.DisposeAsync().ConfigureAwait(false);
        return ActionOutcome.Ok("stress-ng stopped");
    }

    private static Task<ActionOutcome> StartProxyAsync(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken)
    {
        if (context.State.ContainsKey(ProxyKey)) return Task.FromResult(ActionOutcome.Failed("a proxy is already running"));
        var proxy = ToxicProxy.Start(context.Platform.Endpoints.EngineTcp, context.Time);
        context.State[ProxyKey] = proxy;
        return Task.FromResult(ActionOutcome.Ok($"toxic proxy {proxy.EndPoint} -> engine {context.Platform.Endpoints.EngineTcp}"));
    }

    private static Task<ActionOutcome> AddToxicAsync(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken)
    {
        if (!context.State.TryGetValue(ProxyKey, out var o) || o is not ToxicProxy proxy) return Task.FromResult(ActionOutcome.Failed("no proxy running (run network.proxy.start first)"));
        string kind = arguments.Text("toxic");
        if (kind == "down")
        {
            proxy.SetDown(true);
            return Task.FromResult(ActionOutcome.Ok("proxy down: every connection is reset"));
        }
        string name = arguments.OptionalText("name") ?? kind;
        var direction = arguments.OptionalText("direction") switch
        {
            null or "downstream" => ToxicDirection.Downstream,
            "upstream" => ToxicDirection.Upstream,
            var d => throw new ChaosArgumentException($"direction '{d}' is not upstream or downstream"),
        };
        double toxicity = arguments.Number("toxicity", 1.0);
        Toxic toxic = kind switch
        {
            "latency" => new LatencyToxic { Name = name, LatencyMs = (int)arguments.Integer("latency_ms", 100), JitterMs = (int)arguments.Integer("jitter_ms", 0) },
            "bandwidth" => new BandwidthToxic { Name = name, KilobytesPerSecond = arguments.Integer("kb_per_s", 1) },
            "reset_peer" => new ResetPeerToxic { Name = name, AfterMs = (int)arguments.Integer("after_ms", 0) },
            "slicer" => new SlicerToxic { Name = name, AverageBytes = (int)arguments.Integer("average_bytes", 1), DelayMicroseconds = (int)arguments.Integer("delay_us", 1000) },
            "timeout" => new TimeoutToxic { Name = name, TimeoutMs = (int)arguments.Integer("timeout_ms", 0) },
            _ => throw new ChaosArgumentException($"toxic '{kind}' is not one of latency, bandwidth, reset_peer, slicer, timeout, down"),
        };
        proxy.AddToxic(toxic with { Direction = direction, Toxicity = toxicity });
        return Task.FromResult(ActionOutcome.Ok($"toxic {kind} '{name}' added ({direction}, toxicity {toxicity.ToString(CultureInfo.InvariantCulture)})"));
    }

    private static Task<ActionOutcome> ClearToxicsAsync(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken)
    {
        if (!context.State.TryGetValue(ProxyKey, out var o) || o is not ToxicProxy proxy) return Task.FromResult(ActionOutcome.Ok("no proxy running"));
        proxy.ClearToxics();
        proxy.SetDown(false);
        var st = proxy.Stats;
        return Task.FromResult(ActionOutcome.Ok($"toxics cleared; proxy stats: {st}"));
    }

    private static async Task<ActionOutcome> StopProxyAsync(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken)
    {
        if (!context.State.TryRemove(ProxyKey, out var o) || o is not ToxicProxy proxy) return ActionOutcome.Ok("no proxy running");
        await proxy.DisposeAsync().ConfigureAwait(false);
        return ActionOutcome.Ok("proxy stopped");
    }

    private static async Task<ActionOutcome> KillLeaderAsync(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken)
    {
        var within = arguments.Duration("takeover_within", TimeSpan.FromSeconds(20));
        var monitors = context.Platform.Endpoints.Monitors;
        if (monitors.Count < 2) return ActionOutcome.Failed("one monitor node only: set platform.monitor_nodes: 2");
        MonitorNodeEndpoints? leader = null;
        foreach (var node in monitors)
        {
            if (context.Platform.StateOf(node.Name) != ComponentState.Running) continue;
            if ((await TryStatusAsync(context, node, cancellationToken).ConfigureAwait(false))?["role"]?.GetValue<string>() == "leader") { leader = node; break; }
        }
        if (leader is null) return ActionOutcome.Failed("no monitor node reports role leader");
        await context.Platform.SignalAsync(leader.Name, ComponentSignal.Kill, cancellationToken).ConfigureAwait(false);
        long start = context.Time.GetTimestamp();
        while (context.Time.GetElapsedTime(start) < within)
        {
            foreach (var node in monitors)
            {
                if (node.Name == leader.Name) continue;
                if ((await TryStatusAsync(context, node, cancellationToken).ConfigureAwait(false))?["role"]?.GetValue<string>() == "leader")
                {
                    double seconds = context.Time.GetElapsedTime(start).TotalSeconds;
                    context.State["monitor.takeover_seconds"] = seconds;
                    return ActionOutcome.Ok(string.Create(CultureInfo.InvariantCulture, $"killed leader {leader.Name} (SIGKILL); {node.Name} leads after {seconds:0.0} s"));
                }
            }
            await Task.Delay(TimeSpan.FromMilliseconds(200), context.Time, cancellationToken).ConfigureAwait(false);
        }
        return ActionOutcome.Failed(string.Create(CultureInfo.InvariantCulture, $"killed leader {leader.Name}; no other node led within {within.TotalSeconds} s"));
    }

    private static async Task<JsonNode?> TryStatusAsync(ChaosContext context, MonitorNodeEndpoints node, CancellationToken cancellationToken)
    {
        try { return await context.GetMonitorJsonAsync(node, "api/v1/status", cancellationToken).ConfigureAwait(false); }
        catch (HttpRequestException) { return null; }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested) { return null; }
        catch (IOException) { return null; }
    }

    private static async Task<OrderLedger?> StoppedLedgerAsync(ChaosContext context)
    {
        if (!context.State.TryGetValue(LedgerKey, out var o) || o is not OrderLedger ledger) return null;
        await ledger.StopAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false); // idempotent
        return ledger;
    }

    private static async Task<InvariantResult> OrdersDurableAsync(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken)
    {
        if (await StoppedLedgerAsync(context).ConfigureAwait(false) is not { } ledger)
            return new InvariantResult(false, "no recorded order flow ran (add an orders.start action)", new Dictionary<string, long>());
        return From(LossChecks.AcknowledgedOrdersDurable(ledger, context.Platform.Endpoints.EngineData));
    }

    private static Task<InvariantResult> GaplessAsync(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken) =>
        Task.FromResult(From(LossChecks.GaplessSequence(context.Platform.Endpoints.EngineData)));

    private static async Task<InvariantResult> StateHashAsync(ChaosContext context, ActionArguments arguments, CancellationToken cancellationToken)
    {
        var e = context.Platform.Endpoints;
        var result = await LossChecks.StateHashMatchesReplayAsync(e.EngineData, e.EngineHttp, context.ReadEngineAdminToken(), cancellationToken: cancellationToken).ConfigureAwait(false);
        return From(result);
    }

    private static InvariantResult From(LossCheckResult r) => new(r.Passed, r.Summary, r.Counts);

    /// <summary>The supervisor plus the tmpfs it runs on; the volume is unmounted after everything stopped.</summary>
    private sealed class VolumePlatform(PlatformSupervisor inner, TmpfsVolume? volume) : IPlatform
    {
        public TmpfsVolume? Volume => volume;
        public PlatformEndpoints Endpoints => inner.Endpoints;
        public IReadOnlyList<string> Components => inner.Components;
        public int? PidOf(string component) => inner.PidOf(component);
        public ComponentState StateOf(string component) => inner.StateOf(component);
        public Task SignalAsync(string component, ComponentSignal signal, CancellationToken cancellationToken = default) => inner.SignalAsync(component, signal, cancellationToken);
        public Task StartAsync(string component, CancellationToken cancellationToken = default) => inner.StartAsync(component, cancellationToken);
        public Task StopAsync(string component, CancellationToken cancellationToken = default) => inner.StopAsync(component, cancellationToken);

        public async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            if (volume is not null) await volume.DisposeAsync().ConfigureAwait(false);
        }
    }
}
