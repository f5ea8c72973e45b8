using System.Diagnostics;
using System.Diagnostics.Metrics;
using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Telemetry;
using static ExchangeHealth.Alerting.Tests.Notify.Notifications;

namespace ExchangeHealth.Alerting.Tests.Notify;

public sealed class OutboxDelivererTests : IDisposable
{
    private readonly TempDatabase _db = new();
    private readonly ManualClock _clock = new(T0);
    private readonly string _meterName = "ExchangeHealth.Tests." + Guid.NewGuid().ToString("N");
    private readonly Meter _meter;
    private readonly PrometheusTelemetry _telemetry;

    public OutboxDelivererTests()
    {
        _meter = new Meter(_meterName);
        _telemetry = PrometheusTelemetry.Create([_meterName]);
    }

    public void Dispose()
    {
        _telemetry.Dispose();
        _meter.Dispose();
        _db.Dispose();
    }

    private static OutboxDelivererOptions NoJitter => new() { Jitter = 0 };

    [Fact]
    public async Task Retry_BacksOffExponentially_From1sDoublingTo5MinCap()
    {
        using var outbox = new SqliteOutbox(_db.Database, _clock);
        var notifier = new ScriptedNotifier { Clock = _clock, Otherwise = new DeliveryResult.Retry(null, "HTTP 503") };
        using var deliverer = new OutboxDeliverer(outbox, new Dictionary<string, INotifier> { ["r"] = notifier }, options: NoJitter, timeProvider: _clock);
        await outbox.EnqueueAsync(New("r", "A", T0));

        var waits = new List<double>();
        for (int i = 0; i < 12; i++)
        {
            Assert.Equal(1, await deliverer.DeliverDueAsync());
            var entry = Assert.Single(await outbox.ListAsync(OutboxState.Pending, 1));
            var wait = entry.NextAttemptAt - _clock.GetUtcNow();
            waits.Add(wait.TotalSeconds);
            Assert.Equal(0, await deliverer.DeliverDueAsync()); // not due before the backoff has passed
            _clock.Advance(wait);
        }
        Assert.Equal([1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300], waits);
        Assert.Equal(12, notifier.Calls.Count);
        Assert.Equal("HTTP 503", (await outbox.ListAsync(null, 1))[0].LastError);
    }

    [Fact]
    public async Task Retry_JitterStaysWithin20Percent()
    {
        using var outbox = new SqliteOutbox(_db.Database, _clock);
        var notifier = new ScriptedNotifier { Otherwise = new DeliveryResult.Retry(null, "x") };
        using var deliverer = new OutboxDeliverer(outbox, new Dictionary<string, INotifier> { ["r"] = notifier }, timeProvider: _clock);
        for (int g = 0; g < 40; g++) await outbox.EnqueueAsync(New("r", "G" + g, T0));
        await deliverer.DeliverDueAsync();
        var waits = (await outbox.ListAsync(OutboxState.Pending, 100)).Select(e => (e.NextAttemptAt - T0).TotalSeconds).ToList();
        Assert.Equal(40, waits.Count);
        Assert.All(waits, w => Assert.InRange(w, 0.8, 1.2));
        Assert.True(waits.Distinct().Count() > 1, "jitter should spread the retries");
    }

    [Fact]
    public async Task Retry_HonoursRetryAfter_EvenWhenLongerThanTheBackoff()
    {
        using var outbox = new SqliteOutbox(_db.Database, _clock);
        var notifier = new ScriptedNotifier { Clock = _clock }.Then(new DeliveryResult.Retry(TimeSpan.FromSeconds(30), "429"));
        using var deliverer = new OutboxDeliverer(outbox, new Dictionary<string, INotifier> { ["r"] = notifier }, options: NoJitter, timeProvider: _clock);
        await outbox.EnqueueAsync(New("r", "A", T0));

        await deliverer.DeliverDueAsync();
        Assert.Equal(T0.AddSeconds(30), (await outbox.ListAsync(OutboxState.Pending, 1))[0].NextAttemptAt);
        _clock.Advance(TimeSpan.FromSeconds(29.9));
        Assert.Equal(0, await deliverer.DeliverDueAsync());
        _clock.Advance(TimeSpan.FromSeconds(0.1));
        Assert.Equal(1, await deliverer.DeliverDueAsync());
        Assert.Equal(OutboxState.Delivered, (await outbox.ListAsync(null, 1))[0].State);
        Assert.Equal(T0.AddSeconds(30), notifier.Calls[1].At);
    }

