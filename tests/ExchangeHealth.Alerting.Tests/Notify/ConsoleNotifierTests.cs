using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Notify;
using static ExchangeHealth.Alerting.Tests.Notify.Notifications;

namespace ExchangeHealth.Alerting.Tests.Notify;

public sealed class ConsoleNotifierTests
{
    [Fact]
    public async Task Writes_OneReadableBlockPerNotification()
    {
        var a = Firing("LatencyHigh", "BTC-USD", T0.AddMinutes(-3), 0.0031);
        var b = Resolved(Firing("LatencyHigh", "ETH-USD", T0.AddMinutes(-9), 0.0005), T0.AddMinutes(-1));
        var n = Make("console", "{}:{alertname=\"LatencyHigh\"}", 3, NotificationKind.Update, T0, a, b);
        var writer = new StringWriter { NewLine = "\n" };
        var notifier = new ConsoleNotifier(writer);

        Assert.IsType<DeliveryResult.Delivered>(await notifier.DeliverAsync(n, CancellationToken.None));
        await notifier.DeliverAsync(New("console", "EngineDown", T0), CancellationToken.None);

        string[] lines = writer.ToString().Split('\n');
        Assert.Equal("[2026-11-21 03:00:00 UTC] FIRING (1) LatencyHigh  receiver=console kind=update seq=3", lines[0]);
        Assert.Equal("  what:  LatencyHigh on BTC-USD", lines[1]); // the firing alert's summary (not common)
        Assert.Equal("  where: market=BTC-USD|ETH-USD, job=exh-engine", lines[2]);
        Assert.Equal("  - firing {alertname=\"LatencyHigh\", job=\"exh-engine\", market=\"BTC-USD\", severity=\"page\"} since 2026-11-21 02:57:00 UTC value=3.1m", lines[3]);
        Assert.Equal("  - resolved {alertname=\"LatencyHigh\", job=\"exh-engine\", market=\"ETH-USD\", severity=\"page\"} since 2026-11-21 02:51:00 UTC until 2026-11-21 02:59:00 UTC value=500u", lines[4]);
        Assert.Equal("  runbook: https://runbooks.example/LatencyHigh", lines[5]);
        Assert.StartsWith("  group: {}:{alertname=\"LatencyHigh\"}  dedup: console|", lines[6], StringComparison.Ordinal);
        Assert.StartsWith("[2026-11-21 03:00:00 UTC] FIRING (1) EngineDown", lines[7], StringComparison.Ordinal);
        Assert.Equal("  what:  EngineDown on BTC-USD", lines[8]);
    }
}
