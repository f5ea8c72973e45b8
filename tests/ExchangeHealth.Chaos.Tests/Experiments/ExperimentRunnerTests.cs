using System.Text.Json.Nodes;
using ExchangeHealth.Chaos.Experiments;
using ExchangeHealth.Chaos.Platform;

namespace ExchangeHealth.Chaos.Tests.Experiments;

/// <summary>
/// The runner end to end against a real Prometheus, a real Slack stand-in, a Kestrel monitor API
/// stand-in and an in-test platform whose "engine" reacts to signals.
/// </summary>
public sealed class ExperimentRunnerTests : IAsyncLifetime
{
    private RunnerHarness _h = null!;
    private FakePlatform? _platform;

    public async Task InitializeAsync() => _h = await RunnerHarness.StartAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    private const string Freeze = """
        title: Engine freeze is detected
        tags: [engine, ci]
        platform:
          slack: true
        steady_state_hypothesis:
          within: 10s
          probes:
            - name: value is zero
              type: promql
              query: chaos_test_value
              tolerance: 0
            - name: monitor answers
              type: http
              url: "{monitor}/api/v1/status"
              auth: monitor
              json: {field: ok, equals: "true"}
            - name: no freeze alert
              type: alert
              alertname: EngineFrozen
              state: inactive
        method:
          - action: freeze engine
            provider: process.signal
            arguments: {component: engine, signal: stop}
            fault: true
          - pause: 1s
            name: frozen
          - action: thaw engine
            provider: process.signal
            arguments: {component: engine, signal: continue}
        rollbacks:
          - action: thaw engine
            provider: process.signal
            arguments: {component: engine, signal: continue}
        expect:
          alerts:
            - alertname: EngineFrozen
              labels: {severity: critical}
              state: pending
              within: 4s
            - alertname: EngineFrozen
              state: firing
              within: 4s
          incident: {within: 4s}
          slack:
            - alertname: EngineFrozen
              within: 4s
          recovery_within: 10s
          invariants: [slack_delivered_once]
        """;

    /// <summary>The "monitor" reacts to a frozen engine: metric up, alert pending then firing, an incident, one Slack message.</summary>
    private Func<PlatformRequest, CancellationToken, Task<IPlatform>> Factory(bool alertFires = true, bool failStop = false)
        => (request, factoryToken) =>
        {
            var platform = _h.CreatePlatform(request);
            platform.OnSignal = async (component, signal) =>
            {
                if (component != ComponentNames.Engine) return;
                if (signal == ComponentSignal.Stop)
                {
                    if (failStop) throw new InvalidOperationException("engine is not running");
                    _h.Value = 1;
                    _h.Burn = 10;
                    if (!alertFires) return;
                    var now = DateTimeOffset.UtcNow;
                    _h.SetAlert("EngineFrozen", "pending", now);
                    _ = Task.Run(async () =>
                    {
                        await Task.Delay(600);
                        _h.SetAlert("EngineFrozen", "firing", now);
                        await RunnerHarness.PostToSlackAsync(request.SlackApi!, "EngineFrozen", "slack-pages|g1|1");
                        _h.AddOutbox("slack-pages|g1|1", "new", "delivered");
                        _h.AddIncident(1, DateTimeOffset.UtcNow);
                    });
                }
                else if (signal == ComponentSignal.Continue)
                {
                    _h.Value = 0;
                    _h.Burn = 0;
                    _h.ClearAlerts();
                }
                await Task.CompletedTask;
            };
            _platform = platform;
            return Task.FromResult<IPlatform>(platform);
        };

    private async Task<ExperimentReport> RunAsync(string yaml, Func<PlatformRequest, CancellationToken, Task<IPlatform>> factory, CancellationToken ct = default)
    {
        var experiment = ExperimentFile.Parse(yaml, "chaos/freeze.yml");
        var runner = new ExperimentRunner(factory);
        return await runner.RunAsync(experiment, new ExperimentRunOptions
        {
            ReportDirectory = Path.Combine(_h.Directory, "reports"),
            PollInterval = TimeSpan.FromMilliseconds(250),
        }, ct);
    }