    [Fact]
    public async Task Dead_After24Hours_LoggedAsFailedInMetrics_AndNextOfGroupProceeds()
    {
        using var outbox = new SqliteOutbox(_db.Database, _clock);
        var notifier = new ScriptedNotifier { Clock = _clock, Otherwise = new DeliveryResult.Retry(null, "HTTP 500") };
        var metrics = new NotificationMetrics(_meter);
        using var deliverer = new OutboxDeliverer(outbox, new Dictionary<string, INotifier> { ["r"] = notifier }, metrics, NoJitter, _clock);
        await outbox.EnqueueAsync(New("r", "A", T0, 1));
        await outbox.EnqueueAsync(New("r", "A", T0, 2) with { Kind = ExchangeHealth.Alerting.Model.NotificationKind.Update });

        int rounds = 0;
        while ((await outbox.FindAsync(New("r", "A", T0, 1).DedupKey))!.State == OutboxState.Pending)
        {
            Assert.True(++rounds < 400, "the entry never went dead");
            await deliverer.DeliverDueAsync();
            _clock.Advance(TimeSpan.FromMinutes(5));
        }
        var dead = (await outbox.FindAsync(New("r", "A", T0, 1).DedupKey))!;
        Assert.Equal(OutboxState.Dead, dead.State);
        Assert.StartsWith("gave up after", dead.LastError, StringComparison.Ordinal);
        Assert.Contains("HTTP 500", dead.LastError, StringComparison.Ordinal);
        // the last attempt happened exactly at the 24 h age, not later
        Assert.Equal(T0.AddHours(24), notifier.Calls[^1].At);
        // the group's next notification was held back until then
        Assert.All(notifier.Calls, c => Assert.EndsWith("|1", c.DedupKey, StringComparison.Ordinal));

        notifier.Otherwise = DeliveryResult.Delivered.Instance;
        await deliverer.DeliverDueAsync();
        Assert.Equal(OutboxState.Delivered, (await outbox.FindAsync(New("r", "A", T0, 2).DedupKey))!.State);

        string scrape = _telemetry.Handler.ScrapeToString();
        Assert.Contains("exh_notifications_total{outcome=\"failed\",receiver=\"r\"} 1", scrape, StringComparison.Ordinal);
        Assert.Contains("exh_notifications_total{outcome=\"delivered\",receiver=\"r\"} 1", scrape, StringComparison.Ordinal);
        Assert.Contains($"exh_notifications_total{{outcome=\"retried\",receiver=\"r\"}} {notifier.Calls.Count - 2}", scrape, StringComparison.Ordinal);
        Assert.Contains("exh_notification_outbox_depth 0", scrape, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Failed_GoesDeadAtOnce_AndUnknownReceiverToo()
    {
        using var outbox = new SqliteOutbox(_db.Database, _clock);
        var notifier = new ScriptedNotifier().Then(new DeliveryResult.Failed("Slack error 'channel_not_found'"));
        var metrics = new NotificationMetrics(_meter);
        using var deliverer = new OutboxDeliverer(outbox, new Dictionary<string, INotifier> { ["r"] = notifier }, metrics, NoJitter, _clock);
        await outbox.EnqueueAsync(New("r", "A", T0));
        await outbox.EnqueueAsync(New("nobody", "A", T0));
        await outbox.EnqueueAsync(New("r", "B", T0));
        metrics.SetOutboxDepth(3);

        await deliverer.DeliverDueAsync();

        var all = await outbox.ListAsync(null, 10);
        Assert.Equal(2, all.Count(e => e.State == OutboxState.Dead));
        Assert.Contains(all, e => e.State == OutboxState.Dead && e.LastError == "no notifier is configured for receiver 'nobody'");
        Assert.Contains(all, e => e.State == OutboxState.Dead && e.LastError == "Slack error 'channel_not_found'");
        Assert.Equal(0, metrics.OutboxDepth);
        string scrape = _telemetry.Handler.ScrapeToString();
        Assert.Contains("exh_notifications_total{outcome=\"failed\",receiver=\"nobody\"} 1", scrape, StringComparison.Ordinal);
        Assert.Contains("# TYPE exh_notifications_total counter", scrape, StringComparison.Ordinal);
        Assert.Contains("# TYPE exh_notification_outbox_depth gauge", scrape, StringComparison.Ordinal);
    }

    [Fact]
    public void MetricNames_FollowTheContract()
    {
        Assert.Equal("exh_notifications_total", PrometheusNaming.GetMetricName(NotificationMetrics.NotificationsInstrument, "{notification}", PrometheusMetricType.Counter));
        Assert.Equal("exh_notification_outbox_depth", PrometheusNaming.GetMetricName(NotificationMetrics.OutboxDepthInstrument, "{notification}", PrometheusMetricType.Gauge));
    }

    [Fact]
    public async Task Exception_FromNotifier_IsRetried()
    {
        using var outbox = new SqliteOutbox(_db.Database, _clock);
        using var deliverer = new OutboxDeliverer(outbox, _ => new ThrowingNotifier(), options: NoJitter, timeProvider: _clock);
        await outbox.EnqueueAsync(New("r", "A", T0));
        await deliverer.DeliverDueAsync();
        var e = Assert.Single(await outbox.ListAsync(OutboxState.Pending, 1));
        Assert.Equal("InvalidOperationException: broken", e.LastError);
        Assert.Equal(1, e.Attempts);
    }

    [Fact]
    public async Task RunAsync_WakesOnEnqueue_WithoutWaitingForThePoll()
    {
        using var outbox = new SqliteOutbox(_db.Database);
        var notifier = new ScriptedNotifier();
        using var deliverer = new OutboxDeliverer(outbox, new Dictionary<string, INotifier> { ["r"] = notifier },
            options: new OutboxDelivererOptions { PollInterval = TimeSpan.FromHours(1) });
        using var cts = new CancellationTokenSource();
        var run = deliverer.RunAsync(cts.Token);
        await Task.Delay(200); // the loop is now waiting (poll in 1 h)

        var sw = Stopwatch.StartNew();
        await outbox.EnqueueAsync(New("r", "A", DateTimeOffset.UtcNow));
        while (notifier.Calls.Count == 0 && sw.Elapsed < TimeSpan.FromSeconds(5)) await Task.Delay(10);
        Assert.Single(notifier.Calls);
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2), $"delivered {sw.Elapsed} after enqueue");

        await cts.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(5));
    }

    private sealed class ThrowingNotifier : INotifier
    {
        public Task<DeliveryResult> DeliverAsync(ExchangeHealth.Alerting.Model.Notification notification, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("broken");
    }
}
