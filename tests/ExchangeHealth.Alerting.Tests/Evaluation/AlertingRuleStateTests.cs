using ExchangeHealth.Alerting.Evaluation;
using ExchangeHealth.Alerting.Rules;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Tests.Evaluation;

/// <summary>Prometheus's alert state machine (rules/alerting.go) on hand-made query results.</summary>
public class AlertingRuleStateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 21, 3, 0, 0, TimeSpan.Zero);

    private static AlertingRuleState Rule(string body, int limit = 0)
    {
        string yaml = "groups:\n  - name: g\n    rules:\n      - alert: HighRejects\n        expr: exh_rejects > 1\n" + body;
        var group = Assert.Single(RuleFileLoader.Parse(yaml, "test.rules.yml"));
        return new AlertingRuleState(Assert.Single(group.AlertingRules), limit);
    }

    private static PromSample Sample(string market, double value) =>
        new(LabelSet.Of("__name__", "exh_rejects", "market", market), value, T0);

    private static DateTimeOffset At(int seconds) => T0.AddSeconds(seconds);

    [Fact]
    public void For_PendingUntilHeldLongEnough_ThenFiring()
    {
        var rule = Rule("        for: 3s\n");
        rule.Apply([Sample("BTC-USD", 5)], At(0));
        var a = Assert.Single(rule.Alerts);
        Assert.Equal(AlertState.Pending, a.State);
        Assert.Equal(At(0), a.ActiveAt);
        Assert.Equal(LabelSet.Of("alertname", "HighRejects", "market", "BTC-USD"), a.Labels);
        rule.Apply([Sample("BTC-USD", 6)], At(2));
        Assert.Equal(AlertState.Pending, a.State);
        rule.Apply([Sample("BTC-USD", 7)], At(3));
        Assert.Equal(AlertState.Firing, a.State);
        Assert.Equal(At(3), a.FiredAt);
        Assert.Equal(7, a.Value);
    }

    [Fact]
    public void ForZero_FiresAtFirstEvaluation()
    {
        var rule = Rule("");
        rule.Apply([Sample("BTC-USD", 5)], At(0));
        Assert.Equal(AlertState.Firing, Assert.Single(rule.Alerts).State);
    }

    [Fact]
    public void PendingAlert_SeriesVanishes_IsDroppedWithoutResolution()
    {
        var rule = Rule("        for: 10s\n");
        rule.Apply([Sample("BTC-USD", 5)], At(0));
        rule.Apply([], At(1));
        Assert.Empty(rule.Alerts);
        rule.Apply([Sample("BTC-USD", 5)], At(2));
        Assert.Equal(At(2), Assert.Single(rule.Alerts).ActiveAt); // the for clock restarts
    }

    [Fact]
    public void FiringAlert_SeriesVanishes_ResolvedAndKeptForRetention_ThenNewPendingOnReturn()
    {
        var rule = Rule("        for: 1s\n");
        rule.Apply([Sample("BTC-USD", 5)], At(0));
        rule.Apply([Sample("BTC-USD", 5)], At(1));
        var a = Assert.Single(rule.Alerts);
        Assert.Equal(AlertState.Firing, a.State);
        rule.Apply([], At(2));
        Assert.Equal(AlertState.Inactive, a.State);
        Assert.Equal(At(2), a.ResolvedAt);
        rule.Apply([], At(2 + 15 * 60));
        Assert.Single(rule.Alerts); // exactly at retention: still kept
        rule.Apply([Sample("BTC-USD", 9)], At(2 + 15 * 60 + 1));
        var again = Assert.Single(rule.Alerts);
        Assert.NotSame(a, again);
        Assert.Equal(AlertState.Pending, again.State);
        rule.Apply([], At(2 + 15 * 60 + 2));
        Assert.Empty(rule.Alerts);
    }

    [Fact]
    public void ResolvedAlert_DroppedAfterRetention()
    {
        var rule = Rule("");
        rule.Apply([Sample("BTC-USD", 5)], At(0));
        rule.Apply([], At(1));
        rule.Apply([], At(1 + 15 * 60 + 1));
        Assert.Empty(rule.Alerts);
    }

    [Fact]
    public void KeepFiringFor_KeepsFiringAfterConditionClears_ThenResolves()
    {
        var rule = Rule("        keep_firing_for: 5s\n");
        rule.Apply([Sample("BTC-USD", 5)], At(0));
        var a = Assert.Single(rule.Alerts);
        rule.Apply([], At(1));
        Assert.Equal(AlertState.Firing, a.State);
        Assert.Equal(At(1), a.KeepFiringSince);
        rule.Apply([Sample("BTC-USD", 5)], At(2)); // back: the keep-firing clock resets
        Assert.Null(a.KeepFiringSince);
        rule.Apply([], At(3));
        rule.Apply([], At(7));
        Assert.Equal(AlertState.Firing, a.State);
        rule.Apply([], At(8)); // 5 s after KeepFiringSince = 3
        Assert.Equal(AlertState.Inactive, a.State);
        Assert.Equal(At(8), a.ResolvedAt);
    }

    [Fact]
    public void TemplatedLabels_AndAnnotations_UseSeriesLabelsAndValue()
    {
        var rule = Rule("        labels:\n          severity: page\n          where: \"m-{{ $labels.market }}\"\n        annotations:\n          summary: \"{{ $labels.market }} rejects {{ $value }}\"\n");
        rule.Apply([Sample("ETH-USD", 2.5)], At(0));
        var a = Assert.Single(rule.Alerts);
        Assert.Equal("page", a.Labels["severity"]);
        Assert.Equal("m-ETH-USD", a.Labels["where"]);
        Assert.False(a.Labels.Contains("__name__"));
        Assert.Equal("ETH-USD rejects 2.5", a.Annotations["summary"]);
    }

    [Fact]
    public void RuleLabelRenderingEmpty_RemovesTheSeriesLabel_AndGroupLabelsApply()
    {
        string yaml = "groups:\n  - name: g\n    labels:\n      team: exchange\n    rules:\n      - alert: HighRejects\n        expr: exh_rejects > 1\n        labels:\n          market: \"{{ if eq $labels.market \\\"BTC-USD\\\" }}{{ else }}{{ $labels.market }}{{ end }}\"\n";
        var group = Assert.Single(RuleFileLoader.Parse(yaml, "test.rules.yml"));
        var rule = new AlertingRuleState(Assert.Single(group.AlertingRules), 0);
        rule.Apply([Sample("BTC-USD", 5), Sample("ETH-USD", 5)], At(0));
        Assert.Equal(
            [LabelSet.Of("alertname", "HighRejects", "team", "exchange"), LabelSet.Of("alertname", "HighRejects", "market", "ETH-USD", "team", "exchange")],
            rule.Alerts.Select(a => a.Labels).OrderBy(l => l.Count));
    }

    [Fact]
    public void SameLabelsAfterRuleLabels_FailsTheEvaluation()
    {
        var rule = Rule("        labels:\n          market: all\n");
        var e = Assert.Throws<RuleEvaluationException>(() => rule.Apply([Sample("BTC-USD", 5), Sample("ETH-USD", 5)], At(0)));
        Assert.Contains("same labelset", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Limit_Exceeded_FailsAndDropsAlerts()
    {
        var rule = Rule("", limit: 1);
        rule.Apply([Sample("BTC-USD", 5)], At(0));
        var e = Assert.Throws<RuleEvaluationException>(() => rule.Apply([Sample("BTC-USD", 5), Sample("ETH-USD", 5)], At(1)));
        Assert.Contains("limit", e.Message, StringComparison.Ordinal);
        Assert.Empty(rule.Alerts);
    }

    [Fact]
    public void QueryFailure_KeepsState()
    {
        var rule = Rule("");
        rule.Apply([Sample("BTC-USD", 5)], At(0));
        rule.Fail("unreachable", At(1));
        Assert.Equal(AlertState.Firing, Assert.Single(rule.Alerts).State);
        Assert.Equal("unreachable", rule.LastError);
    }
}
