using ExchangeHealth.Chaos.Slack;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using ExchangeHealth.Alerting.Host;
using ExchangeHealth.TestKit.Prometheus;
using ExchangeHealth.TestKit.Slack;

namespace ExchangeHealth.Alerting.Tests.Host;

/// <summary>
/// The monitor end to end, in process: a real Prometheus, our Quartz evaluation, routing and
/// outbox, and a Slack-compatible fake server that records requests and verifies the token.
/// </summary>
public sealed class MonitorHostTests : IAsyncLifetime
{
    private const string SigningSecret = "8f742231b10e8888abcd99yyyzzz85a5";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "exh-monitor-" + Guid.NewGuid().ToString("N"));
    private PrometheusServer? _prom;
    private FakeSlackServer? _slack;

    private string RulesDir => Path.Combine(_dir, "rules");

    private string DataDir => Path.Combine(_dir, "data");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(RulesDir);
        await File.WriteAllTextAsync(Path.Combine(RulesDir, "test.rules.yml"), """
            groups:
              - name: test
                interval: 500ms
                rules:
                  - alert: OrderRejectsHigh
                    expr: label_replace(vector(7), "market", "BTC-USD", "", "")
                    labels:
                      severity: page
                    annotations:
                      summary: "{{ $labels.market }} rejects at {{ $value }} per second"
                      runbook_url: "https://runbooks.example/rejects"
            """);
        _prom = await PrometheusServer.StartAsync(["127.0.0.1:1"], TimeSpan.FromSeconds(1));
        _slack = await FakeSlackServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_prom is not null) await _prom.DisposeAsync();
        if (_slack is not null) await _slack.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private async Task<MonitorHost> StartMonitorAsync(string escalateAfter = "30s")
    {
        string routing = Path.Combine(_dir, "routing.yml");
        await File.WriteAllTextAsync(routing, $"""
            route:
              receiver: oncall
              group_by: [alertname, market]
              group_wait: 0s
              group_interval: 1s
              repeat_interval: 4h
            receivers:
              - name: oncall
                slack_configs:
                  - channel: C0ONCALL
                    api_url: {_slack!.BaseUrl}
                    escalate_after: {escalateAfter}
                    escalation_mention: "<!subteam^S0SRE>"
            """);
        return await MonitorHost.StartAsync(new MonitorOptions
        {
            PrometheusUrl = _prom!.BaseAddress,
            RulesDirectory = RulesDir,
            RoutingFile = routing,
            DataDirectory = DataDir,
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            SlackBotToken = FakeSlackServer.DefaultToken,
            SlackSigningSecret = SigningSecret,
            EvaluationInterval = TimeSpan.FromMilliseconds(500),
            PrometheusDownAfter = TimeSpan.FromSeconds(1),
            ConsoleOut = TextWriter.Null,
        });
    }

    private static string ButtonValue(FakeSlackRequest post, string actionId)
    {
        foreach (var block in post.Body["blocks"]!.AsArray())
        {
            if ((string?)block!["type"] != "actions") continue;
            foreach (var element in block["elements"]!.AsArray())
                if ((string?)element!["action_id"] == actionId) return (string)element["value"]!;
        }
        throw new InvalidOperationException($"no {actionId} button in {post.Body.ToJsonString()}");
    }

    [Fact]
    public async Task FiringRule_PostsToSlack_AckFromSlackButtonStopsEscalation()
    {
        await using var monitor = await StartMonitorAsync(escalateAfter: "2s");
        var post = await _slack!.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Processed, TimeSpan.FromSeconds(15));
        Assert.Equal("C0ONCALL", post.Arg("channel"));
        string json = post.Body.ToJsonString();
        Assert.Contains("OrderRejectsHigh", json, StringComparison.Ordinal);
        Assert.Contains("BTC-USD rejects at 7 per second", json, StringComparison.Ordinal);
        Assert.Contains("https://runbooks.example/rejects", json, StringComparison.Ordinal);

        // The on-call engineer presses Acknowledge in Slack: a signed block_actions callback.
        var message = _slack.Messages.First(m => m.ThreadTs is null);
        var signer = new SlackCallbackSigner(SigningSecret);
        string body = SlackCallbackSigner.BlockActionsBody("U0ALICE", "alice", "exh_ack", ButtonValue(post, "exh_ack"), message.Channel, message.Ts);
        using var http = new HttpClient();
        using var response = await http.SendAsync(signer.CreateRequest(new Uri(monitor.BaseAddress, "slack/interactions"), body, DateTimeOffset.UtcNow));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Acknowledged", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // No escalation after escalate_after.
        await Task.Delay(TimeSpan.FromSeconds(3.5));
        Assert.DoesNotContain(_slack.Requests, r => r.Body["reply_broadcast"]?.GetValue<bool>() == true);
        Assert.Equal(0, monitor.Escalations.Escalated);

        // A forged callback is refused.
        using var forged = new SlackCallbackSigner("wrong-secret-wrong-secret-123456").CreateRequest(new Uri(monitor.BaseAddress, "slack/interactions"), body, DateTimeOffset.UtcNow);
        using var refused = await http.SendAsync(forged);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Fact]
    public async Task UnacknowledgedPage_IsEscalatedInTheThreadWithTheMention()
    {
        await using var monitor = await StartMonitorAsync(escalateAfter: "2s");
        var post = await _slack!.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Processed, TimeSpan.FromSeconds(15));
        var escalation = await _slack.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Arg("thread_ts") is not null && r.Body.ToJsonString().Contains("S0SRE", StringComparison.Ordinal), TimeSpan.FromSeconds(15));
        // escalate_after counts from the page (the New notification), not from Slack's receipt of it.
        var entries = await monitor.Outbox.ListAsync(null, 10);
        var paged = Assert.Single(entries, e => e.Notification.Kind == ExchangeHealth.Alerting.Model.NotificationKind.New).CreatedAt;
        Assert.True(escalation.ArrivedAt - paged >= TimeSpan.FromSeconds(2), $"escalated {(escalation.ArrivedAt - paged).TotalSeconds:F2} s after the page");
        Assert.True(escalation.ArrivedAt > post.ArrivedAt);
        Assert.Equal(1, monitor.Escalations.Escalated);
    }

    [Fact]
    public async Task Silence_CreatedThroughApi_MutesTheAlert_AndIsAudited()
    {
        await using (var first = await StartMonitorAsync())
        {
            using var http = new HttpClient { BaseAddress = first.BaseAddress };
            using (var anonymous = await http.PostAsJsonAsync("api/v1/silences", new { }))
                Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", first.ApiToken);
            using (var bad = await http.PostAsJsonAsync("api/v1/silences", new { matchers = new[] { new { name = "alertname", value = "", isRegex = false, isEqual = true } }, duration = "1h", createdBy = "t", comment = "c" }))
            {
                Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
                Assert.Contains("matchers", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            }
        }
        Directory.Delete(DataDir, recursive: true);
        await using var monitor = await StartMonitorAsync();
        using var client = new HttpClient { BaseAddress = monitor.BaseAddress };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", monitor.ApiToken);
        using var created = await client.PostAsJsonAsync("api/v1/silences", new
        {
            matchers = new[] { new { name = "alertname", value = "OrderRejectsHigh", isRegex = false, isEqual = true } },
            duration = "1h", createdBy = "bob", comment = "known issue",
        });
        Assert.True(created.StatusCode == HttpStatusCode.OK, $"{created.StatusCode}: {await created.Content.ReadAsStringAsync()}");
        string id = (await created.Content.ReadFromJsonAsync<JsonObject>())!["silenceID"]!.GetValue<string>();
        await Task.Delay(TimeSpan.FromSeconds(3));
        // Possibly one post raced the silence at start; after it, nothing new for this group.
        int posts = _slack!.RequestsOf("chat.postMessage").Count;
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Equal(posts, _slack.RequestsOf("chat.postMessage").Count);
        var alerts = await client.GetFromJsonAsync<JsonArray>("api/v1/alerts");
        var alert = Assert.Single(alerts!, a => (string?)a!["labels"]!["alertname"] == "OrderRejectsHigh");
        Assert.Equal("suppressed", (string?)alert!["status"]!["state"]);
        Assert.Equal(id, (string?)alert["status"]!["silencedBy"]![0]);

        using var expired = await client.DeleteAsync($"api/v1/silences/{id}?by=bob");
        Assert.True(expired.StatusCode == HttpStatusCode.OK, $"{expired.StatusCode}: {await expired.Content.ReadAsStringAsync()}");
        var audit = await client.GetFromJsonAsync<JsonArray>($"api/v1/silences/audit?id={id}");
        Assert.Equal(2, audit!.Count);
    }

    [Fact]
    public async Task PrometheusDown_RaisesOwnAlert_ThroughSlack_AndResolvesWhenBack()
    {
        await using var monitor = await StartMonitorAsync();
        await _slack!.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Processed, TimeSpan.FromSeconds(15));
        await _prom!.DisposeAsync();
        _prom = null;
        var down = await _slack.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Body.ToJsonString().Contains("PrometheusUnreachable", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
        Assert.NotNull(down);
        Assert.NotNull(monitor.Rules.UnreachableSince);
        string metrics = monitor.MetricsHandler.ScrapeToString();
        Assert.Matches(@"exh_rule_evaluation_failures_total\{group=""test.rules.yml:test""\} [1-9]", metrics);
        Assert.Contains("exh_alerts{alertname=\"OrderRejectsHigh\",state=\"firing\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MonitorRestart_NeitherRepeatsNorForgetsTheNotification()
    {
        await using (var first = await StartMonitorAsync())
        {
            await _slack!.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Processed, TimeSpan.FromSeconds(15));
            await Task.Delay(TimeSpan.FromSeconds(1.5));
        }
        int before = _slack!.RequestsOf("chat.postMessage").Count;
        Assert.Equal(1, before);
        await using (var second = await StartMonitorAsync())
        {
            // Evaluations resume (restored state: the alert stays firing, not new) and the group
            // is re-formed, but the notification log says it was already sent.
            await Task.Delay(TimeSpan.FromSeconds(4));
            Assert.Equal(before, _slack.RequestsOf("chat.postMessage").Count);
            Assert.Contains(second.Dispatcher.GetAlerts(), a => a.Alert.Name == "OrderRejectsHigh");
        }
    }

    [Fact]
    public async Task SloReport_RunsOnItsQuartzSchedule_AndWritesMarkdownAndHtml()
    {
        string repoSlos = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../slos"));
        Assert.True(Directory.Exists(repoSlos), repoSlos);
        string reports = Path.Combine(_dir, "reports");
        await using var monitor = await MonitorHost.StartAsync(new MonitorOptions
        {
            PrometheusUrl = _prom!.BaseAddress,
            RulesDirectory = RulesDir,
            DataDirectory = DataDir,
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            ConsoleOut = TextWriter.Null,
            SloSpecs = repoSlos,
            SloReportCron = "0/2 * * * * ?",
            ReportsDirectory = reports,
        });
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (monitor.SloReports!.Written == 0 && DateTime.UtcNow < deadline) await Task.Delay(200);
        Assert.True(monitor.SloReports.Written > 0, "no report written within 30 s");
        Assert.Single(Directory.GetFiles(reports, "slo-report-*.md"));
        string html = await File.ReadAllTextAsync(Assert.Single(Directory.GetFiles(reports, "slo-report-*.html")));
        Assert.Contains("order-entry-availability", html, StringComparison.Ordinal); // an SLO of slos/exchange.yml (no data here, so no charts)
    }

    [Fact]
    public async Task SloAlert_PageShowsTheRemainingErrorBudget()
    {
        // Prometheus records the SLO's budget (as the generated SLO rules do); the monitor's SLO alert carries sloth_id.
        string promRules = Path.Combine(_dir, "prom-rules");
        Directory.CreateDirectory(promRules);
        await File.WriteAllTextAsync(Path.Combine(promRules, "budget.yml"), """
            groups:
              - name: budget
                interval: 1s
                rules:
                  - record: slo:period_error_budget_remaining:ratio
                    expr: label_replace(label_replace(vector(0.42), "sloth_id", "exchange-test", "", ""), "market", "BTC-USD", "", "")
            """);
        await _prom!.DisposeAsync();
        _prom = await PrometheusServer.StartAsync(["127.0.0.1:1"], TimeSpan.FromSeconds(1), promRules);
        await _prom.WaitForAsync("slo:period_error_budget_remaining:ratio", r => r.Count == 1, TimeSpan.FromSeconds(10));
        await File.WriteAllTextAsync(Path.Combine(RulesDir, "test.rules.yml"), """
            groups:
              - name: test
                rules:
                  - alert: TestBudgetBurn
                    expr: label_replace(vector(20), "market", "BTC-USD", "", "")
                    labels:
                      severity: page
                      sloth_id: exchange-test
            """);
        await using var monitor = await StartMonitorAsync();
        var post = await _slack!.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Processed, TimeSpan.FromSeconds(15));
        Assert.Contains("42%", post.Body.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task PendingEscalation_SurvivesAMonitorRestart()
    {
        await using (var first = await StartMonitorAsync(escalateAfter: "3s"))
        {
            await _slack!.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Processed, TimeSpan.FromSeconds(15));
        }
        Assert.DoesNotContain(_slack.Requests, r => r.Body.ToJsonString().Contains("S0SRE", StringComparison.Ordinal));
        await using var second = await StartMonitorAsync(escalateAfter: "3s");
        var escalation = await _slack.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Arg("thread_ts") is not null && r.Body.ToJsonString().Contains("S0SRE", StringComparison.Ordinal), TimeSpan.FromSeconds(15));
        Assert.NotNull(escalation);
        Assert.Equal(1, second.Escalations.Escalated);
        Assert.Single(_slack.RequestsOf("chat.postMessage"), r => r.Arg("thread_ts") is null); // the page itself was not re-posted
    }
}
