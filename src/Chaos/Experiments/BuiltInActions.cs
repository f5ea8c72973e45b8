using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ExchangeHealth.Chaos.Platform;
using ExchangeHealth.Chaos.Slack;

namespace ExchangeHealth.Chaos.Experiments;

/// <summary>
/// The built-in action providers:
/// <list type="table">
/// <item><term><c>process.signal {component, signal: kill|terminate|stop|continue}</c></term><description><see cref="IPlatform.SignalAsync"/> (SIGKILL, SIGTERM, SIGSTOP, SIGCONT by PID).</description></item>
/// <item><term><c>process.start {component}</c>, <c>process.stop {component}</c></term><description><see cref="IPlatform.StartAsync"/> (waits until ready), <see cref="IPlatform.StopAsync"/>.</description></item>
/// <item><term><c>engine.fault {fault, duration, value?}</c></term><description><c>POST /admin/faults</c> of the engine (docs/http-api.md): <c>matcher_latency</c> (µs), <c>matcher_stall</c>, <c>journal_write_failure</c>, <c>slow_fsync</c> (ms), <c>internal_rejects</c> (share); duration up to 10m.</description></item>
/// <item><term><c>engine.fault.clear {fault?}</c></term><description><c>DELETE /admin/faults[/{fault}]</c>.</description></item>
/// <item><term><c>slack.outage {mode: unavailable|close_connections}</c>, <c>slack.rate_limit {count, retry_after, method?}</c>, <c>slack.fail {count, error?, method?}</c>, <c>slack.heal</c></term><description>The Slack stand-in's fault switches.</description></item>
/// <item><term><c>http {method?, url, body?, headers?, auth?, expect_status?}</c></term><description>Any HTTP call; fails unless the status is <c>expect_status</c> (default: any 2xx).</description></item>
/// </list>
/// </summary>
public static class BuiltInActions
{
    private static readonly Dictionary<string, ComponentSignal> Signals = new(StringComparer.Ordinal)
    {
        ["kill"] = ComponentSignal.Kill, ["terminate"] = ComponentSignal.Terminate, ["stop"] = ComponentSignal.Stop, ["continue"] = ComponentSignal.Continue,
    };

    private static readonly Dictionary<string, FakeSlackOutage> Outages = new(StringComparer.Ordinal)
    {
        ["unavailable"] = FakeSlackOutage.ServiceUnavailable, ["close_connections"] = FakeSlackOutage.CloseConnections, ["none"] = FakeSlackOutage.None,
    };

    private static readonly HashSet<string> EngineFaults = new(StringComparer.Ordinal)
    {
        "matcher_latency", "matcher_stall", "journal_write_failure", "slow_fsync", "internal_rejects",
    };

    /// <summary>Registers every built-in provider in <paramref name="registry"/>.</summary>
    public static void RegisterAll(ChaosActionRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        registry.Register("process.signal", SignalAsync, ["component", "signal"], [], "send kill|terminate|stop|continue to a component's process");
        registry.Register("process.start", StartAsync, ["component"], [], "start a component that is not running and wait until it is ready");
        registry.Register("process.stop", StopAsync, ["component"], [], "stop a component gracefully");
        registry.Register("engine.fault", EngineFaultAsync, ["fault", "duration"], ["value"], "inject an engine fault hook (POST /admin/faults)");
        registry.Register("engine.fault.clear", EngineFaultClearAsync, [], ["fault"], "clear one or every engine fault (DELETE /admin/faults)");
        registry.Register("slack.outage", SlackOutageAsync, ["mode"], [], "Slack stand-in outage: unavailable (503) or close_connections");
        registry.Register("slack.rate_limit", SlackRateLimitAsync, ["count", "retry_after"], ["method"], "answer the next COUNT Slack calls 429 with Retry-After");
        registry.Register("slack.fail", SlackFailAsync, ["count"], ["error", "method"], "answer the next COUNT Slack calls ok:false with an error");
        registry.Register("slack.heal", SlackHealAsync, [], [], "end the Slack stand-in's outage and pending faults");
        registry.Register("http", HttpAsync, ["url"], ["method", "body", "headers", "auth", "expect_status"], "an HTTP call that must answer expect_status (default 2xx)");
    }

