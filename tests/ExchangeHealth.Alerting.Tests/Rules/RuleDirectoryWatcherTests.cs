using ExchangeHealth.TestKit;
using System.Collections.Concurrent;
using ExchangeHealth.Alerting.Rules;
using ExchangeHealth.Engine;
using Microsoft.Extensions.Logging;

namespace ExchangeHealth.Alerting.Tests.Rules;

public sealed class RuleDirectoryWatcherTests
{
    private static readonly TimeSpan Poll = RuleDirectoryWatcher.DefaultPollInterval;
    private static readonly TimeSpan Debounce = RuleDirectoryWatcher.DefaultDebounce;

    private sealed class Recorder
    {
        public ConcurrentQueue<(RuleSet Set, IReadOnlyList<ConfigException> Errors)> Reloads { get; } = new();

        public void On(RuleSet set, IReadOnlyList<ConfigException> errors) => Reloads.Enqueue((set, errors));
    }

    private sealed class ListLogger : ILogger
    {
        public ConcurrentQueue<(LogLevel Level, string Message)> Entries { get; } = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Entries.Enqueue((logLevel, formatter(state, exception)));
    }

    [Fact]
    public void Poll_PicksUpAnEdit_AfterPollAndDebounce()
    {
        using var dir = new RulesTempDirectory();
        string file = dir.Write("engine.rules.yml", RuleSetTests.Rules("engine", "EngineDown"));
        var time = new ManualTimeProvider();
        using var watcher = new RuleDirectoryWatcher(dir.Path, timeProvider: time);
        var recorder = new Recorder();
        watcher.Reloaded += recorder.On;
        Assert.Equal("EngineDown", Assert.Single(watcher.Current.AlertingRules).Name);

        // Nothing changed: polling does not reload.
        time.Advance(Poll * 3);
        Assert.Empty(recorder.Reloads);

        dir.Write("engine.rules.yml", RuleSetTests.Rules("engine", "EngineDown", "EngineSlow"));
        time.Advance(Poll + Debounce);

        var (set, errors) = Assert.Single(recorder.Reloads);
        Assert.Empty(errors);
        Assert.Equal(["EngineDown", "EngineSlow"], set.AlertingRules.Select(r => r.Name));
        Assert.Same(set, watcher.Current);
        Assert.Empty(watcher.LastErrors);
        Assert.Equal(file, set.Files.Single());

        // The new content is now the baseline: no further reloads.
        time.Advance(Poll * 3);
        Assert.Single(recorder.Reloads);
    }

    [Fact]
    public void BrokenEdit_KeepsPreviousGroups_ReportsAndLogsError_ThenFixIsLoaded()
    {
        using var dir = new RulesTempDirectory();
        string file = dir.Write("engine.rules.yml", RuleSetTests.Rules("engine", "EngineDown"));
        var time = new ManualTimeProvider();
        var logger = new ListLogger();
        using var watcher = new RuleDirectoryWatcher(dir.Path, logger, time);
        var before = watcher.Current;
        var recorder = new Recorder();
        watcher.Reloaded += recorder.On;

        dir.Write("engine.rules.yml", "groups:\n  - name: engine\n    rules:\n      - alert: EngineDown\n        expr: up{job=\"exh-engine\" == 0\n");
        time.Advance(Poll + Debounce);

        var (set, errors) = Assert.Single(recorder.Reloads);
        var error = Assert.Single(errors);
        Assert.Equal((file, 5), (error.File, error.Line));
        Assert.Contains("unclosed left brace", error.Reason, StringComparison.Ordinal);
        Assert.Same(before.Find(file, "engine"), set.Find(file, "engine"));
        Assert.Same(set, watcher.Current);
        Assert.Same(error, Assert.Single(watcher.LastErrors));
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains($"{file}:5:", StringComparison.Ordinal)
            && e.Message.Contains("unclosed left brace", StringComparison.Ordinal) && e.Message.Contains("previous version stays in force", StringComparison.Ordinal));

