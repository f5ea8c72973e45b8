using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using ExchangeHealth.Chaos.Experiments;
using ExchangeHealth.Chaos.Platform;
using ExchangeHealth.Chaos.Slack;
using ExchangeHealth.TestKit;
using ExchangeHealth.TestKit.Prometheus;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ExchangeHealth.Chaos.Tests.Experiments;

/// <summary>
/// Real pieces around the runner: a Kestrel app serving <c>/metrics</c> the test controls, a REAL
/// Prometheus scraping it every 250 ms, a Kestrel stand-in of the monitor API (rules, incidents,
/// outbox, status behind a bearer token) and an in-test <see cref="IPlatform"/> whose signals
/// change those (a frozen engine makes the "monitor" raise an alert, open an incident and post to
/// the Slack stand-in the runner started).
/// </summary>
internal sealed class RunnerHarness : IAsyncDisposable
{
    public const string Token = "monitor-test-token-0123456789";

    private readonly Lock _lock = new();
    private readonly List<JsonObject> _alerts = [];
    private readonly List<JsonObject> _incidents = [];
    private readonly List<JsonObject> _routed = [];
    private readonly List<JsonObject> _outbox = [];

    private RunnerHarness(string dir) => Directory = dir;

    public string Directory { get; }

    public LoopbackApp Metrics { get; private set; } = null!;

    public LoopbackApp Monitor { get; private set; } = null!;

    public PrometheusServer Prometheus { get; private set; } = null!;

    /// <summary>Value of <c>chaos_test_value</c> (steady state: 0).</summary>
    public double Value { get; set; }

    /// <summary>Value of <c>chaos_test_burn</c> (abort_when).</summary>
    public double Burn { get; set; }

