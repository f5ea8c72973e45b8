using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using ExchangeHealth.Engine.Gateway;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Store;
using ExchangeHealth.Incidents.Timeline;
using ExchangeHealth.TestKit;

namespace ExchangeHealth.Incidents.Tests.Timeline;

/// <summary>The engine's event log read from a real `exh engine` child process into global timeline events.</summary>
public sealed class EngineEventPollerTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "exh-enginepoll-" + Guid.NewGuid().ToString("N"));
    private EngineProcess? _engine;

    public async Task InitializeAsync() => _engine = await EngineProcess.StartAsync(Path.Combine(_dir, "engine"));

    public async Task DisposeAsync()
    {
        if (_engine is not null) await _engine.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private async Task AdminAsync(HttpMethod method, string path, string? json = null)
    {
        var endpoint = await EngineAdminEndpoint.FromDataDirectory(_engine!.DataDirectory)(CancellationToken.None);
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(method, new Uri(endpoint!.BaseUrl, path));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", endpoint.AdminToken);
        if (json is not null) request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task Poll_FaultAndMarketStateEvents_BecomeGlobalEvents_StoredOnce()
    {
        using var http = new HttpClient();
        var poller = new EngineEventPoller(http, EngineAdminEndpoint.FromDataDirectory(_engine!.DataDirectory));
        var before = DateTimeOffset.UtcNow;
        await AdminAsync(HttpMethod.Post, "admin/faults", """{"fault":"slow_fsync","duration_seconds":30,"value":50}""");
        await AdminAsync(HttpMethod.Post, "admin/markets/BTC-USD/state", """{"state":"halted"}""");

        var events = await poller.PollAsync(CancellationToken.None);
        Assert.Null(poller.LastError);
        var fault = Assert.Single(events, e => e.Kind == "engine.fault.injected");
        Assert.Equal((TimelineSources.Engine, "engine", (long?)null), (fault.Source, fault.Actor, fault.IncidentId));
        Assert.Equal("slow_fsync", fault.Fields["fault"]);
        Assert.InRange(fault.At, before.AddSeconds(-1), DateTimeOffset.UtcNow);
        var halted = Assert.Single(events, e => e.Kind == "engine.market.state_changed");
        Assert.Equal("market BTC/USD is now halted", halted.Text);
        Assert.True(fault.At <= halted.At);

        // Stored once however often it is polled.
        string db = Path.Combine(_dir, "incidents.db");
        await using var store = await IncidentStoreFactory.OpenAsync(new IncidentStoreOptions { SqlitePath = db });
        foreach (var e in events) Assert.True(await store.AppendEventAsync(e));
        var again = await poller.PollAsync(CancellationToken.None);
        foreach (var e in again) Assert.False(await store.AppendEventAsync(e));
        Assert.Equal(events.Count, (await store.GetGlobalEventsAsync(before.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1))).Count);
    }

    [Fact]
    public async Task Poll_EngineGoneOrWrongToken_NoEvents_ErrorSaysWhy()
    {
        using var http = new HttpClient();
        var endpoint = await EngineAdminEndpoint.FromDataDirectory(_engine!.DataDirectory)(CancellationToken.None);
        var wrong = new EngineEventPoller(http, _ => Task.FromResult<EngineAdminEndpoint?>(endpoint! with { AdminToken = "not-the-token-0123456789" }));
        Assert.Empty(await wrong.PollAsync(CancellationToken.None));
        Assert.Contains("answered 403", wrong.LastError, StringComparison.Ordinal);

        var missing = new EngineEventPoller(http, EngineAdminEndpoint.FromDataDirectory(Path.Combine(_dir, "nowhere")));
        Assert.Empty(await missing.PollAsync(CancellationToken.None));
        Assert.Contains("engine.json", missing.LastError, StringComparison.Ordinal);

        await _engine.TerminateAsync();
        var gone = new EngineEventPoller(http, _ => Task.FromResult<EngineAdminEndpoint?>(endpoint));
        Assert.Empty(await gone.PollAsync(CancellationToken.None));
        Assert.Contains("cannot read the engine's events", gone.LastError, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"kind":"fault.injected","message":"m"}""")]
    [InlineData("""{"timestamp":"not a time","kind":"fault.injected","message":"m"}""")]
    [InlineData("""{"timestamp":"2026-11-21T03:00:00Z","message":"no kind"}""")]
    [InlineData("""[1,2]""")]
    public void Parse_MalformedEvent_Skipped(string json)
    {
        using var doc = JsonDocument.Parse(json);
        Assert.Null(EngineEventPoller.Parse(doc.RootElement));
    }

    [Fact]
    public async Task EndpointFromDataDirectory_ReadsEngineJsonAndCredentials()
    {
        var endpoint = await EngineAdminEndpoint.FromDataDirectory(_engine!.DataDirectory)(CancellationToken.None);
        Assert.Equal(_engine.HttpAddress, endpoint!.BaseUrl);
        Assert.Equal(EngineCredentials.Load(Path.Combine(_engine.DataDirectory, EngineCredentials.FileName)).AdminToken, endpoint.AdminToken);
    }
}
