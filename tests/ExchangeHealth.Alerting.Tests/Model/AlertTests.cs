using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Monitor.Prometheus;

namespace ExchangeHealth.Alerting.Tests.Model;

public class AlertTests
{
    [Fact]
    public void StatusAt_ResolvedOnlyOnceEndsAtPassed()
    {
        var t0 = new DateTimeOffset(2026, 11, 21, 3, 0, 0, TimeSpan.Zero);
        var firing = new Alert(LabelSet.Of("alertname", "EngineDown"), LabelSet.Empty, t0, null, "");
        Assert.Equal(AlertStatus.Firing, firing.StatusAt(t0.AddHours(1)));
        var ending = firing with { EndsAt = t0.AddMinutes(5) };
        Assert.Equal(AlertStatus.Firing, ending.StatusAt(t0.AddMinutes(4)));
        Assert.Equal(AlertStatus.Resolved, ending.StatusAt(t0.AddMinutes(5)));
        Assert.Equal("EngineDown", firing.Name);
        Assert.Equal(firing.Labels.FingerprintHex, firing.Fingerprint);
    }
}
