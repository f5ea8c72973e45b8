using System.Diagnostics;
using ExchangeHealth.Chaos.Experiments;
using ExchangeHealth.Chaos.Platform;
using ExchangeHealth.TestKit;

namespace ExchangeHealth.Chaos.Tests.Experiments;

/// <summary>The runner's waits and report times come from the injected <see cref="TimeProvider"/>.</summary>
public sealed class RunnerClockTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "exh-chaos-clock-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public async Task Run_PausesAndTimes_FollowTheInjectedClock()
    {
        var clock = new ManualTimeProvider();
        var platform = new StubPlatform(StubPlatform.EndpointsAt(new Uri("http://127.0.0.1:1/"), _dir));
        var experiment = ExperimentFile.Parse("""
            title: clock
            platform: {slack: false}
            warm_up: 1m
            method:
              - action: freeze
                provider: process.signal
                arguments: {component: engine, signal: stop}
                fault: true
              - pause: 10m
              - action: thaw
                provider: process.signal
                arguments: {component: engine, signal: continue}
            """, "chaos/clock.yml");
        var runner = new ExperimentRunner((_, _) => Task.FromResult<IPlatform>(platform), time: clock);
        var wall = Stopwatch.StartNew();

        var run = runner.RunAsync(experiment, new ExperimentRunOptions { ReportDirectory = _dir });
        while (!run.IsCompleted && wall.Elapsed < TimeSpan.FromSeconds(15))
        {
            clock.Advance(TimeSpan.FromSeconds(5));
            await Task.Delay(2);
        }
        var report = await run;

        Assert.Equal(ExperimentOutcome.Passed, report.Outcome);
        Assert.True(wall.Elapsed < TimeSpan.FromSeconds(15), "11 minutes of experiment ran on the manual clock");
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 3, 0, 0, TimeSpan.Zero), report.StartedAt);
        Assert.EndsWith("clock-20261121T030000Z", report.ReportDirectory, StringComparison.Ordinal);
        var fault = report.Timeline.FaultInjected!;
        Assert.True(fault.At >= report.StartedAt.AddMinutes(1), "after the 1 m warm-up");
        var pause = report.Method[1];
        Assert.True(pause.Ended.At - pause.Started.At >= TimeSpan.FromMinutes(10));
        Assert.True(pause.Ended.At - pause.Started.At < TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(10));
        Assert.InRange(report.Method[2].Started.SecondsAfterFault!.Value, 600, 610);
        Assert.InRange(report.DurationSeconds, 660, 680);
        Assert.Equal([ComponentSignal.Stop, ComponentSignal.Continue], platform.Signals.Select(s => s.Signal));
    }

    [Fact]
    public async Task Run_Short_AppliesTheShortOverrides()
    {
        var clock = new ManualTimeProvider();
        var platform = new StubPlatform(StubPlatform.EndpointsAt(new Uri("http://127.0.0.1:1/"), _dir));
        var experiment = ExperimentFile.Parse("""
            title: clock
            platform: {slack: false}
            warm_up: 5m
            method:
              - action: freeze
                provider: process.signal
                arguments: {component: engine, signal: stop}
              - pause: 10m
                name: nap
            short:
              warm_up: 0s
              pauses: {nap: 30s}
            """, "chaos/clock.yml");
        var runner = new ExperimentRunner((_, _) => Task.FromResult<IPlatform>(platform), time: clock);
        var wall = Stopwatch.StartNew();

        var run = runner.RunAsync(experiment, new ExperimentRunOptions { ReportDirectory = _dir, Short = true });
        while (!run.IsCompleted && wall.Elapsed < TimeSpan.FromSeconds(15))
        {
            clock.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(2);
        }
        var report = await run;

        Assert.True(report.Short);
        Assert.Equal(ExperimentOutcome.Passed, report.Outcome);
        Assert.InRange((report.Method[1].Ended.At - report.Method[1].Started.At).TotalSeconds, 30, 32);
        Assert.InRange(report.DurationSeconds, 30, 40);
        Assert.True(report.Method[0].Fault);                                          // no fault: true: the first action is the fault
    }
}
