using ExchangeHealth.Alerting.Evaluation;
using ExchangeHealth.Alerting.Rules;
using ExchangeHealth.Monitor.Prometheus;
using ExchangeHealth.Monitor.Storage;
using ExchangeHealth.TestKit.Prometheus;

namespace ExchangeHealth.Alerting.Tests.Evaluation;

/// <summary>Group evaluation against a real Prometheus, and state that survives a monitor restart.</summary>
public sealed class RuleGroupEvaluatorTests : IAsyncLifetime
{
    private const string Rules = """
        groups:
          - name: restart
            rules:
              - alert: SlowBurn
                expr: label_replace(vector(1), "market", "BTC-USD", "", "")
                for: 1h
              - alert: Now
                expr: vector(2)
                annotations:
                  summary: "value is {{ $value }}"
              - alert: Broken
                expr: rate(up[1m]
        """;

    private PrometheusServer? _prom;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "exh-eval-" + Guid.NewGuid().ToString("N"));

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _prom = await PrometheusServer.StartAsync(["127.0.0.1:1"], TimeSpan.FromSeconds(1));
    }

    public async Task DisposeAsync()
    {
        if (_prom is not null) await _prom.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private static RuleGroup Group(string rules) => Assert.Single(RuleFileLoader.Parse(rules, "restart.rules.yml"));

    [Fact]
    public async Task PendingAndFiringState_SurvivesRestart_WithinOutageTolerance()
    {
        // The loader refuses "rate(up[1m]" (unbalanced), so use a query that parses but fails to execute.
        var group = Group(Rules.Replace("rate(up[1m]", "vector(1) + on() (label_replace(vector(1), \"a\", \"1\", \"\", \"\") or label_replace(vector(1), \"a\", \"2\", \"\", \"\"))", StringComparison.Ordinal));
        var db = new MonitorDatabase(Path.Combine(_dir, "monitor.db"));
        var store = new AlertStateStore(db);
        using var client = new PrometheusApiClient(_prom!.BaseAddress);
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

        var first = new RuleGroupEvaluator(group, client, store, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), "http://prom:9090", now);
        var e1 = await first.EvaluateAsync(now.AddSeconds(-30));
        Assert.Equal(1, e1.FailedRules); // the broken rule fails alone
        Assert.False(e1.PrometheusUnreachable);
        var firing = Assert.Single(e1.Alerts);
        Assert.Equal("Now", firing.Name);
        Assert.Equal("value is 2", firing.Annotations["summary"]);
        Assert.Null(firing.EndsAt);
        Assert.StartsWith("http://prom:9090/graph?g0.expr=vector%282%29", firing.GeneratorUrl, StringComparison.Ordinal);

        // Restart: a new evaluator over the same database.
        var second = new RuleGroupEvaluator(group, client, store, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), "", now);
        var slow = Assert.Single(second.SnapshotAlerts(second.Rules[0]));
        Assert.Equal(AlertState.Pending, slow.State);
        Assert.Equal(now.AddSeconds(-30), slow.ActiveAt);
        var restoredFiring = Assert.Single(second.SnapshotAlerts(second.Rules[1]));
        Assert.Equal(AlertState.Firing, restoredFiring.State);
        Assert.Equal(now.AddSeconds(-30), restoredFiring.FiredAt);

        await second.EvaluateAsync(now);
        Assert.Equal(now.AddSeconds(-30), Assert.Single(second.SnapshotAlerts(second.Rules[0])).ActiveAt); // the for clock kept running

        // After more than the outage tolerance nothing is restored.
        var late = new RuleGroupEvaluator(group, client, store, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), "", now.AddHours(2));
        Assert.All(late.Rules, r => Assert.Empty(late.SnapshotAlerts(r)));
    }

    [Fact]
    public async Task UnreachablePrometheus_FailsEveryRule_AndKeepsState()
    {
        var group = Group(Rules.Replace("rate(up[1m]", "vector(3)", StringComparison.Ordinal));
        using var client = new PrometheusApiClient(_prom!.BaseAddress);
        var now = DateTimeOffset.UtcNow;
        var evaluator = new RuleGroupEvaluator(group, client, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), "", now);
        var ok = await evaluator.EvaluateAsync(now);
        Assert.Equal(2, ok.Alerts.Count);

        await _prom.DisposeAsync();
        _prom = null;
        var down = await evaluator.EvaluateAsync(now.AddSeconds(1));
        Assert.True(down.PrometheusUnreachable);
        Assert.Equal(3, down.FailedRules);
        Assert.Equal(2, down.Alerts.Count); // firing alerts stay firing while Prometheus is away
    }

    [Fact]
    public async Task Reload_KeepsStateAndKeepsPersistingIt()
    {
        string rules = Path.Combine(_dir, "rules");
        Directory.CreateDirectory(rules);
        await File.WriteAllTextAsync(Path.Combine(rules, "r.yml"), "groups:\n  - name: g\n    rules:\n      - alert: Now\n        expr: vector(2)\n");
        var store = new AlertStateStore(new MonitorDatabase(Path.Combine(_dir, "monitor.db")));
        using var client = new PrometheusApiClient(_prom!.BaseAddress);
        using var meter = new System.Diagnostics.Metrics.Meter("test.reload");
        await using var service = new RuleEvaluationService(new RuleEvaluationOptions { RulesDirectory = rules }, client, store, (_, _) => Task.CompletedTask, meter);
        var ruleSet = RuleSet.LoadDirectory(rules, null).RuleSet;
        await service.ApplyAsync(ruleSet);
        string key = Assert.Single(service.Evaluators).Key;
        var now = DateTimeOffset.FromUnixTimeMilliseconds(DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        await service.RunGroupAsync(key, now, CancellationToken.None);
        var firedAt = Assert.Single(store.LoadGroup(key)).FiredAt;

        await service.ApplyAsync(RuleSet.LoadDirectory(rules, ruleSet).RuleSet); // a reload
        var carried = Assert.Single(Assert.Single(service.Evaluators).SnapshotAlerts(Assert.Single(service.Evaluators).Rules[0]));
        Assert.Equal(firedAt, carried.FiredAt);
        store.SaveGroup(key, []);
        await service.RunGroupAsync(key, now.AddSeconds(1), CancellationToken.None);
        Assert.Equal(firedAt, Assert.Single(store.LoadGroup(key)).FiredAt); // still written after the reload
    }
}
