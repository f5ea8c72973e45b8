using ExchangeHealth.Chaos.Experiments;
using ExchangeHealth.Chaos.Slack;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Chaos.Tests.Experiments;

/// <summary><c>slack_delivered_once</c> against a real Slack stand-in and a Kestrel monitor outbox stand-in.</summary>
public sealed class SlackDeliveredOnceTests : IAsyncLifetime
{
    private RunnerHarness _h = null!;
    private FakeSlackServer _slack = null!;
    private ChaosContext _ctx = null!;
    private HttpClient _http = null!;
    private PrometheusApiClient _prom = null!;

    public async Task InitializeAsync()
    {
        _h = await RunnerHarness.StartAsync();
        _slack = await FakeSlackServer.StartAsync();
        _http = new HttpClient();
        _prom = new PrometheusApiClient(_h.Prometheus.BaseAddress, http: _http);
        var platform = _h.CreatePlatform(new PlatformRequest { SlackApi = _slack.BaseUrl });
        _ctx = new ChaosContext(platform, _slack, _http, _prom, TimeProvider.System, _h.Directory);
    }

    public async Task DisposeAsync()
    {
        _prom.Dispose();
        _http.Dispose();
        await _slack.DisposeAsync();
        await _h.DisposeAsync();
    }

    private Task<InvariantResult> CheckAsync(params (string Key, ArgumentValue Value)[] args) =>
        SlackDeliveredOnce.CheckAsync(_ctx, new ActionArguments(args.ToDictionary(a => a.Key, a => a.Value)), CancellationToken.None);

    [Fact]
    public async Task Check_EveryDeliveredNotificationOnce_PassesWithCounts()
    {
        await RunnerHarness.PostToSlackAsync(_slack.BaseUrl, "EngineDown", "pages|g1|1");
        await RunnerHarness.PostToSlackAsync(_slack.BaseUrl, "EngineDown", "pages|g1|2", part: "reply");
        _h.AddOutbox("pages|g1|1", "new", "delivered", "pages");
        _h.AddOutbox("pages|g1|2", "update", "delivered", "pages");
        _h.AddOutbox("pages|g1|3", "resolved", "delivered", "pages");       // chat.update only: no message of its own
        _h.AddOutbox("console|g9|1", "new", "delivered", "console");         // another receiver, left out below

        var result = await CheckAsync(("receivers", new ArgumentValue(1, null, List: ["pages"])));

        Assert.True(result.Passed, result.Summary);
        Assert.Equal(3, result.Counts["delivered"]);
        Assert.Equal(2, result.Counts["matched"]);
        Assert.Equal(1, result.Counts["resolved_updates"]);
        Assert.Equal(0, result.Counts["missing"]);
        Assert.Equal(0, result.Counts["duplicates"]);
        Assert.Equal(2, result.Counts["slack_messages"]);
        Assert.StartsWith("3 delivered notifications (2 messages matched, 1 resolved updates), 0 missing, 0 duplicated", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_DuplicateMissingAndPending_FailsNamingEach()
    {
        await RunnerHarness.PostToSlackAsync(_slack.BaseUrl, "EngineDown", "pages|g1|1");
        await RunnerHarness.PostToSlackAsync(_slack.BaseUrl, "EngineDown", "pages|g1|1");   // sent twice
        _h.AddOutbox("pages|g1|1", "new", "delivered");
        _h.AddOutbox("pages|g2|1", "new", "delivered");                                    // never reached Slack
        _h.AddOutbox("pages|g3|1", "new", "pending");                                      // still not delivered
        _h.AddOutbox("pages|g4|1", "new", "dead");

        var result = await CheckAsync(("settle", ArgumentValue.Of("1s")));

        Assert.False(result.Passed);
        Assert.Equal(1, result.Counts["duplicates"]);
        Assert.Equal(1, result.Counts["missing"]);
        Assert.Equal(1, result.Counts["pending"]);
        Assert.Equal(1, result.Counts["dead"]);
        Assert.Contains("pages|g1|1 (post) in Slack 2 times", result.Summary, StringComparison.Ordinal);
        Assert.Contains("pages|g2|1 (new) delivered but not in Slack", result.Summary, StringComparison.Ordinal);
        Assert.Contains("pages|g3|1 still pending", result.Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_OnlyTheDuplicate_Fails()
    {
        await RunnerHarness.PostToSlackAsync(_slack.BaseUrl, "EngineDown", "pages|g1|1");
        await RunnerHarness.PostToSlackAsync(_slack.BaseUrl, "EngineDown", "pages|g1|1");
        _h.AddOutbox("pages|g1|1", "new", "delivered");

        var result = await CheckAsync();

        Assert.False(result.Passed);
        Assert.Equal((1, 0, 1), (result.Counts["duplicates"], result.Counts["missing"], result.Counts["matched"]));
    }
}
