using ExchangeHealth.Chaos.Slack;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using ExchangeHealth.Alerting.Host;
using ExchangeHealth.Incidents.Lifecycle;
using ExchangeHealth.Incidents.Model;
using ExchangeHealth.Incidents.Store;
using ExchangeHealth.TestKit.Prometheus;
using ExchangeHealth.TestKit.Slack;

namespace ExchangeHealth.Incidents.Tests.Module;

/// <summary>
/// The incidents module inside a real monitor: a real Prometheus, our rule evaluation, routing and
/// outbox, a Slack-compatible fake server; the incident opens itself from the page, fills its
/// timeline, follows acknowledgements both ways and is mitigated (not resolved) when the alert clears.
/// </summary>
public sealed class IncidentModuleTests : IAsyncLifetime
{
    private const string SigningSecret = "8f742231b10e8888abcd99yyyzzz85a5";
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "exh-incmod-" + Guid.NewGuid().ToString("N"));
    private PrometheusServer? _prom;
    private FakeSlackServer? _slack;

    private string RulesDir => Path.Combine(_dir, "rules");

    private string DataDir => Path.Combine(_dir, "data");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(RulesDir);
        await WriteRuleAsync(firing: true);
        _prom = await PrometheusServer.StartAsync(["127.0.0.1:1"], TimeSpan.FromSeconds(1));
        _slack = await FakeSlackServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_prom is not null) await _prom.DisposeAsync();
        if (_slack is not null) await _slack.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private Task WriteRuleAsync(bool firing) => File.WriteAllTextAsync(Path.Combine(RulesDir, "test.rules.yml"), $$$"""
        groups:
          - name: test
            interval: 500ms
            rules:
              - alert: OrderRejectsHigh
                expr: label_replace(vector({{{(firing ? 7 : 0)}}}), "market", "BTC-USD", "", "") > 1
                for: 1s
                labels:
                  severity: page
                annotations:
                  summary: "{{ $labels.market }} rejects at {{ $value }} per second"
              - alert: TicketOnly
                expr: label_replace(vector(3), "market", "ETH-USD", "", "")
                labels:
                  severity: ticket
        """);

    private async Task<(MonitorHost Monitor, IncidentModule Module)> StartMonitorAsync(string escalateAfter = "30s")
    {
        string routing = Path.Combine(_dir, "routing.yml");
        await File.WriteAllTextAsync(routing, $"""
            route:
              receiver: tickets
              group_by: [alertname, market]
              group_wait: 0s
              group_interval: 1s
              repeat_interval: 4h
              routes:
                - matchers: [severity=page]
                  receiver: oncall
                  page: true
            receivers:
              - name: oncall
                slack_configs:
                  - channel: C0ONCALL
                    api_url: {_slack!.BaseUrl}
                    escalate_after: {escalateAfter}
                    escalation_mention: "<!subteam^S0SRE>"
              - name: tickets
                slack_configs:
                  - channel: C0TICKETS
                    api_url: {_slack!.BaseUrl}
            """);
        var module = new IncidentModule();
        var monitor = await MonitorHost.StartAsync(new MonitorOptions
        {
            PrometheusUrl = _prom!.BaseAddress,
            RulesDirectory = RulesDir,
            RoutingFile = routing,
            DataDirectory = DataDir,
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            SlackBotToken = FakeSlackServer.DefaultToken,
            SlackSigningSecret = SigningSecret,
            EvaluationInterval = TimeSpan.FromMilliseconds(500),
            ConsoleOut = TextWriter.Null,
            ReportsDirectory = Path.Combine(_dir, "reports"),
            Modules = [module],
        });
        return (monitor, module);
    }

    private static async Task<Incident> WaitForAsync(IncidentModule module, Func<Incident, bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            await module.DrainAsync();
            var all = await module.Service.ListAsync(new IncidentFilter { Limit = 10 });
            var found = all.FirstOrDefault(condition);
            if (found is not null) return found;
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"no incident matched within {timeout}; incidents: {string.Join("; ", all.Select(i => $"#{i.Id} {i.Status} {i.Title}"))}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task Page_OpensIncident_FillsTimeline_AckFromSlackButton_MitigatedWhenAlertClears()
    {
        var (monitor, module) = await StartMonitorAsync();
        await using (monitor)
        {
            var incident = await WaitForAsync(module, i => i.Status == IncidentStatus.Triggered, TimeSpan.FromSeconds(20));
            Assert.StartsWith("OrderRejectsHigh: BTC-USD rejects at 7 per second", incident.Title, StringComparison.Ordinal);
            Assert.Equal(IncidentSeverity.Sev2, incident.Severity);
            Assert.Equal(["BTC-USD"], incident.Markets);
            Assert.NotNull(incident.GroupKey);
            Assert.Contains("OrderRejectsHigh", incident.GroupKey, StringComparison.Ordinal);
            Assert.NotNull(incident.DetectedAt);
            // Started when the condition began (pending), detected when it fired (for: 1s later; more on a loaded machine).
            Assert.InRange((incident.DetectedAt!.Value - incident.StartedAt).TotalSeconds, 0.9, 15);
            // The ticket-only alert opened nothing.
            Assert.Single(await module.Service.ListAsync(new IncidentFilter()));

            // The page's Slack message is linked once delivered.
            var post = await _slack!.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Arg("channel") == "C0ONCALL" && r.Processed, TimeSpan.FromSeconds(10));
            incident = await WaitForAsync(module, i => i.PageTs is not null, TimeSpan.FromSeconds(10));
            var page = _slack.Messages.First(m => m.Channel == "C0ONCALL" && m.ThreadTs is null);
            Assert.Equal(("C0ONCALL", page.Ts), (incident.PageChannel, incident.PageTs));

            // Acknowledge from the page's button: the incident is acknowledged by the same person.
            var signer = new SlackCallbackSigner(SigningSecret);
            string value = post.Body["blocks"]!.AsArray().Where(b => (string?)b!["type"] == "actions")
                .SelectMany(b => b!["elements"]!.AsArray()).First(e => (string?)e!["action_id"] == "exh_ack")!["value"]!.GetValue<string>();
            string body = SlackCallbackSigner.BlockActionsBody("U0ALICE", "alice", "exh_ack", value, page.Channel, page.Ts);
            using var http = new HttpClient();
            using (var response = await http.SendAsync(signer.CreateRequest(new Uri(monitor.BaseAddress, "slack/interactions"), body, DateTimeOffset.UtcNow)))
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            incident = await WaitForAsync(module, i => i.Status == IncidentStatus.Acknowledged, TimeSpan.FromSeconds(10));
            Assert.Equal("slack:U0ALICE (alice)", incident.AcknowledgedBy);

            // A silence is part of the timeline too.
            using var api = new HttpClient { BaseAddress = monitor.BaseAddress };
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", monitor.ApiToken);
            using (var created = await api.PostAsJsonAsync("api/v1/silences", new
            {
                matchers = new[] { new { name = "alertname", value = "TicketOnly", isRegex = false, isEqual = true } },
                duration = "1h", createdBy = "bob", comment = "known noisy",
            }))
                Assert.Equal(HttpStatusCode.OK, created.StatusCode);

            // The alert clears: the incident is mitigated, not resolved (a person resolves it).
            await WriteRuleAsync(firing: false);
            incident = await WaitForAsync(module, i => i.Status == IncidentStatus.Mitigated, TimeSpan.FromSeconds(20));
            Assert.NotNull(incident.MitigatedAt);
            Assert.Null(incident.ResolvedAt);

            var details = (await module.Service.GetDetailsAsync(incident.Id))!;
            var kinds = details.Timeline.Select(e => e.Kind).ToList();
            foreach (string expected in new[]
            {
                TimelineKinds.AlertPending, TimelineKinds.AlertFiring, TimelineKinds.Opened, TimelineKinds.AlertAttached,
                TimelineKinds.NotificationSent, TimelineKinds.Acknowledged, TimelineKinds.SilenceCreated, TimelineKinds.AlertResolved, TimelineKinds.Mitigated,
            })
                Assert.Contains(expected, kinds);
            // Sorted by the time things happened, and in causal order.
            Assert.Equal(details.Timeline.OrderBy(e => e.At).Select(e => e.Id), details.Timeline.Select(e => e.Id));
            Assert.True(kinds.IndexOf(TimelineKinds.AlertPending) < kinds.IndexOf(TimelineKinds.AlertFiring));
            Assert.True(kinds.IndexOf(TimelineKinds.AlertFiring) <= kinds.IndexOf(TimelineKinds.Opened));
            Assert.True(kinds.IndexOf(TimelineKinds.Acknowledged) < kinds.IndexOf(TimelineKinds.Mitigated));
            // Only this incident's alert: the ticket alert's state changes are not in its timeline.
            Assert.DoesNotContain(details.Timeline, e => e.Text.Contains("TicketOnly {", StringComparison.Ordinal));
            var firing = details.Timeline.First(e => e.Kind == TimelineKinds.AlertFiring);
            Assert.Equal(incident.DetectedAt, firing.At);
            Assert.Equal(TimelineSources.Slack, details.Timeline.First(e => e.Kind == TimelineKinds.Acknowledged).Source);
            var alert = Assert.Single(details.Alerts);
            Assert.Equal("OrderRejectsHigh", alert.AlertName);
            Assert.NotNull(alert.EndsAt);

            // Leadership metrics.
            string metrics = await http.GetStringAsync(new Uri(monitor.BaseAddress, "metrics"));
            Assert.Contains("exh_incidents_open{severity=\"SEV2\"} 1", metrics, StringComparison.Ordinal);
            Assert.Contains("exh_incidents_open{severity=\"SEV1\"} 0", metrics, StringComparison.Ordinal);
            Assert.Contains("exh_incident_time_to_acknowledge_seconds_count{severity=\"SEV2\"} 1", metrics, StringComparison.Ordinal);

            // A person resolves it; the open gauge drops and time to resolve is recorded.
            var resolved = await module.Service.ExecuteAsync(incident.Id, new IncidentCommand.Resolve(), new IncidentActor("cli:carol", TimelineSources.Cli));
            Assert.True(resolved.Ok, resolved.Reason);
            metrics = await http.GetStringAsync(new Uri(monitor.BaseAddress, "metrics"));
            Assert.Contains("exh_incidents_open{severity=\"SEV2\"} 0", metrics, StringComparison.Ordinal);
            Assert.Contains("exh_incident_time_to_resolve_seconds_count{severity=\"SEV2\"} 1", metrics, StringComparison.Ordinal);

            // Resolving writes the post-incident report (a Quartz job).
            string html = Path.Combine(_dir, "reports", "incidents", $"incident-{incident.Id}.html");
            var reportDeadline = DateTime.UtcNow.AddSeconds(20);
            while (!File.Exists(html) && DateTime.UtcNow < reportDeadline) await Task.Delay(200);
            Assert.True(File.Exists(html), "no report after resolving");
            Assert.True(File.Exists(Path.ChangeExtension(html, ".md")));
            string reportText = await File.ReadAllTextAsync(html);
            Assert.Contains("OrderRejectsHigh", reportText, StringComparison.Ordinal);
            Assert.Contains("<svg", reportText, StringComparison.Ordinal);

            // /incident from Slack, through the monitor: a signed note is added; a replay of the same request is refused and counted.
            string slash = SlackCallbackSigner.SlashCommandBody($"note #{incident.Id} root cause: journal disk full", "U0ALICE", "alice", "C0ONCALL", triggerId: "t-note-1");
            var signedAt = DateTimeOffset.UtcNow;
            using (var noted = await signer.PostAsync(http, new Uri(monitor.BaseAddress, "slack/commands"), slash, signedAt))
                Assert.Equal(HttpStatusCode.OK, noted.StatusCode);
            using (var replayed = await signer.PostAsync(http, new Uri(monitor.BaseAddress, "slack/commands"), slash, signedAt))
                Assert.Equal(HttpStatusCode.Unauthorized, replayed.StatusCode);
            Assert.Contains(((await module.Service.GetDetailsAsync(incident.Id))!).Timeline, e => e.Kind == TimelineKinds.Note && e.Text == "root cause: journal disk full");
            metrics = await http.GetStringAsync(new Uri(monitor.BaseAddress, "metrics"));
            Assert.Contains("exh_slack_requests_rejected_total{endpoint=\"commands\",reason=\"replay\"} 1", metrics, StringComparison.Ordinal);

            // A late acknowledgement from the page's button does not re-open it.
            using (var late = await http.SendAsync(signer.CreateRequest(new Uri(monitor.BaseAddress, "slack/interactions"),
                SlackCallbackSigner.BlockActionsBody("U0DAVE", "dave", "exh_ack", value, page.Channel, page.Ts), DateTimeOffset.UtcNow)))
                Assert.Equal(HttpStatusCode.OK, late.StatusCode);
            await module.DrainAsync();
            Assert.Equal(IncidentStatus.Resolved, (await module.Service.GetAsync(incident.Id))!.Status);
        }
    }

    [Fact]
    public async Task IncidentAcknowledgedOutsideSlack_AcknowledgesThePage_NoEscalation()
    {
        var (monitor, module) = await StartMonitorAsync(escalateAfter: "5s");
        await using (monitor)
        {
            var incident = await WaitForAsync(module, i => i.Status == IncidentStatus.Triggered, TimeSpan.FromSeconds(20));
            await _slack!.WaitForRequestAsync(r => r.Method == "chat.postMessage" && r.Arg("channel") == "C0ONCALL" && r.Processed, TimeSpan.FromSeconds(10));
            var ack = await module.Service.ExecuteAsync(incident.Id, new IncidentCommand.Acknowledge(), new IncidentActor("cli:alice", TimelineSources.Cli));
            Assert.True(ack.Ok, ack.Reason);
            var acks = await monitor.Escalations.ListAcknowledgementsAsync("oncall", incident.GroupKey!);
            Assert.Equal("cli:alice", Assert.Single(acks).By);

            // Past escalate_after (5 s after the page): nothing escalated.
            await Task.Delay(TimeSpan.FromSeconds(6));
            Assert.Equal(0, monitor.Escalations.Escalated);
            // Acknowledging twice is refused with the reason.
            var again = await module.Service.ExecuteAsync(incident.Id, new IncidentCommand.Acknowledge(), new IncidentActor("api", TimelineSources.Api));
            Assert.Equal(IncidentError.IllegalTransition, again.Error);
            Assert.Contains("already acknowledged by cli:alice", again.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task MonitorRestart_AttachesToTheSameIncident_NoSecondOne()
    {
        var (monitor, module) = await StartMonitorAsync();
        long id;
        await using (monitor)
        {
            id = (await WaitForAsync(module, i => i.Status == IncidentStatus.Triggered, TimeSpan.FromSeconds(20))).Id;
        }
        (monitor, module) = await StartMonitorAsync();
        await using (monitor)
        {
            await Task.Delay(TimeSpan.FromSeconds(3));
            await module.DrainAsync();
            var all = await module.Service.ListAsync(new IncidentFilter());
            Assert.Equal(id, Assert.Single(all).Id);
        }
    }
}