    public static async Task<RunnerHarness> StartAsync()
    {
        string dir = Path.Combine(Path.GetTempPath(), "exh-chaos-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(dir);
        var h = new RunnerHarness(dir);
        h.Metrics = await LoopbackApp.StartAsync(app =>
        {
            app.MapGet("/metrics", () => Results.Text(
                $"# TYPE chaos_test_value gauge\nchaos_test_value {h.Value.ToString(CultureInfo.InvariantCulture)}\n# TYPE chaos_test_burn gauge\nchaos_test_burn {h.Burn.ToString(CultureInfo.InvariantCulture)}\n",
                "text/plain; version=0.0.4"));
            app.MapPost("/fail", () => Results.Text("nope", statusCode: 500));
        });
        h.Monitor = await LoopbackApp.StartAsync(app =>
        {
            var api = app.MapGroup("/api/v1").AddEndpointFilter(async (c, next) =>
                c.HttpContext.Request.Headers.Authorization.ToString() == "Bearer " + Token ? await next(c) : Results.Json(new { error = "token" }, statusCode: 401));
            api.MapGet("/status", () => Results.Json(new { ok = true }));
            api.MapGet("/rules", () =>
            {
                lock (h._lock)
                {
                    var rules = new JsonArray(h._alerts.GroupBy(a => (string)a["labels"]!["alertname"]!).Select(g =>
                        (JsonNode)new JsonObject { ["name"] = g.Key, ["alerts"] = new JsonArray(g.Select(a => a.DeepClone()).ToArray()) }).ToArray());
                    return Results.Text(new JsonObject { ["groups"] = new JsonArray(new JsonObject { ["name"] = "test", ["rules"] = rules }) }.ToJsonString(), "application/json");
                }
            });
            api.MapGet("/alerts", () =>
            {
                lock (h._lock) return Results.Text(new JsonArray(h._routed.Select(a => a.DeepClone()).ToArray()).ToJsonString(), "application/json");
            });
            api.MapGet("/incidents", () =>
            {
                lock (h._lock) return Results.Text(new JsonObject { ["incidents"] = new JsonArray(h._incidents.Select(i => i.DeepClone()).ToArray()) }.ToJsonString(), "application/json");
            });
            api.MapGet("/outbox", () =>
            {
                lock (h._lock) return Results.Text(new JsonArray(h._outbox.Select(i => i.DeepClone()).ToArray()).ToJsonString(), "application/json");
            });
        });
        h.Prometheus = await PrometheusServer.StartAsync([h.Metrics.BaseUrl.Authority], TimeSpan.FromMilliseconds(250));
        await File.WriteAllTextAsync(Path.Combine(dir, "monitor-token"), Token + "\n");
        return h;
    }

    public void SetAlert(string name, string state, DateTimeOffset activeAt)
    {
        lock (_lock)
        {
            _alerts.RemoveAll(a => (string)a["labels"]!["alertname"]! == name);
            _alerts.Add(new JsonObject
            {
                ["labels"] = new JsonObject { ["alertname"] = name, ["severity"] = "critical" },
                ["state"] = state,
                ["activeAt"] = activeAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
            });
        }
    }

    public void ClearAlerts()
    {
        lock (_lock)
        {
            _alerts.Clear();
            _routed.Clear();
        }
    }

    /// <summary>A firing alert in routing only (as the monitor's own PrometheusUnreachable: no rule).</summary>
    public void AddRoutedAlert(string name, DateTimeOffset startsAt)
    {
        lock (_lock)
        {
            _routed.Add(new JsonObject
            {
                ["fingerprint"] = "f" + _routed.Count,
                ["labels"] = new JsonObject { ["alertname"] = name, ["severity"] = "page" },
                ["startsAt"] = startsAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                ["status"] = new JsonObject { ["state"] = "active" },
            });
        }
    }

    public void AddIncident(int id, DateTimeOffset createdAt)
    {
        lock (_lock) _incidents.Insert(0, new JsonObject { ["id"] = id, ["title"] = "engine frozen", ["severity"] = "SEV2", ["createdAt"] = createdAt.UtcDateTime.ToString("O", CultureInfo.InvariantCulture) });
    }

    public void AddOutbox(string dedupKey, string kind, string state, string receiver = "slack-pages")
    {
        lock (_lock) _outbox.Add(new JsonObject { ["id"] = _outbox.Count + 1, ["dedupKey"] = dedupKey, ["receiver"] = receiver, ["kind"] = kind, ["state"] = state });
    }

    /// <summary>Posts a notification to the Slack stand-in as the monitor's notifier would (metadata dedup_key, part post).</summary>
    public static async Task PostToSlackAsync(Uri slackApi, string alertName, string dedupKey, string part = "post")
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(slackApi, "chat.postMessage"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", FakeSlackServer.DefaultToken);
        var body = new JsonObject
        {
            ["channel"] = "C0PAGES",
            ["text"] = $":red_circle: {alertName} FIRING",
            ["metadata"] = new JsonObject { ["event_type"] = "exh_notification", ["event_payload"] = new JsonObject { ["dedup_key"] = dedupKey, ["part"] = part } },
        };
        request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    public FakePlatform CreatePlatform(PlatformRequest request) => new(this, request);

    public async ValueTask DisposeAsync()
    {
        await Prometheus.DisposeAsync();
        await Monitor.DisposeAsync();
        await Metrics.DisposeAsync();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}

/// <summary>An in-test platform: components and states in memory; signals recorded and handed to <see cref="OnSignal"/>.</summary>
internal sealed class FakePlatform(RunnerHarness harness, PlatformRequest request) : IPlatform
{
    private readonly Dictionary<string, ComponentState> _states = new()
    {
        [ComponentNames.Engine] = ComponentState.Running,
        [ComponentNames.Prometheus] = ComponentState.Running,
        [ComponentNames.Monitor] = ComponentState.Running,
    };

    public PlatformRequest Request { get; } = request;

    public List<(string Component, ComponentSignal Signal)> Signals { get; } = [];

    public Func<string, ComponentSignal, Task>? OnSignal { get; set; }

    public bool Disposed { get; private set; }

    public PlatformEndpoints Endpoints { get; } = new()
    {
        DataDirectory = harness.Directory,
        LogDirectory = Path.Combine(harness.Directory, "logs"),
        EngineData = Path.Combine(harness.Directory, "engine"),
        EngineTcp = new IPEndPoint(IPAddress.Loopback, 1),
        EngineHttp = harness.Metrics.BaseUrl,
        Prometheus = harness.Prometheus.BaseAddress,
        Monitors = [new MonitorNodeEndpoints(ComponentNames.Monitor, harness.Monitor.BaseUrl, Path.Combine(harness.Directory, "monitor-token"), harness.Directory)],
        Canary = harness.Metrics.BaseUrl,
        SlackApi = request.SlackApi,
    };

    public IReadOnlyList<string> Components => [.. _states.Keys];

    public int? PidOf(string component) => _states[component] is ComponentState.Running or ComponentState.Frozen ? 4242 : null;

    public ComponentState StateOf(string component) => _states.TryGetValue(component, out var s) ? s : throw new ArgumentException(component);

    public async Task SignalAsync(string component, ComponentSignal signal, CancellationToken cancellationToken = default)
    {
        if (!_states.ContainsKey(component)) throw new ArgumentException($"unknown component {component}");
        lock (Signals) Signals.Add((component, signal));
        _states[component] = signal switch
        {
            ComponentSignal.Stop => ComponentState.Frozen,
            ComponentSignal.Continue => ComponentState.Running,
            _ => ComponentState.Exited,
        };
        if (OnSignal is not null) await OnSignal(component, signal);
    }

    public Task StartAsync(string component, CancellationToken cancellationToken = default)
    {
        _states[component] = ComponentState.Running;
        return Task.CompletedTask;
    }

    public Task StopAsync(string component, CancellationToken cancellationToken = default)
    {
        _states[component] = ComponentState.Exited;
        return Task.CompletedTask;
    }

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }
}
