using System.Net;
using ExchangeHealth.Alerting.Host;
using ExchangeHealth.Chaos.Experiments;
using ExchangeHealth.Chaos.Platform;
using Xunit.Abstractions;

namespace ExchangeHealth.Chaos.Tests.Experiments;

/// <summary>
/// The runner against the REAL monitor (<see cref="MonitorHost"/>: Quartz rule evaluation, HTTP API
/// with its bearer token file) and a real Prometheus: the alert probe and the detection
/// observer read the monitor's actual <c>/api/v1/rules</c> and <c>/api/v1/status</c> shapes.
/// </summary>
public sealed class RealMonitorTests(ITestOutputHelper output) : IAsyncLifetime
{
    private RunnerHarness _h = null!;

    public async Task InitializeAsync() => _h = await RunnerHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Run_AgainstTheRealMonitor_SeesPendingThenFiringAfterFor()
    {
        string rules = Path.Combine(_h.Directory, "rules");
        Directory.CreateDirectory(rules);
        await File.WriteAllTextAsync(Path.Combine(rules, "chaos.rules.yml"), """
            groups:
              - name: chaos
                interval: 1s
                rules:
                  - alert: ChaosTestHigh
                    expr: chaos_test_value > 0
                    for: 2s
                    labels:
                      severity: critical
            """);
        string monitorData = Path.Combine(_h.Directory, "monitor");
        await using var monitor = await MonitorHost.StartAsync(new MonitorOptions
        {
            PrometheusUrl = _h.Prometheus.BaseAddress,
            RulesDirectory = rules,
            DataDirectory = monitorData,
            Listen = new IPEndPoint(IPAddress.Loopback, LoopbackPort.Free()),
            ConsoleOut = TextWriter.Null,
        });
        var endpoints = StubPlatform.EndpointsAt(_h.Metrics.BaseUrl, _h.Directory) with
        {
            Prometheus = _h.Prometheus.BaseAddress,
            Monitors = [new MonitorNodeEndpoints(ComponentNames.Monitor, new Uri(monitor.BaseAddress.AbsoluteUri.TrimEnd('/') + "/"), Path.Combine(monitorData, MonitorHost.TokenFileName), monitorData)],
        };
        var platform = new StubPlatform(endpoints)
        {
            OnSignal = (_, signal) => _h.Value = signal == ComponentSignal.Stop ? 1 : 0,
        };
        var experiment = ExperimentFile.Parse("""
            title: real monitor
            platform: {slack: false}
            steady_state_hypothesis:
              within: 20s
              probes:
                - name: value zero
                  type: promql
                  query: chaos_test_value
                  tolerance: 0
                - name: not alerting
                  type: alert
                  alertname: ChaosTestHigh
                  state: inactive
                - name: monitor reaches Prometheus
                  type: http
                  url: "{monitor}/api/v1/status"
                  auth: monitor
                  json: {field: prometheusUnreachableSince, equals: "null"}
            method:
              - action: raise the value
                provider: process.signal
                arguments: {component: engine, signal: stop}
                fault: true
              - pause: 1s
            rollbacks:
              - action: lower the value
                provider: process.signal
                arguments: {component: engine, signal: continue}
            expect:
              alerts:
                - alertname: ChaosTestHigh
                  labels: {severity: critical}
                  state: pending
                  within: 5s
                - alertname: ChaosTestHigh
                  state: firing
                  within: 9s
              recovery_within: 20s
            """, "chaos/real-monitor.yml");

        var report = await new ExperimentRunner((_, _) => Task.FromResult<IPlatform>(platform)).RunAsync(experiment, new ExperimentRunOptions
        {
            ReportDirectory = Path.Combine(_h.Directory, "reports"),
            PollInterval = TimeSpan.FromMilliseconds(250),
            Log = output.WriteLine,
        });
        output.WriteLine(ExperimentReportWriter.Summary(report));

        Assert.True(report.Outcome == ExperimentOutcome.Passed, string.Join("\n", report.Reasons));
        Assert.True(report.SteadyStateBefore!.Holds);
        double pending = report.Timeline.FirstPending!.SecondsAfterFault!.Value;
        double firing = report.Timeline.Firing!.SecondsAfterFault!.Value;
        Assert.InRange(pending, 0, 5);
        Assert.True(firing - pending >= 1.5, $"firing {firing} s only {firing - pending} s after pending: the rule's for: 2s was not observed");
        Assert.NotNull(report.Timeline.Recovered);
    }