        // The broken content is not reloaded again and again.
        time.Advance(Poll * 3);
        Assert.Single(recorder.Reloads);

        dir.Write("engine.rules.yml", RuleSetTests.Rules("engine", "EngineDownFixed"));
        time.Advance(Poll + Debounce);
        Assert.Equal(2, recorder.Reloads.Count);
        Assert.Equal("EngineDownFixed", Assert.Single(watcher.Current.AlertingRules).Name);
        Assert.Empty(watcher.LastErrors);
    }

    [Fact]
    public void NewAndDeletedFiles_AreNoticedByThePoll()
    {
        using var dir = new RulesTempDirectory();
        string a = dir.Write("a.yml", RuleSetTests.Rules("ga", "A"));
        var time = new ManualTimeProvider();
        using var watcher = new RuleDirectoryWatcher(dir.Path, timeProvider: time);

        string b = dir.Write("b.yaml", RuleSetTests.Rules("gb", "B"));
        time.Advance(Poll + Debounce);
        Assert.Equal([a, b], watcher.Current.Files);

        File.Delete(a);
        time.Advance(Poll + Debounce);
        Assert.Equal([b], watcher.Current.Files);
        Assert.Equal("B", Assert.Single(watcher.Current.AlertingRules).Name);
    }

    [Fact]
    public void ReloadNow_AlwaysReloadsAndRaises_DisposeStopsTimers()
    {
        using var dir = new RulesTempDirectory();
        dir.Write("a.yml", RuleSetTests.Rules("ga", "A"));
        var time = new ManualTimeProvider();
        var watcher = new RuleDirectoryWatcher(dir.Path, timeProvider: time);
        var recorder = new Recorder();
        watcher.Reloaded += recorder.On;
        watcher.Reloaded += (_, _) => throw new InvalidOperationException("a failing handler must not break the watcher");

        var result = watcher.ReloadNow();

        Assert.Same(result.RuleSet, Assert.Single(recorder.Reloads).Set);
        Assert.Same(result.RuleSet, watcher.Current);
        watcher.Dispose();
        Assert.Equal(0, time.ActiveTimers);
        dir.Write("a.yml", RuleSetTests.Rules("ga", "Changed"));
        time.Advance(Poll * 2);
        Assert.Single(recorder.Reloads);
        Assert.Throws<ObjectDisposedException>(() => watcher.ReloadNow());
    }

    [Fact]
    public void Constructor_MissingDirectory_Throws()
    {
        string missing = Path.Combine(Path.GetTempPath(), "exh-no-rules-" + Guid.NewGuid().ToString("N"));
        Assert.Throws<DirectoryNotFoundException>(() => new RuleDirectoryWatcher(missing));
    }

    [Fact]
    public async Task FileSystemEvents_TriggerReload_WithoutWaitingForThePoll()
    {
        using var dir = new RulesTempDirectory();
        dir.Write("a.yml", RuleSetTests.Rules("ga", "A"));
        // Real time, a poll too slow to matter: only the FileSystemWatcher can trigger this reload.
        using var watcher = new RuleDirectoryWatcher(dir.Path, pollInterval: TimeSpan.FromHours(1), debounce: TimeSpan.FromMilliseconds(50));
        var reloaded = new TaskCompletionSource<RuleSet>(TaskCreationOptions.RunContinuationsAsynchronously);
        watcher.Reloaded += (set, _) =>
        {
            if (set.AlertingRules.Any(r => r.Name == "Edited")) reloaded.TrySetResult(set);
        };

        // Write to a temporary name and rename, as editors and config management do.
        string temp = Path.Combine(dir.Path, "a.yml.tmp");
        await File.WriteAllTextAsync(temp, RuleSetTests.Rules("ga", "Edited"));
        File.Move(temp, Path.Combine(dir.Path, "a.yml"), overwrite: true);

        var set = await reloaded.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("Edited", Assert.Single(set.AlertingRules).Name);
    }
}