    [Fact]
    public async Task Run_DetectedWithinBudget_PassesWithTimingsRelativeToTheFault()
    {
        var report = await RunAsync(Freeze, Factory());

        Assert.True(report.Outcome == ExperimentOutcome.Passed, string.Join("\n", report.Reasons));
        var t = report.Timeline;
        Assert.NotNull(t.FaultInjected);
        Assert.Equal(0, t.FaultInjected!.SecondsAfterFault);
        Assert.InRange(t.FirstPending!.SecondsAfterFault!.Value, 0, 4);
        Assert.InRange(t.Firing!.SecondsAfterFault!.Value, 0.5, 4);                // firing came 600 ms after the freeze
        Assert.True(t.Firing.At >= t.FirstPending.At);
        Assert.InRange(t.SlackRequest!.SecondsAfterFault!.Value, 0.5, 4);
        Assert.InRange(t.IncidentOpened!.SecondsAfterFault!.Value, 0.5, 4);
        Assert.NotNull(t.Recovered);
        Assert.True(t.Recovered!.At > report.Rollbacks[^1].Ended.At.AddMilliseconds(-1));
        Assert.All(report.Expectations, e => Assert.True(e.Met, e.Name + ": " + e.Detail));
        Assert.Equal(["alert", "alert", "slack", "incident", "recovery"], report.Expectations.Select(e => e.Kind));
        Assert.True(report.SteadyStateBefore!.Holds);
        Assert.Equal(3, report.SteadyStateBefore.Probes.Count);
        var inv = Assert.Single(report.Invariants);
        Assert.True(inv.Passed, inv.Summary);
        Assert.Equal(1, inv.Counts["delivered"]);
        Assert.Equal(0, inv.Counts["duplicates"]);
        // Method: freeze (fault), pause, thaw; rollbacks ran: thaw again.
        Assert.Equal(["freeze engine", "frozen", "thaw engine"], report.Method.Select(m => m.Name));
        Assert.True(report.Method[0].Fault);
        Assert.Single(report.Rollbacks);
        Assert.Equal([ComponentSignal.Stop, ComponentSignal.Continue, ComponentSignal.Continue], _platform!.Signals.Select(s => s.Signal));
        Assert.True(_platform.Disposed);
    }

