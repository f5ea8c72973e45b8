using System.Net;
using System.Text;
using ExchangeHealth.Engine.Gateway.Http;
using ExchangeHealth.Engine.Service;
using static ExchangeHealth.Engine.Tests.Gateway.Http.HttpApiHarness;

namespace ExchangeHealth.Engine.Tests.Gateway.Http;

/// <summary>Probes, /metrics, the admin API, overload and timeouts through a real Kestrel server and engine.</summary>
public sealed class HttpAdminTests
{
    [Fact]
    public async Task Health_RunningEngine_AnswersAlive()
    {
        await using var h = await StartAsync();

        var a = await h.GetAsync("/health", apiKey: null);

        Assert.Equal(HttpStatusCode.OK, a.Status);
        Assert.Equal("""{"status":"alive"}""", a.Text);
    }

    [Fact]
    public async Task Ready_JournalWriteFailureFault_503WhileActiveThen200AfterClearing()
    {
        await using var h = await StartAsync();

        var ready = await h.GetAsync("/ready", apiKey: null);
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Equal("""{"ready":true,"durable_sequence":0,"queue_depth":0,"active_faults":[],"stopping":false}""", ready.Text);

        var inject = await h.AdminAsync(HttpMethod.Post, "/admin/faults", """{"fault":"journal_write_failure","duration_seconds":60}""");
        Assert.Equal(HttpStatusCode.OK, inject.Status);

        var during = await h.GetAsync("/ready", apiKey: null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, during.Status);
        Assert.False(during.Json.GetProperty("ready").GetBoolean());
        Assert.Equal(["journal_write_failure"], during.Json.GetProperty("active_faults").EnumerateArray().Select(f => f.GetString()));

        var clear = await h.AdminAsync(HttpMethod.Delete, "/admin/faults/journal_write_failure");
        Assert.Equal("""{"fault":"journal_write_failure","cleared":true}""", clear.Text);

        var after = await h.GetAsync("/ready", apiKey: null);
        Assert.Equal(HttpStatusCode.OK, after.Status);
        Assert.True(after.Json.GetProperty("ready").GetBoolean());
    }

