using System.Net;
using System.Text.Json.Nodes;
using ExchangeHealth.Chaos.Experiments;
using ExchangeHealth.Chaos.Platform;
using ExchangeHealth.Chaos.Slack;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.TestKit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace ExchangeHealth.Chaos.Tests.Experiments;

/// <summary>A platform whose endpoints the test sets; no processes.</summary>
internal sealed class StubPlatform(PlatformEndpoints endpoints) : IPlatform
{
    public PlatformEndpoints Endpoints { get; } = endpoints;

    public List<(string Component, ComponentSignal Signal)> Signals { get; } = [];

    public IReadOnlyList<string> Components => [ComponentNames.Engine, ComponentNames.Monitor];

    public int? PidOf(string component) => 4242;

    public ComponentState StateOf(string component) => ComponentState.Running;

    public Action<string, ComponentSignal>? OnSignal { get; set; }

    public Task SignalAsync(string component, ComponentSignal signal, CancellationToken cancellationToken = default)
    {
        Signals.Add((component, signal));
        OnSignal?.Invoke(component, signal);
        return Task.CompletedTask;
    }

    public Task StartAsync(string component, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task StopAsync(string component, CancellationToken cancellationToken = default) => Task.CompletedTask;

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    public static PlatformEndpoints EndpointsAt(Uri engineHttp, string dir) => new()
    {
        DataDirectory = dir,
        LogDirectory = Path.Combine(dir, "logs"),
        EngineData = dir,
        EngineTcp = new IPEndPoint(IPAddress.Loopback, 1),
        EngineHttp = engineHttp,
        Prometheus = new Uri("http://127.0.0.1:1/"),
        Monitors = [new MonitorNodeEndpoints(ComponentNames.Monitor, new Uri("http://127.0.0.1:2/"), Path.Combine(dir, "monitor-token"), dir)],
        Canary = new Uri("http://127.0.0.1:3/"),
    };
}

/// <summary>Built-in providers against a Kestrel stand-in of the engine's admin API (docs/http-api.md) and the real Slack stand-in.</summary>
public sealed class BuiltInActionsTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "exh-chaos-actions-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly List<(string Method, string Path, string Auth, string Body)> _requests = [];
    private readonly ChaosActionRegistry _registry = ChaosActionRegistry.CreateDefault();
    private LoopbackApp _engine = null!;
    private FakeSlackServer _slack = null!;
    private HttpClient _http = null!;
    private PrometheusApiClient _prom = null!;
    private ChaosContext _ctx = null!;
    private EngineCredentials _credentials = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _credentials = EngineCredentials.Generate(1);
        _credentials.Save(Path.Combine(_dir, EngineCredentials.FileName));
        _engine = await LoopbackApp.StartAsync(async ctx =>
        {
            string body = await new StreamReader(ctx.Request.Body).ReadToEndAsync();
            lock (_requests) _requests.Add((ctx.Request.Method, ctx.Request.Path.Value ?? "", ctx.Request.Headers.Authorization.ToString(), body));
            if (body.Contains("\"value\":0", StringComparison.Ordinal)) { ctx.Response.StatusCode = 400; await ctx.Response.WriteAsync("{\"error\":\"value out of range\",\"field\":\"value\"}"); return; }
            ctx.Response.StatusCode = ctx.Request.Path.Value == "/teapot" ? 418 : 200;
            await ctx.Response.WriteAsync("{\"ok\":true}");
        });
        _slack = await FakeSlackServer.StartAsync();
        _http = new HttpClient();
        _prom = new PrometheusApiClient(new Uri("http://127.0.0.1:1/"), http: _http);
        _ctx = new ChaosContext(new StubPlatform(StubPlatform.EndpointsAt(_engine.BaseUrl, _dir)), _slack, _http, _prom, TimeProvider.System, _dir);
    }

    public async Task DisposeAsync()
    {
        _prom.Dispose();
        _http.Dispose();
        await _slack.DisposeAsync();
        await _engine.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private Task<ActionOutcome> RunAsync(string provider, params (string Key, string Value)[] args) =>
        _registry.Find(provider)!.Handler(_ctx, new ActionArguments(args.ToDictionary(a => a.Key, a => ArgumentValue.Of(a.Value)), _ctx.Expand, "chaos/x.yml"), CancellationToken.None);

    [Fact]
    public async Task EngineFault_PostsTheFaultWithTheAdminTokenFromTheDataDirectory()
    {
        var outcome = await RunAsync("engine.fault", ("fault", "matcher_latency"), ("duration", "1m30s"), ("value", "200"));

        Assert.True(outcome.Succeeded, outcome.Message);
        var (method, path, auth, body) = Assert.Single(_requests);
        Assert.Equal(("POST", "/admin/faults"), (method, path));
        Assert.Equal("Bearer " + _credentials.AdminToken, auth);
        var json = JsonNode.Parse(body)!;
        Assert.Equal("matcher_latency", (string?)json["fault"]);
        Assert.Equal(90, (int)json["duration_seconds"]!);
        Assert.Equal(200, (double)json["value"]!);
        Assert.DoesNotContain(_credentials.AdminToken, outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EngineFault_RefusedByTheEngine_FailsWithItsAnswer()
    {
        var outcome = await RunAsync("engine.fault", ("fault", "slow_fsync"), ("duration", "10s"), ("value", "0"));

        Assert.False(outcome.Succeeded);
        Assert.Contains("HTTP 400", outcome.Message, StringComparison.Ordinal);
        Assert.Contains("value out of range", outcome.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EngineFault_UnknownFault_ThrowsNamingTheArgument()
    {
        var e = await Assert.ThrowsAsync<ChaosArgumentException>(() => RunAsync("engine.fault", ("fault", "disk_on_fire"), ("duration", "10s")));
        Assert.Contains("arguments.fault: 'disk_on_fire' is not one of", e.Message, StringComparison.Ordinal);
        Assert.Empty(_requests);
    }

    [Fact]
    public async Task EngineFaultClear_DeletesOneOrAll()
    {
        Assert.True((await RunAsync("engine.fault.clear", ("fault", "slow_fsync"))).Succeeded);
        Assert.True((await RunAsync("engine.fault.clear")).Succeeded);
        Assert.Equal([("DELETE", "/admin/faults/slow_fsync"), ("DELETE", "/admin/faults")], _requests.Select(r => (r.Method, r.Path)));
    }

    [Fact]
    public async Task Http_ExpandsTemplatesAndChecksTheStatus()
    {
        var ok = await RunAsync("http", ("url", "{engine_http}/admin/x"), ("method", "post"), ("body", "{\"a\":1}"), ("auth", "engine_admin"));
        var wrong = await RunAsync("http", ("url", "{engine_http}/teapot"));
        var expected = await RunAsync("http", ("url", "{engine_http}/teapot"), ("expect_status", "418"));

        Assert.True(ok.Succeeded, ok.Message);
        Assert.Equal(("POST", "/admin/x", "{\"a\":1}"), (_requests[0].Method, _requests[0].Path, _requests[0].Body));
        Assert.Equal("Bearer " + _credentials.AdminToken, _requests[0].Auth);
        Assert.False(wrong.Succeeded);
        Assert.Contains("HTTP 418 (expected 2xx)", wrong.Message, StringComparison.Ordinal);
        Assert.True(expected.Succeeded, expected.Message);
    }

    [Fact]
    public async Task Slack_RateLimitOutageAndHeal_ChangeTheStandInsAnswers()
    {
        using var client = new HttpClient();
        async Task<int> PostAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(_slack.BaseUrl, "chat.postMessage"))
            {
                Content = new StringContent("{\"channel\":\"C1\",\"text\":\"x\"}", System.Text.Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", FakeSlackServer.DefaultToken);
            using var response = await client.SendAsync(request);
            return (int)response.StatusCode;
        }

        Assert.True((await RunAsync("slack.rate_limit", ("count", "1"), ("retry_after", "2s"))).Succeeded);
        Assert.Equal(429, await PostAsync());
        Assert.Equal(200, await PostAsync());
        Assert.True((await RunAsync("slack.outage", ("mode", "unavailable"))).Succeeded);
        Assert.Equal(503, await PostAsync());
        Assert.True((await RunAsync("slack.heal")).Succeeded);
        Assert.Equal(200, await PostAsync());
    }

    [Fact]
    public async Task ProcessSignal_SendsTheSignalToAKnownComponentOnly()
    {
        var platform = (StubPlatform)_ctx.Platform;
        var outcome = await RunAsync("process.signal", ("component", "engine"), ("signal", "stop"));

        Assert.Equal("SIGSTOP sent to engine (pid 4242)", outcome.Message);
        Assert.Equal([(ComponentNames.Engine, ComponentSignal.Stop)], platform.Signals);
        await Assert.ThrowsAsync<ChaosArgumentException>(() => RunAsync("process.signal", ("component", "canary"), ("signal", "stop")));
        await Assert.ThrowsAsync<ChaosArgumentException>(() => RunAsync("process.signal", ("component", "engine"), ("signal", "hup")));
    }

    [Fact]
    public void Expand_KnownTemplates_NoDoubleSlashAndUnknownLeftAlone()
    {
        Assert.Equal(_engine.BaseUrl.AbsoluteUri + "ready", _ctx.Expand("{engine_http}/ready"));
        Assert.Equal(_engine.BaseUrl.AbsoluteUri + "ready", _ctx.Expand("{engine_http}ready"));
        Assert.Equal("sum(x{job=\"a\"}) {other}", _ctx.Expand("sum(x{job=\"a\"}) {other}"));
        Assert.Equal(_dir, _ctx.Expand("{engine_data}"));
        Assert.Throws<ChaosArgumentException>(() => _ctx.Expand("{monitor2}/api/v1/status"));
    }
}