    private static string Component(ChaosContext ctx, ActionArguments args)
    {
        string component = args.Text("component");
        if (!ctx.Platform.Components.Contains(component))
            throw new ChaosArgumentException($"arguments.component: '{component}' is not a component of this platform ({string.Join(", ", ctx.Platform.Components)})");
        return component;
    }

    private static async Task<ActionOutcome> SignalAsync(ChaosContext ctx, ActionArguments args, CancellationToken ct)
    {
        string component = Component(ctx, args);
        var signal = args.Choice("signal", Signals);
        int? pid = ctx.Platform.PidOf(component);
        await ctx.Platform.SignalAsync(component, signal, ct).ConfigureAwait(false);
        return ActionOutcome.Ok($"SIG{signal switch { ComponentSignal.Kill => "KILL", ComponentSignal.Terminate => "TERM", ComponentSignal.Stop => "STOP", _ => "CONT" }} sent to {component} (pid {pid?.ToString(CultureInfo.InvariantCulture) ?? "?"})");
    }

    private static async Task<ActionOutcome> StartAsync(ChaosContext ctx, ActionArguments args, CancellationToken ct)
    {
        string component = Component(ctx, args);
        await ctx.Platform.StartAsync(component, ct).ConfigureAwait(false);
        return ActionOutcome.Ok($"{component} started (pid {ctx.Platform.PidOf(component)?.ToString(CultureInfo.InvariantCulture) ?? "?"}) and ready");
    }

    private static async Task<ActionOutcome> StopAsync(ChaosContext ctx, ActionArguments args, CancellationToken ct)
    {
        string component = Component(ctx, args);
        await ctx.Platform.StopAsync(component, ct).ConfigureAwait(false);
        return ActionOutcome.Ok($"{component} stopped");
    }

    private static async Task<ActionOutcome> EngineFaultAsync(ChaosContext ctx, ActionArguments args, CancellationToken ct)
    {
        string fault = args.Text("fault");
        if (!EngineFaults.Contains(fault)) throw new ChaosArgumentException($"arguments.fault: '{fault}' is not one of {string.Join(", ", EngineFaults)}");
        var duration = args.Duration("duration");
        var body = new JsonObject { ["fault"] = fault, ["duration_seconds"] = Math.Max(1, (int)Math.Ceiling(duration.TotalSeconds)) };
        if (args.Has("value")) body["value"] = args.Number("value");
        var (status, answer) = await ctx.EngineAdminAsync(HttpMethod.Post, "admin/faults", body, ct).ConfigureAwait(false);
        return status is >= 200 and < 300
            ? ActionOutcome.Ok($"engine fault {fault} injected for {Monitor.Prometheus.PromDuration.Format(duration)}")
            : ActionOutcome.Failed($"engine refused fault {fault}: HTTP {status} {Trim(answer)}");
    }

    private static async Task<ActionOutcome> EngineFaultClearAsync(ChaosContext ctx, ActionArguments args, CancellationToken ct)
    {
        string? fault = args.OptionalText("fault");
        var (status, answer) = await ctx.EngineAdminAsync(HttpMethod.Delete, fault is null ? "admin/faults" : "admin/faults/" + Uri.EscapeDataString(fault), null, ct).ConfigureAwait(false);
        return status is >= 200 and < 300 ? ActionOutcome.Ok($"engine faults cleared: {Trim(answer)}") : ActionOutcome.Failed($"engine fault clear: HTTP {status} {Trim(answer)}");
    }

    private static FakeSlackServer SlackOf(ChaosContext ctx) =>
        ctx.Slack ?? throw new ChaosArgumentException("this experiment runs without the Slack stand-in (platform.slack: false)");

    private static Task<ActionOutcome> SlackOutageAsync(ChaosContext ctx, ActionArguments args, CancellationToken ct)
    {
        var mode = args.Choice("mode", Outages);
        SlackOf(ctx).SetOutage(mode);
        return Task.FromResult(ActionOutcome.Ok($"Slack stand-in outage: {args.Text("mode")}"));
    }