    [Fact]
    public async Task Ready_CommandFailedDuringFault_NotReadyUntilTheJournalWritesAgain()
    {
        await using var h = await StartAsync();
        await h.AdminAsync(HttpMethod.Post, "/admin/faults", """{"fault":"journal_write_failure","duration_seconds":60}""");

        var failed = await h.PlaceAsync(1, "buy", "60000", "0.01");
        Assert.Equal(HttpStatusCode.OK, failed.Status);
        Assert.Equal("rejected", failed.Str("status"));
        Assert.Equal("internal", failed.Str("reject_reason"));
        Assert.Equal(0, failed.Json.GetProperty("sequence").GetInt64());

        await h.AdminAsync(HttpMethod.Delete, "/admin/faults");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await h.GetAsync("/ready", apiKey: null)).Status);

        var retried = await h.PlaceAsync(1, "buy", "60000", "0.01"); // never journaled, so not a duplicate
        Assert.Equal("accepted", retried.Str("status"));
        var ready = await h.GetAsync("/ready", apiKey: null);
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Equal(1, ready.Json.GetProperty("durable_sequence").GetInt64());
    }

    [Fact]
    public async Task Metrics_ServesTheHostsWriterWithPrometheusContentType()
    {
        const string Exposition = "# HELP exh_test A test gauge.\n# TYPE exh_test gauge\nexh_test 1\n";
        var options = new EngineHttpServerOptions
        {
            MetricsWriter = async (stream, ct) => await stream.WriteAsync(Encoding.UTF8.GetBytes(Exposition), ct),
        };
        await using var h = await StartAsync(options: options);

        using var response = await h.Client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        Assert.Equal(Exposition, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Metrics_NoWriter_Answers503()
    {
        await using var h = await StartAsync();

        var a = await h.GetAsync("/metrics", apiKey: null);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, a.Status);
        Assert.Equal("metrics_unavailable", a.Str("error"));
    }

    [Fact]
    public async Task MarketState_Halted_RejectsOrdersMarketHaltedUntilOnlineAgain()
    {
        await using var h = await StartAsync();

        var halt = await h.AdminAsync(HttpMethod.Post, "/admin/markets/BTC-USD/state", """{"state":"halted"}""");

        Assert.Equal(HttpStatusCode.OK, halt.Status);
        Assert.Equal("market_state_changed", halt.Str("status"));
        Assert.Equal(1, halt.Json.GetProperty("sequence").GetInt64());
        HttpTradingTests.AssertReport(Assert.Single(halt.Reports),
            """{"type":"market_state_changed","command":"set_market_state","market":"BTC/USD","market_id":1,"state":"halted","sequence":1}""");
        var markets = await h.GetAsync("/api/v1/markets");
        Assert.Equal("halted", markets.Json.GetProperty("markets")[0].GetProperty("state").GetString());

        var order = await h.PlaceAsync(1, "buy", "60000", "0.01");
        Assert.Equal(HttpStatusCode.OK, order.Status);
        Assert.Equal("rejected", order.Str("status"));
        Assert.Equal("market_halted", order.Str("reject_reason"));
        Assert.Equal("market_halted", order.Reports[0].GetProperty("reject_reason").GetString());

        var other = await h.PlaceAsync(2, "buy", "3000", "1", market: "ETH/USD");
        Assert.Equal("accepted", other.Str("status"));

        await h.AdminAsync(HttpMethod.Post, "/admin/markets/1/state", """{"state":"online"}""");
        Assert.Equal("accepted", (await h.PlaceAsync(3, "buy", "60000", "0.01")).Str("status"));

        // Incident timelines read market state changes from the event log.
        var changes = (await h.AdminAsync(HttpMethod.Get, "/admin/events?limit=50")).Json.GetProperty("events").EnumerateArray()
            .Where(e => e.GetProperty("kind").GetString() == "market.state_changed").ToList();
        Assert.Equal(["halted", "online"], changes.Select(e => e.GetProperty("fields").GetProperty("state").GetString()));
        Assert.All(changes, e => Assert.Equal("BTC/USD", e.GetProperty("fields").GetProperty("market").GetString()));
        Assert.Equal("market BTC/USD is now halted", changes[0].GetProperty("message").GetString());
    }

    [Fact]
    public async Task Faults_InjectListClear_AndTheirEvents()
    {
        await using var h = await StartAsync();

        var inject = await h.AdminAsync(HttpMethod.Post, "/admin/faults", """{"fault":"matcher_latency","duration_seconds":30,"value":200}""");
        Assert.Equal(HttpStatusCode.OK, inject.Status);
        Assert.Equal("matcher_latency", inject.Str("fault"));
        Assert.Equal(200, inject.Json.GetProperty("value").GetDouble());
        Assert.Equal(30, inject.Json.GetProperty("remaining_seconds").GetDouble());
        var started = inject.Json.GetProperty("started_at").GetDateTimeOffset();
        Assert.Equal(started.AddSeconds(30), inject.Json.GetProperty("expires_at").GetDateTimeOffset());

        var list = await h.AdminAsync(HttpMethod.Get, "/admin/faults");
        var fault = Assert.Single(list.Json.GetProperty("faults").EnumerateArray());
        Assert.Equal("matcher_latency", fault.GetProperty("fault").GetString());
        Assert.InRange(fault.GetProperty("remaining_seconds").GetDouble(), 20, 30);
        Assert.True(h.Engine.Faults.IsActive(FaultKind.MatcherLatency));

        await h.AdminAsync(HttpMethod.Post, "/admin/faults", """{"fault":"internal_rejects","duration_seconds":5,"value":0.25}""");
        var clearAll = await h.AdminAsync(HttpMethod.Delete, "/admin/faults");
        Assert.Equal("""{"cleared":["matcher_latency","internal_rejects"]}""", clearAll.Text);
        Assert.Empty((await h.AdminAsync(HttpMethod.Get, "/admin/faults")).Json.GetProperty("faults").EnumerateArray());
        Assert.Equal("""{"fault":"slow_fsync","cleared":false}""", (await h.AdminAsync(HttpMethod.Delete, "/admin/faults/slow_fsync")).Text);

        var events = await h.AdminAsync(HttpMethod.Get, "/admin/events?limit=5");
        var list5 = events.Json.GetProperty("events").EnumerateArray().ToList();
        Assert.InRange(list5.Count, 4, 5);
        var injected = list5.First(e => e.GetProperty("kind").GetString() == "fault.injected");
        Assert.Equal("matcher_latency", injected.GetProperty("fields").GetProperty("fault").GetString());
        Assert.Equal("30", injected.GetProperty("fields").GetProperty("duration_seconds").GetString());
        Assert.InRange(injected.GetProperty("timestamp").GetDateTimeOffset(), started, started.AddSeconds(1));
        Assert.Equal("fault matcher_latency injected for 30 s", injected.GetProperty("message").GetString());
        Assert.Equal(["fault.injected", "fault.injected", "fault.cleared", "fault.cleared"],
            list5.TakeLast(4).Select(e => e.GetProperty("kind").GetString()));
        // ISO 8601 with an offset, oldest first.
        Assert.Contains("T", list5[0].GetProperty("timestamp").GetString());
        Assert.True(list5[0].GetProperty("timestamp").GetDateTimeOffset() <= list5[^1].GetProperty("timestamp").GetDateTimeOffset());
    }

    [Fact]
    public async Task Overload_RingFullDuringMatcherStall_503WithRetryAfterAndTheRestAnswered()
    {
        await using var h = await StartAsync(ring: 16, new EngineHttpServerOptions { RequestTimeout = TimeSpan.FromSeconds(20) });
        var stall = await h.AdminAsync(HttpMethod.Post, "/admin/faults", """{"fault":"matcher_stall","duration_seconds":2}""");
        Assert.Equal(HttpStatusCode.OK, stall.Status);
        await Task.Delay(150); // the matcher takes the stall on its next loop

        var answers = await Task.WhenAll(Enumerable.Range(1, 40).Select(i => h.PlaceAsync((ulong)i, "buy", "60000", "0.01")));

        var overloaded = answers.Where(a => a.Status == HttpStatusCode.ServiceUnavailable).ToList();
        var accepted = answers.Where(a => a.Status == HttpStatusCode.OK).ToList();
        Assert.Equal(16, accepted.Count);
        Assert.Equal(24, overloaded.Count);
        Assert.All(accepted, a => Assert.Equal("accepted", a.Str("status")));
        Assert.All(overloaded, a =>
        {
            Assert.Equal("overload", a.Str("error"));
            Assert.Equal("overload", a.Str("reject_reason"));
            Assert.Equal("1", a.Headers.GetValues("Retry-After").Single());
        });
        Assert.Equal(24, h.Engine.Metrics.RejectedTotal(RejectCategory.Overload));
        Assert.Equal(HttpStatusCode.OK, (await h.GetAsync("/health")).Status);
    }

    [Fact]
    public async Task Timeout_EngineStalledLongerThanRequestTimeout_504AndTheCommandStillExecutes()
    {
        await using var h = await StartAsync(options: new EngineHttpServerOptions { RequestTimeout = TimeSpan.FromMilliseconds(300) });
        // Long enough that a loaded machine is still inside the stall when the order arrives; cleared below.
        h.Engine.Faults.Inject(FaultKind.MatcherStall, TimeSpan.FromSeconds(10));
        await Task.Delay(150);

        var a = await h.PlaceAsync(1, "buy", "60000", "0.01");
        Assert.Equal(HttpStatusCode.GatewayTimeout, a.Status);
        Assert.Equal("timeout", a.Str("error"));
        var book = await h.GetAsync("/api/v1/book/BTC-USD");
        Assert.Equal(HttpStatusCode.GatewayTimeout, book.Status);

        h.Engine.Faults.Clear(FaultKind.MatcherStall);
        HttpAnswer order;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        do
        {
            order = await h.GetAsync("/api/v1/orders/BTC-USD/1");
        }
        while (order.Status != HttpStatusCode.OK && DateTime.UtcNow < deadline);
        Assert.Equal("0.01", order.Str("open_quantity"));
        Assert.Equal("duplicate_client_order_id", (await h.PlaceAsync(1, "buy", "60000", "0.01")).Str("reject_reason"));
    }

    [Fact]
    public async Task StoppedEngine_HealthAndCommandsAnswer503()
    {
        await using var h = await StartAsync();
        await h.Engine.StopAsync();

        var health = await h.GetAsync("/health", apiKey: null);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.Status);
        Assert.Equal("stopped", health.Str("status"));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await h.GetAsync("/ready", apiKey: null)).Status);

        var order = await h.PlaceAsync(1, "buy", "60000", "0.01");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, order.Status);
        Assert.Equal("shutting_down", order.Str("error"));
        var book = await h.GetAsync("/api/v1/book/BTC-USD");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, book.Status);
    }

    [Fact]
    public async Task Server_BindsLoopbackPortZeroAndStopsCleanly()
    {
        await using var h = await StartAsync();

        Assert.Equal("127.0.0.1", h.Server.BaseAddress.Host);
        Assert.NotEqual(0, h.Server.BaseAddress.Port);
        await h.Server.StopAsync();
        await h.Server.StopAsync(); // idempotent
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => h.Client.GetAsync("/health"));
        Assert.True(h.Engine.IsReady); // stopping the server leaves the engine running
    }
}