    [Fact]
    public async Task Run_WritesReportMarkdownAndJsonWithStableFields()
    {
        var report = await RunAsync(Freeze, Factory());

        string dir = report.ReportDirectory;
        Assert.StartsWith("freeze-", Path.GetFileName(dir), StringComparison.Ordinal);
        Assert.Matches(@"^freeze-\d{8}T\d{6}Z$", Path.GetFileName(dir));
        var json = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(dir, "report.json")))!;
        Assert.Equal("passed", (string?)json["outcome"]);
        Assert.Equal("Engine freeze is detected", (string?)json["title"]);
        foreach (string key in new[] { "fault_injected", "first_pending", "firing", "slack_request", "incident_opened", "recovered" })
        {
            var point = json["timeline"]![key];
            Assert.NotNull(point);
            Assert.True(DateTimeOffset.TryParse((string?)point!["at"], out _), key);
            Assert.NotNull(point["seconds_after_fault"]);
        }
        var expectation = json["expectations"]![0]!;
        Assert.Equal("alert", (string?)expectation["kind"]);
        Assert.Equal(4, (double)expectation["budget_seconds"]!);
        Assert.True((bool)expectation["met"]!);
        Assert.NotNull(json["steady_state_before"]!["probes"]![0]!["detail"]);
        Assert.NotNull(json["method"]![0]!["started"]!["at"]);
        Assert.NotNull(json["rollbacks"]![0]!["ended"]);
        Assert.Equal(1, (long)json["invariants"]![0]!["counts"]!["delivered"]!);
        Assert.NotNull(json["platform_logs"]!["engine"]);

        string md = await File.ReadAllTextAsync(Path.Combine(dir, "report.md"));
        Assert.Contains("Outcome: **passed**", md, StringComparison.Ordinal);
        Assert.Contains("| fault injected |", md, StringComparison.Ordinal);
        Assert.Contains("| incident opened |", md, StringComparison.Ordinal);
        Assert.Contains("slack_delivered_once", md, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(dir, "run.log")));
        string summary = ExperimentReportWriter.Summary(report);
        Assert.Contains("PASSED", summary, StringComparison.Ordinal);
        Assert.Contains("EngineFrozen", summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_AlertNeverFires_FailsNamingTheExpectation()
    {
        string yaml = Freeze.Replace("within: 4s", "within: 2s", StringComparison.Ordinal)
            .Replace("invariants: [slack_delivered_once]", "invariants: []", StringComparison.Ordinal);
        var report = await RunAsync(yaml, Factory(alertFires: false));

        Assert.Equal(ExperimentOutcome.Failed, report.Outcome);
        Assert.Contains(report.Reasons, r => r.Contains("alert EngineFrozen{severity=\"critical\"} pending within 2", StringComparison.Ordinal));
        Assert.Contains(report.Reasons, r => r.Contains("incident opened", StringComparison.Ordinal));
        Assert.Null(report.Timeline.FirstPending);
        Assert.NotNull(report.Timeline.FaultInjected);
        Assert.All(report.Expectations.Where(e => e.Kind != "recovery"), e => Assert.False(e.Met));
        Assert.Contains(report.Expectations, e => e.Kind == "recovery" && e.Met);   // the thaw still restored the steady state
    }

    [Fact]
    public async Task Run_AbortWhenCrossed_AbortsAndRunsRollbacks()
    {
        string yaml = Freeze.Replace("  - pause: 1s", "  - pause: 60s", StringComparison.Ordinal) + """

            abort_when:
              - query: chaos_test_burn
                above: 5
            """;
        var started = DateTimeOffset.UtcNow;
        var report = await RunAsync(yaml, Factory(alertFires: false));

        Assert.Equal(ExperimentOutcome.Aborted, report.Outcome);
        Assert.Contains("chaos_test_burn = 10", report.AbortReason, StringComparison.Ordinal);
        Assert.Contains("above the limit 5", report.AbortReason, StringComparison.Ordinal);
        Assert.True(DateTimeOffset.UtcNow - started < TimeSpan.FromSeconds(20), "the 60 s pause was cut short");
        Assert.Equal(2, report.Method.Count);                                        // freeze, pause cut short; thaw never ran
        Assert.False(report.Method[1].Succeeded);
        var rollback = Assert.Single(report.Rollbacks);
        Assert.True(rollback.Succeeded);
        Assert.Equal([ComponentSignal.Stop, ComponentSignal.Continue], _platform!.Signals.Select(s => s.Signal));
        Assert.StartsWith("aborted: abort_when", report.Reasons[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_FailingAction_StopsTheMethodAndStillRunsRollbacks()
    {
        var report = await RunAsync(Freeze, Factory(failStop: true));

        Assert.Equal(ExperimentOutcome.Failed, report.Outcome);
        Assert.Contains(report.Reasons, r => r.StartsWith("action 'freeze engine' failed: InvalidOperationException: engine is not running", StringComparison.Ordinal));
        Assert.Single(report.Method);
        Assert.Null(report.Timeline.FaultInjected);
        var rollback = Assert.Single(report.Rollbacks);
        Assert.Equal("thaw engine", rollback.Name);
        Assert.Equal([ComponentSignal.Stop, ComponentSignal.Continue], _platform!.Signals.Select(s => s.Signal));
    }

    [Fact]
    public async Task Run_SteadyStateNotMet_InjectsNoFault()
    {
        _h.Value = 3;
        await _h.Prometheus.WaitForAsync("chaos_test_value", r => r.Count == 1 && r[0].Value == 3, TimeSpan.FromSeconds(10));
        string yaml = Freeze.Replace("within: 10s\n  probes", "within: 1s\n  probes", StringComparison.Ordinal);
        var report = await RunAsync(yaml, Factory());

        Assert.Equal(ExperimentOutcome.SteadyStateNotMet, report.Outcome);
        Assert.False(report.SteadyStateBefore!.Holds);
        // "outside 0" normally; "no data" when a scrape was missed on a loaded machine: either way it does not hold.
        Assert.Contains(report.SteadyStateBefore.Probes, p => p.Name == "value is zero" && !p.Passed
            && (p.Detail.Contains("outside 0", StringComparison.Ordinal) || p.Detail.Contains("no data", StringComparison.Ordinal)));
        Assert.Contains(report.Reasons, r => r.StartsWith("steady state not met before the method: value is zero", StringComparison.Ordinal));
        Assert.Empty(_platform!.Signals);
        Assert.Empty(report.Method);
        Assert.Empty(report.Rollbacks);
        Assert.Null(report.Timeline.FaultInjected);
        Assert.True(_platform.Disposed);
    }

    [Fact]
    public async Task Run_Cancelled_AbortsAndStillRunsRollbacks()
    {
        string yaml = Freeze.Replace("  - pause: 1s", "  - pause: 60s", StringComparison.Ordinal);
        using var cts = new CancellationTokenSource();
        var factory = Factory(alertFires: false);
        var task = RunAsync(yaml, async (r, ct) =>
        {
            var p = await factory(r, ct);
            var inner = ((FakePlatform)p).OnSignal!;
            ((FakePlatform)p).OnSignal = async (c, s) =>
            {
                await inner(c, s);
                if (s == ComponentSignal.Stop) cts.CancelAfter(500);               // Ctrl-C half a second into the fault
            };
            return p;
        }, cts.Token);
        var report = await task;

        Assert.Equal(ExperimentOutcome.Aborted, report.Outcome);
        Assert.Contains("interrupted", report.AbortReason, StringComparison.Ordinal);
        Assert.Single(report.Rollbacks);
        Assert.Equal([ComponentSignal.Stop, ComponentSignal.Continue], _platform!.Signals.Select(s => s.Signal));
        Assert.True(File.Exists(Path.Combine(report.ReportDirectory, "report.json")));
    }

    [Fact]
    public async Task Run_PlatformFactoryThrows_FailsWithTheReasonAndWritesAReport()
    {
        var report = await RunAsync(Freeze, (_, _) => throw new TimeoutException("engine not ready in 30 s"));

        Assert.Equal(ExperimentOutcome.Failed, report.Outcome);
        Assert.Contains(report.Reasons, r => r.Contains("platform did not start: TimeoutException: engine not ready in 30 s", StringComparison.Ordinal));
        Assert.Empty(report.Rollbacks);
        Assert.True(File.Exists(Path.Combine(report.ReportDirectory, "report.md")));
    }

    [Fact]
    public async Task Run_AlertOnlyInRouting_IsSeenFiring()
    {
        string yaml = """
            title: Prometheus down
            platform: {slack: false}
            steady_state_hypothesis:
              probes:
                - name: not alerting
                  type: alert
                  alertname: PrometheusUnreachable
                  state: inactive
            method:
              - action: stop Prometheus
                provider: process.signal
                arguments: {component: prometheus, signal: terminate}
                fault: true
            expect:
              alerts:
                - alertname: PrometheusUnreachable
                  labels: {severity: page}
                  state: firing
                  within: 4s
            """;
        var report = await RunAsync(yaml, (request, _) =>
        {
            var platform = _h.CreatePlatform(request);
            platform.OnSignal = async (component, _) =>
            {
                await Task.Delay(300);
                _h.AddRoutedAlert("PrometheusUnreachable", DateTimeOffset.UtcNow);      // the monitor's own alert: no rule
            };
            _platform = platform;
            return Task.FromResult<IPlatform>(platform);
        });

        Assert.True(report.Outcome == ExperimentOutcome.Passed, string.Join("\n", report.Reasons));
        Assert.InRange(report.Timeline.Firing!.SecondsAfterFault!.Value, 0, 4);
        Assert.Equal(report.Timeline.Firing.At, report.Timeline.FirstPending!.At);   // no pending phase: first seen firing
    }
}
