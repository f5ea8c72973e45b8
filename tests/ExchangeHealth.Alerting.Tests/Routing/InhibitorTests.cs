using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Routing;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Tests.Routing;

public class InhibitorTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 3, 0, 0, TimeSpan.Zero);

    private static InhibitRule Rule(string source, string target, params string[] equal) =>
        new(LabelMatcher.ParseList(source), LabelMatcher.ParseList(target), equal, "test.yml", 1);

    private static Alert A(params string[] labels) => new(LabelSet.Of(labels), LabelSet.Empty, Now.AddMinutes(-10), null, "");

    [Fact]
    public void EqualLabels_MustMatch_AndBothAbsentCountsAsEqual()
    {
        var inhibitor = new Inhibitor([Rule("severity=page", "severity=ticket", "market", "region")]);
        var page = A("alertname", "Down", "severity", "page", "market", "BTC-USD");
        var snapshot = inhibitor.Snapshot([page], Now);

        // region absent on both sides: equal; market equal: inhibited.
        Assert.Equal([page.Fingerprint], snapshot.InhibitedBy(LabelSet.Of("alertname", "Slow", "severity", "ticket", "market", "BTC-USD")));
        // market differs.
        Assert.Empty(snapshot.InhibitedBy(LabelSet.Of("alertname", "Slow", "severity", "ticket", "market", "ETH-USD")));
        // region present on the target only: not equal.
        Assert.Empty(snapshot.InhibitedBy(LabelSet.Of("alertname", "Slow", "severity", "ticket", "market", "BTC-USD", "region", "eu")));
        // not a target.
        Assert.Empty(snapshot.InhibitedBy(LabelSet.Of("alertname", "Slow", "severity", "info", "market", "BTC-USD")));
    }

    [Fact]
    public void OnlyFiringSourcesInhibit()
    {
        var inhibitor = new Inhibitor([Rule("severity=page", "severity=ticket")]);
        var resolved = A("alertname", "Down", "severity", "page") with { EndsAt = Now.AddMinutes(-1) };
        var endsLater = A("alertname", "Down2", "severity", "page") with { EndsAt = Now.AddMinutes(1) };
        var target = LabelSet.Of("alertname", "Slow", "severity", "ticket");
        Assert.Empty(inhibitor.Snapshot([resolved], Now).InhibitedBy(target));
        Assert.Equal([endsLater.Fingerprint], inhibitor.Snapshot([resolved, endsLater], Now).InhibitedBy(target));
    }

    [Fact]
    public void AnAlertMatchingBothSides_IsNotMutedByItselfOrItsPeers_ButByAPureSource()
    {
        // Alertmanager: when the target matches the source matchers too, sources that also match
        // the target matchers are skipped.
        var inhibitor = new Inhibitor([Rule("tier=~\"fast|both\"", "tier=~\"slow|both\"", "slo")]);
        var both1 = A("alertname", "Burn", "tier", "both", "slo", "latency", "market", "BTC-USD");
        var both2 = A("alertname", "Burn", "tier", "both", "slo", "latency", "market", "ETH-USD");
        var snapshot = inhibitor.Snapshot([both1, both2], Now);
        Assert.Empty(snapshot.InhibitedBy(both1.Labels));
        Assert.Empty(snapshot.InhibitedBy(both2.Labels));

        var fast = A("alertname", "Burn", "tier", "fast", "slo", "latency");
        snapshot = inhibitor.Snapshot([both1, both2, fast], Now);
        Assert.Equal([fast.Fingerprint], snapshot.InhibitedBy(both1.Labels));
        Assert.Empty(snapshot.InhibitedBy(fast.Labels));
    }

    [Fact]
    public void SeveralRulesAndSources_AllInhibitorsAreListedSorted()
    {
        var inhibitor = new Inhibitor([Rule("alertname=EngineDown", "", "instance"), Rule("severity=page", "severity=ticket")]);
        var down = A("alertname", "EngineDown", "instance", "e1", "severity", "critical");
        var page = A("alertname", "Other", "severity", "page", "instance", "e2");
        var target = LabelSet.Of("alertname", "Slow", "severity", "ticket", "instance", "e1");
        var ids = inhibitor.Snapshot([down, page], Now).InhibitedBy(target);
        Assert.Equal(new[] { down.Fingerprint, page.Fingerprint }.Order(StringComparer.Ordinal), ids);
        // An empty target matcher list matches every alert, but never the source itself.
        Assert.Empty(inhibitor.Snapshot([down], Now).InhibitedBy(down.Labels));
    }
}
