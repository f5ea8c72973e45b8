using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Monitor.Prometheus;
using static ExchangeHealth.Alerting.Tests.Notify.Notifications;

namespace ExchangeHealth.Alerting.Tests.Notify;

/// <summary>The outbox on a real SQLite file (the default back end).</summary>
public sealed class SqliteOutboxTests : OutboxContract
{
    private readonly TempDatabase _db = new();

    protected override ExchangeHealth.Monitor.Storage.MonitorDatabase Database => _db.Database;

    protected override ExchangeHealth.Monitor.Storage.MonitorDatabase Reopen() => _db.Reopen();

    public override void Dispose() => _db.Dispose();
}

/// <summary>
/// The outbox's contract, run on every back end (SQLite here; PostgreSQL in Ha/PostgresOutboxTests):
/// one node's view, so claims behave the same (a node may claim its own entries again).
/// </summary>
public abstract class OutboxContract : IDisposable
{
    private readonly ManualClock _clock = new(T0);

    /// <summary>The database under test.</summary>
    protected abstract ExchangeHealth.Monitor.Storage.MonitorDatabase Database { get; }

    /// <summary>The same database opened again, as a restarted monitor would.</summary>
    protected abstract ExchangeHealth.Monitor.Storage.MonitorDatabase Reopen();

    public abstract void Dispose();

    [Fact]
    public async Task Enqueue_SameDedupKeyTwice_StoredOnce()
    {
        using var outbox = new SqliteOutbox(Database, _clock);
        var n = New("slack", "EngineDown", T0);
        int raised = 0;
        outbox.Enqueued += (_, _) => raised++;

        Assert.True(await outbox.EnqueueAsync(n));
        Assert.False(await outbox.EnqueueAsync(n with { Kind = NotificationKind.Update })); // same receiver|group|sequence
        Assert.Equal(1, await outbox.CountPendingAsync());
        Assert.Equal(1, raised);
        var stored = Assert.Single(await outbox.ListAsync(null, 10));
        Assert.Equal(NotificationKind.New, stored.Notification.Kind);
        Assert.Equal(n.DedupKey, stored.DedupKey);
    }

