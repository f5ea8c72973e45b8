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
}