    /// <summary>
    /// The whole detection path with real parts: the runner's Slack stand-in, the real monitor
    /// (started by the platform factory with the stand-in's URL, as the supervisor will) routing
    /// the page to its Slack notifier, its outbox, and <c>slack_delivered_once</c> on the real outbox.
    /// </summary>
    [Fact]
    public async Task Run_RealMonitorPagesTheSlackStandIn_SlackTimeAndDeliveredOnce()
    {
        string rules = Path.Combine(_h.Directory, "rules");
        Directory.CreateDirectory(rules);
        await File.WriteAllTextAsync(Path.Combine(rules, "chaos.rules.yml"), """
            groups:
              - name: chaos
                interval: 1s
                rules:
                  - alert: ChaosTestHigh
                    expr: chaos_test_value > 0
                    for: 1s
                    labels:
                      severity: critical
            """);
        string monitorData = Path.Combine(_h.Directory, "monitor");
        MonitorHost? monitor = null;
        StubPlatform? platform = null;
        async Task<IPlatform> FactoryAsync(PlatformRequest request, CancellationToken ct)
        {
            string routing = Path.Combine(_h.Directory, "routing.yml");
            await File.WriteAllTextAsync(routing, $"""
                global:
                  slack_api_url: {request.SlackApi!.AbsoluteUri}
                route:
                  receiver: pages
                  group_by: [alertname]
                  group_wait: 0s
                  group_interval: 2s
                  repeat_interval: 1h
                receivers:
                  - name: pages
                    slack_configs:
                      - channel: C0PAGES
                """, ct);
            monitor = await MonitorHost.StartAsync(new MonitorOptions
            {
                PrometheusUrl = _h.Prometheus.BaseAddress,
                RulesDirectory = rules,
                RoutingFile = routing,
                DataDirectory = monitorData,
                Listen = new IPEndPoint(IPAddress.Loopback, LoopbackPort.Free()),
                SlackBotToken = ExchangeHealth.Chaos.Slack.FakeSlackServer.DefaultToken,
                ConsoleOut = TextWriter.Null,
            }, cancellationToken: ct);
            var endpoints = StubPlatform.EndpointsAt(_h.Metrics.BaseUrl, _h.Directory) with
            {
                Prometheus = _h.Prometheus.BaseAddress,
                Monitors = [new MonitorNodeEndpoints(ComponentNames.Monitor, new Uri(monitor.BaseAddress.AbsoluteUri.TrimEnd('/') + "/"), Path.Combine(monitorData, MonitorHost.TokenFileName), monitorData)],
                SlackApi = request.SlackApi,
            };
            platform = new StubPlatform(endpoints) { OnSignal = (_, signal) => _h.Value = signal == ComponentSignal.Stop ? 1 : 0 };
            return platform;
        }
        var experiment = ExperimentFile.Parse("""
            title: real monitor pages Slack
            platform: {slack: true}
            steady_state_hypothesis:
              within: 20s
              probes:
                - name: value zero
                  type: promql
                  query: chaos_test_value
                  tolerance: 0
                - name: not alerting
                  type: alert
                  alertname: ChaosTestHigh
                  state: inactive
            method:
              - action: raise the value
                provider: process.signal
                arguments: {component: engine, signal: stop}
                fault: true
            rollbacks:
              - action: lower the value
                provider: process.signal
                arguments: {component: engine, signal: continue}
            expect:
              alerts:
                - alertname: ChaosTestHigh
                  state: firing
                  within: 8s
              slack:
                - alertname: ChaosTestHigh
                  within: 10s
              recovery_within: 20s
              invariants:
                - name: slack_delivered_once
                  arguments: {receivers: [pages], settle: 15s}
            """, "chaos/real-monitor-slack.yml");

        try
        {
            var report = await new ExperimentRunner(FactoryAsync).RunAsync(experiment, new ExperimentRunOptions
            {
                ReportDirectory = Path.Combine(_h.Directory, "reports"),
                PollInterval = TimeSpan.FromMilliseconds(250),
                Log = output.WriteLine,
            });
            output.WriteLine(ExperimentReportWriter.Summary(report));

            Assert.True(report.Outcome == ExperimentOutcome.Passed, string.Join("\n", report.Reasons));
            double firing = report.Timeline.Firing!.SecondsAfterFault!.Value;
            double slack = report.Expectations.Single(e => e.Kind == "slack").Observed!.SecondsAfterFault!.Value;
            Assert.True(slack >= firing - 0.5, $"Slack at {slack} s, before the alert fired at {firing} s");
            var invariant = Assert.Single(report.Invariants);
            Assert.True(invariant.Passed, invariant.Summary);
            Assert.True(invariant.Counts["delivered"] >= 1, invariant.Summary);
            Assert.Equal(0, invariant.Counts["duplicates"]);
            Assert.Equal(0, invariant.Counts["pending"]);
        }
        finally
        {
            if (monitor is not null) await monitor.DisposeAsync();
        }
    }
}