    [Fact]
    public async Task Payload_RoundTripsEveryField()
    {
        using var outbox = new SqliteOutbox(Database, _clock);
        var a = Firing("LatencyHigh", "ETH-USD", T0.AddTicks(1234567), double.PositiveInfinity);
        var b = Resolved(Firing("LatencyHigh", "BTC-USD", T0.AddMinutes(-10), double.NaN), T0.AddMinutes(-1));
        var c = Firing("LatencyHigh", "SOL-USD", T0, -0.125) with { Annotations = LabelSet.Of("summary", "quote \" and \\ and ünïcode\nline") };
        var n = Make("web hook", "{}/{severity=\"page\"}:{alertname=\"LatencyHigh\"}", 7, NotificationKind.Escalation, T0.AddSeconds(30), a, b, c);

        await outbox.EnqueueAsync(n);
        var back = (await outbox.FindAsync(n.DedupKey))!.Notification;

        Assert.Equal(n.Receiver, back.Receiver);
        Assert.Equal(n.GroupKey, back.GroupKey);
        Assert.Equal(n.Sequence, back.Sequence);
        Assert.Equal(n.Kind, back.Kind);
        Assert.Equal(n.GroupLabels, back.GroupLabels);
        Assert.Equal(n.CommonLabels, back.CommonLabels);
        Assert.Equal(n.CommonAnnotations, back.CommonAnnotations);
        Assert.Equal(n.FiringHash, back.FiringHash);
        Assert.Equal(n.ResolvedHash, back.ResolvedHash);
        Assert.Equal(n.CreatedAt, back.CreatedAt);
        Assert.Equal(3, back.Alerts.Count);
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(n.Alerts[i].Labels, back.Alerts[i].Labels);
            Assert.Equal(n.Alerts[i].Annotations, back.Alerts[i].Annotations);
            Assert.Equal(n.Alerts[i].StartsAt, back.Alerts[i].StartsAt);
            Assert.Equal(n.Alerts[i].EndsAt, back.Alerts[i].EndsAt);
            Assert.Equal(n.Alerts[i].GeneratorUrl, back.Alerts[i].GeneratorUrl);
            Assert.Equal(n.Alerts[i].Value, back.Alerts[i].Value);
        }
        Assert.Equal(AlertStatus.Firing, back.Status);
    }

    [Fact]
    public void NotificationJson_Malformed_NamesTheField()
    {
        string good = NotificationJson.Serialize(New("r", "G", T0));
        var e = Assert.Throws<PayloadFieldException>(() => NotificationJson.Deserialize(good.Replace("\"starts_at\":\"2026", "\"starts_at\":\"yesterday", StringComparison.Ordinal)));
        Assert.Equal("alerts[0].starts_at", e.Field);
        e = Assert.Throws<PayloadFieldException>(() => NotificationJson.Deserialize(good.Replace("\"kind\":\"new\"", "\"kind\":\"later\"", StringComparison.Ordinal)));
        Assert.Equal("kind", e.Field);
        e = Assert.Throws<PayloadFieldException>(() => NotificationJson.Deserialize(good.Replace("\"market\":\"BTC-USD\"", "\"market\":1", StringComparison.Ordinal)));
        Assert.Equal("alerts[0].labels.market", e.Field);
        Assert.Equal("alerts[0].labels.market: expected a string, got a number", e.Message);
    }

    [Fact]
    public async Task ClaimDue_OnlyTheEarliestPendingOfAGroup_InSequenceOrder()
    {
        using var outbox = new SqliteOutbox(Database, _clock);
        var g1 = Enumerable.Range(1, 3).Select(s => New("slack", "A", T0, s) with { Kind = s == 1 ? NotificationKind.New : NotificationKind.Update }).ToList();
        var g2 = New("slack", "B", T0);
        var sameGroupOtherReceiver = New("webhook", "A", T0);
        // insert out of order: sequence 3 and 2 before 1
        await outbox.EnqueueAsync(g1[2]);
        await outbox.EnqueueAsync(g1[1]);
        await outbox.EnqueueAsync(g2);
        await outbox.EnqueueAsync(g1[0]);
        await outbox.EnqueueAsync(sameGroupOtherReceiver);

        var due = await outbox.ClaimDueAsync(_clock.GetUtcNow(), 100);
        Assert.Equal(
            new[] { g2.DedupKey, g1[0].DedupKey, sameGroupOtherReceiver.DedupKey }.Order(),
            due.Select(e => e.DedupKey).Order());

        // sequence 1 fails and waits: 2 and 3 must not overtake it
        long first = due.Single(e => e.DedupKey == g1[0].DedupKey).Id;
        await outbox.MarkRetryAsync(first, "boom", _clock.GetUtcNow().AddMinutes(1));
        due = await outbox.ClaimDueAsync(_clock.GetUtcNow(), 100);
        Assert.DoesNotContain(due, e => e.Notification.Receiver == "slack" && e.Notification.GroupKey == g1[0].GroupKey);

        _clock.Advance(TimeSpan.FromMinutes(1));
        due = await outbox.ClaimDueAsync(_clock.GetUtcNow(), 100);
        Assert.Contains(due, e => e.DedupKey == g1[0].DedupKey);
        await outbox.MarkDeliveredAsync(first, _clock.GetUtcNow());

        due = await outbox.ClaimDueAsync(_clock.GetUtcNow(), 100);
        Assert.Contains(due, e => e.DedupKey == g1[1].DedupKey);
        Assert.DoesNotContain(due, e => e.DedupKey == g1[2].DedupKey);

        // a dead entry no longer blocks its group
        long second = due.Single(e => e.DedupKey == g1[1].DedupKey).Id;
        await outbox.MarkDeadAsync(second, "permanent");
        due = await outbox.ClaimDueAsync(_clock.GetUtcNow(), 100);
        Assert.Contains(due, e => e.DedupKey == g1[2].DedupKey);

        // max is respected
        Assert.Single(await outbox.ClaimDueAsync(_clock.GetUtcNow(), 1));
    }

    [Fact]
    public async Task MarkOutcomes_UpdateStateAttemptsAndErrors_OnlyWhilePending()
    {
        using var outbox = new SqliteOutbox(Database, _clock);
        await outbox.EnqueueAsync(New("slack", "A", T0));
        var e = Assert.Single(await outbox.ClaimDueAsync(_clock.GetUtcNow(), 10));

        Assert.True(await outbox.MarkRetryAsync(e.Id, "HTTP 503", T0.AddSeconds(1)));
        var after = (await outbox.FindAsync(e.DedupKey))!;
        Assert.Equal((OutboxState.Pending, 1, "HTTP 503", T0.AddSeconds(1)), (after.State, after.Attempts, after.LastError, after.NextAttemptAt));

        Assert.True(await outbox.MarkDeliveredAsync(e.Id, T0.AddSeconds(2)));
        after = (await outbox.FindAsync(e.DedupKey))!;
        Assert.Equal((OutboxState.Delivered, 2, (string?)null, (DateTimeOffset?)T0.AddSeconds(2)), (after.State, after.Attempts, after.LastError, after.DeliveredAt));

        Assert.False(await outbox.MarkDeadAsync(e.Id, "too late"));
        Assert.False(await outbox.MarkRetryAsync(e.Id, "too late", T0));
        Assert.Equal(0, await outbox.CountPendingAsync());
        Assert.Single(await outbox.ListAsync(OutboxState.Delivered, 10));
        Assert.Empty(await outbox.ListAsync(OutboxState.Pending, 10));
    }

    [Fact]
    public async Task GetLast_IsTheHighestSequenceInAnyState_AndSurvivesReopen()
    {
        using (var outbox = new SqliteOutbox(Database, _clock))
        {
            Assert.Null(await outbox.GetLastAsync("slack", "{}:{alertname=\"A\"}"));
            await outbox.EnqueueAsync(New("slack", "A", T0, 1));
            var second = Make("slack", "{}:{alertname=\"A\"}", 2, NotificationKind.Resolved, T0.AddMinutes(5),
                Resolved(Firing("A", "BTC-USD", T0.AddMinutes(-2)), T0.AddMinutes(4)));
            await outbox.EnqueueAsync(second);
            var claimed = await outbox.ClaimDueAsync(_clock.GetUtcNow(), 10);
            await outbox.MarkDeliveredAsync(claimed[0].Id, T0);
        }

        using var reopened = new SqliteOutbox(Reopen(), _clock);
        var last = await reopened.GetLastAsync("slack", "{}:{alertname=\"A\"}");
        Assert.NotNull(last);
        Assert.Equal(2, last.Sequence);
        Assert.Equal(NotificationKind.Resolved, last.Kind);
        Assert.Equal("", last.FiringHash);
        Assert.NotEqual("", last.ResolvedHash);
        Assert.Equal(T0.AddMinutes(5), last.CreatedAt);
        Assert.Null(await reopened.GetLastAsync("webhook", "{}:{alertname=\"A\"}"));
        Assert.Equal(1, await reopened.CountPendingAsync());
    }

    [Fact]
    public async Task Prune_KeepsPendingAndEachGroupsLastEntry()
    {
        using var outbox = new SqliteOutbox(Database, _clock);
        for (int seq = 1; seq <= 3; seq++) await outbox.EnqueueAsync(New("slack", "A", T0, seq));
        await outbox.EnqueueAsync(New("slack", "B", T0, 1));
        for (int i = 0; i < 3; i++)
        {
            foreach (var e in await outbox.ClaimDueAsync(_clock.GetUtcNow(), 10))
            {
                if (e.Notification.GroupKey.Contains('B', StringComparison.Ordinal) || e.Notification.Sequence == 3) continue; // B|1 and A|3 stay pending
                await outbox.MarkDeliveredAsync(e.Id, T0);
            }
        }
        Assert.Equal(2, await outbox.PruneAsync(T0.AddDays(1))); // A|1 and A|2 (delivered, not the last of A)

        var left = (await outbox.ListAsync(null, 10)).Select(e => e.DedupKey).Order().ToList();
        Assert.Equal([New("slack", "A", T0, 3).DedupKey, New("slack", "B", T0, 1).DedupKey], left);
        Assert.Equal(3, (await outbox.GetLastAsync("slack", New("slack", "A", T0).GroupKey))!.Sequence);
        Assert.Equal(0, await outbox.PruneAsync(T0.AddDays(1)));
    }
}
