using ExchangeHealth.Chaos.Slack;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using ExchangeHealth.Alerting.Host;
using ExchangeHealth.TestKit.Alertmanager;

namespace ExchangeHealth.Alerting.Tests.Host;

/// <summary>
/// A real Alertmanager (Debian package) posting its webhook payload (version 4) to the monitor's
/// intake: the alerts enter our pipeline and reach Slack; the resolution follows.
/// </summary>
public sealed class AlertmanagerIntakeTests
{
    [Fact]
    public async Task RealAlertmanagerWebhook_FeedsThePipeline_FiringThenResolved()
    {
        string dir = Path.Combine(Path.GetTempPath(), "exh-intake-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(dir, "rules"));
        try
        {
            await using var slack = await FakeSlackServer.StartAsync();
            string routing = Path.Combine(dir, "routing.yml");
            await File.WriteAllTextAsync(routing, $"""
                route:
                  receiver: oncall
                  group_by: [alertname]
                  group_wait: 0s
                  group_interval: 1s
                receivers:
                  - name: oncall
                    slack_configs:
                      - channel: C0ONCALL
                        api_url: {slack.BaseUrl}
                """);
            await using var monitor = await MonitorHost.StartAsync(new MonitorOptions
            {
                PrometheusUrl = new Uri("http://127.0.0.1:1/"), // no rules: Prometheus is not needed here
                RulesDirectory = Path.Combine(dir, "rules"),
                RoutingFile = routing,
                DataDirectory = Path.Combine(dir, "data"),
                Listen = new IPEndPoint(IPAddress.Loopback, 0),
                SlackBotToken = FakeSlackServer.DefaultToken,
                ConsoleOut = TextWriter.Null,
            });

            await using var am = await AlertmanagerServer.StartAsync($"""
                route:
                  receiver: exh
                  group_wait: 0s
                  group_interval: 1s
                  repeat_interval: 1h
                receivers:
                  - name: exh
                    webhook_configs:
                      - url: {new Uri(monitor.BaseAddress, "api/v1/alerts/alertmanager")}
                        send_resolved: true
                        http_config:
                          authorization:
                            credentials: {monitor.ApiToken}
                """);

            var startsAt = DateTimeOffset.UtcNow.AddSeconds(-5);
            var alert = new
            {
                labels = new Dictionary<string, string> { ["alertname"] = "GatewayTlsExpiring", ["severity"] = "page", ["market"] = "ETH-USD" },
                annotations = new Dictionary<string, string> { ["summary"] = "TLS certificate of the gateway expires in 3 days" },
                startsAt,
            };
            await am.PostAlertsAsync([alert]);

            var post = await slack.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Processed, TimeSpan.FromSeconds(20));
            Assert.Contains("GatewayTlsExpiring", post.Body.ToJsonString(), StringComparison.Ordinal);
            Assert.Contains("TLS certificate of the gateway expires in 3 days", post.Body.ToJsonString(), StringComparison.Ordinal);
            var view = Assert.Single(monitor.Dispatcher.GetAlerts(), a => a.Alert.Name == "GatewayTlsExpiring");
            Assert.Equal("alertmanager", view.Alert.Labels["exh_source"]);
            Assert.Equal(startsAt.ToUnixTimeSeconds(), view.Alert.StartsAt.ToUnixTimeSeconds());

            // Resolve it in Alertmanager: the resolved notification reaches the monitor, which updates the Slack message.
            await am.PostAlertsAsync([new { alert.labels, alert.annotations, startsAt, endsAt = DateTimeOffset.UtcNow }]);
            var update = await slack.WaitForRequestAsync(r => r.Method == "chat.update" && r.Body.ToJsonString().Contains("RESOLVED", StringComparison.Ordinal), TimeSpan.FromSeconds(20));
            Assert.NotNull(update);
            Assert.Single(slack.RequestsOf("chat.postMessage"), r => r.Arg("thread_ts") is null);
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task Intake_RefusesBadTokenAndMalformedPayload_NamingTheField()
    {
        string dir = Path.Combine(Path.GetTempPath(), "exh-intake-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(dir, "rules"));
        try
        {
            await using var monitor = await MonitorHost.StartAsync(new MonitorOptions
            {
                PrometheusUrl = new Uri("http://127.0.0.1:1/"),
                RulesDirectory = Path.Combine(dir, "rules"),
                DataDirectory = Path.Combine(dir, "data"),
                Listen = new IPEndPoint(IPAddress.Loopback, 0),
                ConsoleOut = TextWriter.Null,
            });
            using var http = new HttpClient { BaseAddress = monitor.BaseAddress };
            using (var noToken = await http.PostAsync("api/v1/alerts/alertmanager", new StringContent("{}")))
                Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", monitor.ApiToken);
            using var bad = await http.PostAsync("api/v1/alerts/alertmanager", JsonContent.Create(new { version = "4", status = "firing", alerts = new[] { new { status = "firing", labels = new { }, startsAt = "yesterday" } } }));
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            var error = await bad.Content.ReadFromJsonAsync<JsonObject>();
            Assert.NotNull(error!["field"]);
            Assert.Empty(monitor.Dispatcher.GetAlerts());
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }
}