    private static Task<ActionOutcome> SlackRateLimitAsync(ChaosContext ctx, ActionArguments args, CancellationToken ct)
    {
        long count = args.Integer("count");
        var retryAfter = args.Duration("retry_after");
        SlackOf(ctx).RateLimitNext((int)Math.Clamp(count, 1, int.MaxValue), retryAfter, args.OptionalText("method"));
        return Task.FromResult(ActionOutcome.Ok($"Slack stand-in rate-limits the next {count} calls (Retry-After {Monitor.Prometheus.PromDuration.Format(retryAfter)})"));
    }

    private static Task<ActionOutcome> SlackFailAsync(ChaosContext ctx, ActionArguments args, CancellationToken ct)
    {
        long count = args.Integer("count");
        string error = args.OptionalText("error") ?? "internal_error";
        SlackOf(ctx).FailNext((int)Math.Clamp(count, 1, int.MaxValue), error, args.OptionalText("method"));
        return Task.FromResult(ActionOutcome.Ok($"Slack stand-in fails the next {count} calls with {error}"));
    }

    private static Task<ActionOutcome> SlackHealAsync(ChaosContext ctx, ActionArguments args, CancellationToken ct)
    {
        SlackOf(ctx).Heal();
        return Task.FromResult(ActionOutcome.Ok("Slack stand-in healed"));
    }

    private static async Task<ActionOutcome> HttpAsync(ChaosContext ctx, ActionArguments args, CancellationToken ct)
    {
        string method = (args.OptionalText("method") ?? "GET").ToUpperInvariant();
        string url = args.Text("url");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri)) throw new ChaosArgumentException($"arguments.url: '{url}' is not an absolute URL");
        using var request = new HttpRequestMessage(new HttpMethod(method), uri);
        if (args.OptionalText("body") is { } body) request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        foreach (var (k, v) in args.Map("headers")) request.Headers.TryAddWithoutValidation(k, v);
        await AuthorizeAsync(ctx, request, args.OptionalText("auth") ?? "none", ct).ConfigureAwait(false);
        using var response = await ctx.Http.SendAsync(request, ct).ConfigureAwait(false);
        int status = (int)response.StatusCode;
        string answer = await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false);
        long? expected = args.Has("expect_status") ? args.Integer("expect_status") : null;
        bool ok = expected is { } e ? status == e : status is >= 200 and < 300;
        return new ActionOutcome(ok, $"{method} {uri.GetLeftPart(UriPartial.Path)}: HTTP {status}{(ok ? "" : $" (expected {expected?.ToString(CultureInfo.InvariantCulture) ?? "2xx"}) {Trim(answer)}")}");
    }

    /// <summary>Adds the bearer token for <paramref name="auth"/>: <c>none</c>, <c>monitor</c> (the token of the monitor node the URL points at, else the first node's) or <c>engine_admin</c>.</summary>
    /// <exception cref="ChaosArgumentException">Unknown auth.</exception>
    internal static async Task AuthorizeAsync(ChaosContext ctx, HttpRequestMessage request, string auth, CancellationToken ct)
    {
        switch (auth)
        {
            case "none": return;
            case "monitor":
                // The node the request goes to (each node may have its own token file), else the first.
                var monitors = ctx.Platform.Endpoints.Monitors;
                var node = monitors.FirstOrDefault(m => request.RequestUri is { } u && u.AbsoluteUri.StartsWith(m.Api.AbsoluteUri, StringComparison.Ordinal))
                    ?? monitors.FirstOrDefault() ?? throw new ChaosArgumentException("auth: monitor: the platform has no monitor");
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await ChaosContext.ReadMonitorTokenAsync(node, ct).ConfigureAwait(false));
                return;
            case "engine_admin":
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ctx.ReadEngineAdminToken());
                return;
            default: throw new ChaosArgumentException($"auth: '{auth}' is not one of none, monitor, engine_admin");
        }
    }

    private static string Trim(string text)
    {
        text = text.ReplaceLineEndings(" ").Trim();
        return text.Length <= 200 ? text : text[..200] + "...";
    }
}
