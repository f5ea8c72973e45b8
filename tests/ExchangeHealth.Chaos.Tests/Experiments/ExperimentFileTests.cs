using ExchangeHealth.Chaos.Experiments;
using ExchangeHealth.Engine;

namespace ExchangeHealth.Chaos.Tests.Experiments;

public sealed class ExperimentFileTests
{
    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "ExchangeHealth.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("ExchangeHealth.sln not found above " + AppContext.BaseDirectory);
    }

    /// <summary>The full example of docs/chaos.md (its first yaml block), so the documentation cannot drift from the parser.</summary>
    internal static string DocsExample()
    {
        string md = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "chaos.md"));
        int start = md.IndexOf("```yaml\n", StringComparison.Ordinal) + "```yaml\n".Length;
        int end = md.IndexOf("```", start, StringComparison.Ordinal);
        return md[start..end];
    }

    private static ConfigException Refused(string yaml) =>
        Assert.Throws<ConfigException>(() => ExperimentFile.Parse(yaml, "chaos/x.yml"));

    private const string Minimal = """
        title: t
        method:
          - action: kill
            provider: process.signal
            arguments: {component: engine, signal: kill}
        """;

    [Fact]
    public void Parse_DocsFullExample_GivesEveryPart()
    {
        var e = ExperimentFile.Parse(DocsExample(), "chaos/gray-freeze.yml");

        Assert.Equal("Gray freeze of the engine is detected and paged", e.Title);
        Assert.Contains("SIGSTOP the engine", e.Description, StringComparison.Ordinal);
        Assert.Equal(["engine", "gray-failure", "ci"], e.Tags);
        Assert.Equal(1, e.Platform.MonitorNodes);
        Assert.Equal(200, e.Platform.OrderRate);
        Assert.True(e.Platform.Slack);
        Assert.Equal(TimeSpan.FromSeconds(10), e.WarmUp);
        var ssh = e.SteadyState!;
        Assert.Equal(TimeSpan.FromSeconds(30), ssh.Within);
        Assert.Equal(5, ssh.Probes.Count);
        Assert.Equal(ProbeType.Http, ssh.Probes[0].Type);
        Assert.Equal("{engine_http}/ready", ssh.Probes[0].Url);
        Assert.Equal(new Tolerance(0, 0), ssh.Probes[1].Tolerance);
        Assert.Equal(new Tolerance(0, 0.05), ssh.Probes[2].Tolerance);
        Assert.Equal(("prometheusUnreachableSince", "null", "monitor"), (ssh.Probes[3].JsonField, ssh.Probes[3].JsonEquals, ssh.Probes[3].Auth));
        Assert.Equal((ProbeType.Alert, "EngineDown", "inactive"), (ssh.Probes[4].Type, ssh.Probes[4].AlertName, ssh.Probes[4].State));
        Assert.Equal(3, e.Method.Count);
        Assert.True(e.Method[0].IsFault);
        Assert.Equal("process.signal", e.Method[0].Provider);
        Assert.Equal("stop", e.Method[0].Arguments["signal"].Text);
        Assert.Equal(TimeSpan.FromSeconds(20), e.Method[1].Pause);
        Assert.Equal("frozen", e.Method[1].Name);
        Assert.Same(e.Method[0], e.FaultStep);
        Assert.Single(e.Rollbacks);
        Assert.Equal(2, e.Expect.Alerts.Count);
        Assert.Equal(new Dictionary<string, string> { ["severity"] = "critical" }, e.Expect.Alerts[0].Labels);
        Assert.Equal(("pending", TimeSpan.FromSeconds(5)), (e.Expect.Alerts[0].State, e.Expect.Alerts[0].Within));
        Assert.Equal("firing", e.Expect.Alerts[1].State);
        Assert.Equal(TimeSpan.FromSeconds(30), e.Expect.Incident!.Within);
        Assert.Equal("EngineDown", Assert.Single(e.Expect.Slack).AlertName);
        Assert.Equal(TimeSpan.FromSeconds(60), e.Expect.RecoveryWithin);
        Assert.Equal("slack_delivered_once", Assert.Single(e.Expect.Invariants).Name);
        Assert.Equal(TimeSpan.FromSeconds(30), e.Expect.LongestDetectionBudget);
        var abort = Assert.Single(e.AbortWhen);
        Assert.Equal(1000, abort.Above);
        Assert.True(abort.IsCrossedBy(1000.5));
        Assert.False(abort.IsCrossedBy(1000));
        Assert.Equal("gray-freeze", e.Slug);
    }

    [Fact]
    public void WithShortOverrides_ShortensNamedPausesWarmUpAndBudgetsOnly()
    {
        var e = ExperimentFile.Parse(DocsExample(), "chaos/gray-freeze.yml");
        var s = e.WithShortOverrides();

        Assert.Equal(TimeSpan.FromSeconds(2), s.WarmUp);
        Assert.Equal(TimeSpan.FromSeconds(15), s.SteadyState!.Within);
        Assert.Equal(TimeSpan.FromSeconds(30), s.Expect.RecoveryWithin);
        Assert.Equal(TimeSpan.FromSeconds(12), s.Method[1].Pause);
        Assert.Equal(e.Expect.Alerts, s.Expect.Alerts);                 // detection budgets are not relaxed
        Assert.Null(s.Short);
        Assert.Equal(TimeSpan.FromSeconds(20), e.Method[1].Pause);       // the original is unchanged
    }

    [Fact]
    public void WithShortOverrides_MergesArgumentsIntoActionsOfThatName()
    {
        var e = ExperimentFile.Parse("""
            title: latency
            method:
              - action: inject latency
                provider: engine.fault
                arguments: {fault: matcher_latency, duration: 5m, value: 2000}
                fault: true
            rollbacks:
              - action: clear
                provider: engine.fault.clear
            short:
              arguments:
                inject latency: {duration: 20s}
            """, "chaos/latency.yml");
        var args = e.WithShortOverrides().Method[0].Arguments;

        Assert.Equal("20s", args["duration"].Text);
        Assert.Equal("2000", args["value"].Text);
        Assert.Equal("5m", e.Method[0].Arguments["duration"].Text);
    }

    [Fact]
    public void Parse_UnknownTopLevelKey_NamesFileLineAndKey()
    {
        var ex = Refused(Minimal + "\nrolbacks: []\n");
        Assert.Equal("chaos/x.yml", ex.File);
        Assert.Equal(6, ex.Line);
        Assert.StartsWith("chaos/x.yml:6: rolbacks: unknown key 'rolbacks' (known: title,", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownNestedKey_NamesThePath()
    {
        var ex = Refused("""
            title: t
            method:
              - action: kill
                provider: process.signal
                arguments: {component: engine, signal: kill}
                faul: true
            """);
        Assert.Equal(6, ex.Line);
        Assert.Contains("method[0].faul: unknown key 'faul'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BadDuration_NamesFileLineAndKey()
    {
        var ex = Refused(Minimal + "\n  - pause: ten\n");
        Assert.Equal(6, ex.Line);
        Assert.Equal("chaos/x.yml:6: method[1].pause: 'ten' is not a duration (expected e.g. 30s, 5m, 1h30m)", ex.Message);

        var budget = Refused(Minimal + "\nexpect:\n  alerts:\n    - alertname: EngineDown\n      within: 5 s\n");
        Assert.Equal(9, budget.Line);
        Assert.Contains("expect.alerts[0].within:", budget.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("title: t\n", 1, "missing required key 'method'")]
    [InlineData("title: t\nmethod:\n  - pause: 1s\n", 2, "method: needs at least one action")]
    [InlineData("title: t\nmethod:\n  - action: a\n    provider: process.explode\n", 4, "method[0].provider: unknown provider 'process.explode' (known: engine.fault,")]
    [InlineData("title: t\nmethod:\n  - action: a\n    provider: process.signal\n    arguments: {component: engine}\n", 5, "method[0].arguments: process.signal needs argument 'signal'")]
    [InlineData("title: t\nmethod:\n  - action: a\n    provider: process.start\n    arguments:\n      component: engine\n      force: true\n", 7, "method[0].arguments.force: unknown argument of process.start")]
    [InlineData("title: t\nmethod:\n  - action: a\n    provider: http\n    arguments: {url: \"{enginehttp}/x\"}\n", 5, "unknown template '{enginehttp}'")]
    [InlineData("title: t\nmethod:\n  - action: a\n    provider: slack.heal\n    fault: true\n  - action: b\n    provider: slack.heal\n    fault: true\n", 6, "only one action may be 'fault: true'")]
    [InlineData("title: t\nplatform:\n  monitor_nodes: 3\nmethod:\n  - action: a\n    provider: slack.heal\n", 3, "platform.monitor_nodes: '3' must be 1 or 2")]
    [InlineData("title: t\nplatform:\n  engine_journal_tmpfs: 64 megs\nmethod:\n  - action: a\n    provider: slack.heal\n", 3, "is not a size such as 64MiB")]
    [InlineData("title: t\nmethod:\n  - action: a\n    provider: slack.heal\nexpect:\n  invariants: [orders_durable]\n", 6, "unknown invariant 'orders_durable' (known: slack_delivered_once)")]
    [InlineData("title: t\nmethod:\n  - action: a\n    provider: slack.heal\nexpect:\n  recovery_within: 30s\n", 6, "expect.recovery_within: needs a steady_state_hypothesis")]
    [InlineData("title: t\nmethod:\n  - action: a\n    provider: slack.heal\nabort_when:\n  - query: up\n", 6, "abort_when[0]: give 'above' or 'below'")]
    [InlineData("title: t\nsteady_state_hypothesis:\n  probes:\n    - name: p\n      type: promql\n      query: up\n      tolerance: [1, 0]\n", 7, "tolerance: [1, 0]: min is above max")]
    [InlineData("title: t\nsteady_state_hypothesis:\n  probes:\n    - name: p\n      type: promql\n      query: up\n      url: x\n", 7, "steady_state_hypothesis.probes[0].url: unknown key 'url'")]
    [InlineData("title: t\nsteady_state_hypothesis:\n  probes:\n    - name: p\n      type: snmp\n", 5, "'snmp' is not one of promql, http, alert")]
    [InlineData("title: t\nmethod:\n  - action: a\n    provider: slack.heal\nshort:\n  pauses: {nap: 1s}\n", 6, "short.pauses.nap: no pause named 'nap'")]
    [InlineData("title: t\nmethod: [\n", 3, "not valid YAML")]
    [InlineData("title: t\ntitle: u\n", 2, "not valid YAML")]
    public void Parse_InvalidFile_NamesLineAndReason(string yaml, int line, string reason)
    {
        var ex = Refused(yaml);
        Assert.Equal(line, ex.Line);
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
        Assert.StartsWith($"chaos/x.yml:{line}: ", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_RegisteredExtraProviderAndInvariant_AreAccepted()
    {
        var actions = ChaosActionRegistry.CreateDefault();
        actions.Register("network.toxic", (_, _, _) => Task.FromResult(ActionOutcome.Ok("")), ["toxic"], ["latency"]);
        var invariants = InvariantRegistry.CreateDefault();
        invariants.Register("acknowledged_orders_durable", (_, _, _) => Task.FromResult(new InvariantResult(true, "", new Dictionary<string, long>())), ["ledger"]);

        var e = ExperimentFile.Parse("""
            title: toxics
            method:
              - action: add latency
                provider: network.toxic
                arguments: {toxic: latency, latency: 200ms}
            expect:
              invariants:
                - name: acknowledged_orders_durable
                  arguments: {ledger: main}
            """, "chaos/net.yml", actions, invariants);

        Assert.Equal("network.toxic", e.Method[0].Provider);
        Assert.Equal("main", e.Expect.Invariants[0].Arguments["ledger"].Text);
        Assert.Throws<ConfigException>(() => ExperimentFile.Parse("title: t\nmethod:\n  - action: a\n    provider: network.toxic\n    arguments: {toxic: x}\n", "x.yml"));
    }

    [Fact]
    public void Load_MissingFile_NamesTheFile()
    {
        var ex = Assert.Throws<ConfigException>(() => ExperimentFile.Load("/nonexistent/chaos/x.yml"));
        Assert.StartsWith("/nonexistent/chaos/x.yml: cannot read the experiment file", ex.Message, StringComparison.Ordinal);
    }
}
