using ExchangeHealth.Chaos.Experiments;
using Xunit.Abstractions;

namespace ExchangeHealth.Chaos.Tests.Experiments;

/// <summary>One at a time: each starts a whole platform (engine, Prometheus, monitor(s), canary, order flow).</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ShippedExperimentsCollection
{
    public const string Name = "shipped chaos experiments";
}

/// <summary>
/// The shipped experiments 1, 2, 4, 7, 8 and 9 (chaos/*.yml), in their <c>--short</c> versions, on
/// the real platform: real <c>exh engine</c>, Prometheus, <c>exh monitor</c> node(s), canary and
/// order flow as child processes, the Slack stand-in, real faults (SIGKILL, SIGSTOP, the engine's
/// fault hooks, a Slack outage, a killed monitor leader). Each must pass: every alert, the Slack
/// request and the incident within their budgets, recovery, and the loss invariants.
/// </summary>
[Collection(ShippedExperimentsCollection.Name)]
public sealed class ShippedExperimentsTests(ITestOutputHelper output)
{
    private async Task<ExperimentReport> RunAsync(string file)
    {
        string root = ExperimentFileTests.RepositoryRoot();
        var actions = ChaosActionRegistry.CreateDefault();
        var invariants = InvariantRegistry.CreateDefault();
        ChaosPlatform.Register(actions, invariants);
        var experiment = ExperimentFile.Load(Path.Combine(root, "chaos", file), actions, invariants);
        string dir = Path.Combine(Path.GetTempPath(), "exh-chaos-ci-" + Guid.NewGuid().ToString("N")[..8]);
        var exh = ExhCommand.Dll(Path.Combine(AppContext.BaseDirectory, "exh.dll"));
        var log = new List<string>();
        var runner = new ExperimentRunner((request, ct) => ChaosPlatform.StartAsync(request, exh, root, null, ct), actions, invariants);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var report = await runner.RunAsync(experiment, new ExperimentRunOptions
        {
            Short = true,
            ReportDirectory = Path.Combine(dir, "reports"),
            DataDirectory = Path.Combine(dir, "data"),
            Log = line => { lock (log) log.Add(line); },
        }, timeout.Token);
        output.WriteLine(ExperimentReportWriter.Summary(report));
        if (report.Outcome != ExperimentOutcome.Passed)
        {
            lock (log) foreach (string line in log) output.WriteLine(line);
        }
        Assert.True(File.Exists(Path.Combine(report.ReportDirectory, "report.md")), "report.md written");
        Assert.True(File.Exists(Path.Combine(report.ReportDirectory, "report.json")), "report.json written");
        Assert.True(report.Outcome == ExperimentOutcome.Passed, $"{file}: {report.Outcome}: {string.Join("; ", report.Reasons)}");
        Assert.NotNull(report.Timeline.FaultInjected);
        Assert.NotNull(report.Timeline.Firing);
        Assert.NotNull(report.Timeline.SlackRequest);
        Assert.All(report.Invariants, i => Assert.True(i.Passed, $"{i.Name}: {i.Summary}"));
        Assert.Equal(experiment.Expect.Invariants.Count, report.Invariants.Count);
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return report;
    }

    [Fact]
    public async Task Experiment1_EngineCrash_DetectedPagedIncident_NoAcknowledgedOrderLost()
    {
        var r = await RunAsync("engine-crash.yml");
        Assert.NotNull(r.Timeline.IncidentOpened);
        var durable = Assert.Single(r.Invariants, i => i.Name == "acknowledged_orders_durable");
        Assert.True(durable.Counts.Values.Sum() > 0, "the recorded order flow acknowledged orders: " + durable.Summary);
        Assert.Contains(r.Invariants, i => i.Name == "state_hash_matches_replay" && i.Passed);
    }

    [Fact]
    public async Task Experiment2_GrayFreeze_EngineDownPaged_NothingLost()
    {
        var r = await RunAsync("gray-freeze.yml");
        Assert.NotNull(r.Timeline.IncidentOpened);
    }

    [Fact]
    public async Task Experiment4_SlowFsync_LatencySloBurnPages() => await RunAsync("slow-fsync.yml");

    [Fact]
    public async Task Experiment7_PrometheusDown_MonitorPagesItself()
    {
        var r = await RunAsync("prometheus-down.yml");
        Assert.NotNull(r.Timeline.IncidentOpened);
        Assert.NotNull(r.Timeline.Recovered);
    }

    [Fact]
    public async Task Experiment8_SlackOutageAndRateLimit_DeliveredOnceAfterRecovery()
    {
        var r = await RunAsync("slack-outage.yml");
        var once = Assert.Single(r.Invariants, i => i.Name == SlackDeliveredOnce.Name);
        Assert.True(once.Counts.GetValueOrDefault("delivered") >= 1, once.Summary);
    }

    [Fact]
    public async Task Experiment9_MonitorLeaderKilled_StandbyTakesOver_NothingSentTwice()
    {
        var r = await RunAsync("monitor-failover.yml");
        var kill = Assert.Single(r.Method, s => s.Provider == "monitor.kill_leader");
        Assert.True(kill.Succeeded, kill.Message);
        Assert.Contains("leads after", kill.Message, StringComparison.Ordinal);
    }
}
