using ExchangeHealth.Chaos.Slack;
using System.Diagnostics;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Alerting.Slack;
using static ExchangeHealth.Alerting.Tests.Notify.Notifications;

namespace ExchangeHealth.Alerting.Tests.Slack;

/// <summary>The delivery loop on the real clock against the fake Slack: outages, restarts, 429s and pacing.</summary>
public sealed class SlackResilienceTests
{
    private static readonly OutboxDelivererOptions FastRetries = new()
    {
        InitialBackoff = TimeSpan.FromMilliseconds(250),
        MaxBackoff = TimeSpan.FromSeconds(1),
        PollInterval = TimeSpan.FromMilliseconds(100),
    };

    private static async Task WaitUntilDrainedAsync(SqliteOutbox outbox, TimeSpan timeout)
    {
        var sw = Stopwatch.StartNew();
        while (await outbox.CountPendingAsync() > 0)
        {
            if (sw.Elapsed > timeout)
            {
                var pending = await outbox.ListAsync(OutboxState.Pending, 100);
                throw new TimeoutException($"{pending.Count} notifications still pending after {timeout}: {string.Join("; ", pending.Select(p => p.DedupKey + " " + p.LastError))}");
            }
            await Task.Delay(50);
        }
    }

    private static Notification Notice(string group, long seq, NotificationKind kind, DateTimeOffset at) =>
        Make(SlackRig.Receiver, "{}:{alertname=\"" + group + "\"}", seq, kind, at,
            [Firing(group, "BTC-USD", at.AddMinutes(-1)), .. seq > 1 ? [Firing(group, "ETH-USD", at)] : Array.Empty<Alert>()]);

    [Fact]
    public async Task Outage_OfAFewSeconds_EveryNotificationDeliveredAfterRecovery_NoneTwice()
    {
        await using var rig = await SlackRig.StartAsync(TimeProvider.System, requestTimeout: TimeSpan.FromSeconds(1), delivererOptions: FastRetries);
        using var cts = new CancellationTokenSource();
        rig.Slack.SetOutage(FakeSlackOutage.ServiceUnavailable);
        var run = rig.Deliverer.RunAsync(cts.Token);

        var now = DateTimeOffset.UtcNow;
        string[] groups = ["EngineDown", "LatencyHigh", "BudgetBurn", "ProbeFailing"];
        foreach (string g in groups)
        {
            await rig.Outbox.EnqueueAsync(Notice(g, 1, NotificationKind.New, now));
            await rig.Outbox.EnqueueAsync(Notice(g, 2, NotificationKind.Update, now.AddSeconds(1)));
        }
        await Task.Delay(1500);
        rig.Slack.SetOutage(FakeSlackOutage.CloseConnections); // now ambiguous failures too
        await Task.Delay(1500);
        Assert.Empty(rig.Slack.Messages);
        var healedAt = Stopwatch.GetTimestamp();
        rig.Slack.Heal();

        await WaitUntilDrainedAsync(rig.Outbox, TimeSpan.FromSeconds(15));
        var recovery = Stopwatch.GetElapsedTime(healedAt);
        await cts.CancelAsync();
        await run;

        var t0 = rig.Slack.Requests[0].ArrivedTimestamp;
        string timeline = string.Join("\n", rig.Slack.Requests.Select(r => $"{Stopwatch.GetElapsedTime(t0, r.ArrivedTimestamp).TotalMilliseconds:F0} {r.Method} {r.StatusCode} {r.DedupKey} {r.Arg("thread_ts")}"))
            + $"\nhealed at {Stopwatch.GetElapsedTime(t0, healedAt).TotalMilliseconds:F0}\n";
        Assert.True(rig.Slack.Requests.Any(r => r.StatusCode == 503), timeline);
        Assert.True(rig.Slack.Requests.Any(r => r.StatusCode == 0), timeline);
        var processedPosts = rig.Slack.RequestsOf("chat.postMessage").Where(r => r.Processed).ToList();
        Assert.Equal(8, processedPosts.Count);
        foreach (string g in groups)
        {
            string key = SlackRig.Receiver + "|{}:{alertname=\"" + g + "\"}|";
            var root = Assert.Single(rig.Slack.Messages, m => m.DedupKey == key + "1");
            var reply = Assert.Single(rig.Slack.Messages, m => m.DedupKey == key + "2");
            Assert.Equal((null, "post"), (root.ThreadTs, root.Part));
            Assert.Equal((root.Ts, "reply"), (reply.ThreadTs, reply.Part));
            Assert.Equal(1, root.Updates);
            Assert.Single(processedPosts, p => p.DedupKey == key + "1");
            Assert.Single(processedPosts, p => p.DedupKey == key + "2");
        }
        var entries = await rig.Outbox.ListAsync(null, 100);
        Assert.All(entries, e => Assert.Equal(OutboxState.Delivered, e.State));
        Assert.True(entries.Any(e => e.Attempts > 2), timeline + string.Join("\n", entries.Select(e => e.DedupKey + " " + e.Attempts)));
        Assert.True(recovery < TimeSpan.FromSeconds(8), $"recovery took {recovery}\n" + timeline); // backoff is capped at 1 s here
    }

    [Fact]
    public async Task Restart_MidFlight_NoneLostNoneTwice()
    {
        await using var rig = await SlackRig.StartAsync(TimeProvider.System, requestTimeout: TimeSpan.FromSeconds(10), delivererOptions: FastRetries);
        rig.Slack.DelayNext(3, TimeSpan.FromSeconds(5), "chat.postMessage"); // Slack posts these three but answers late
        var now = DateTimeOffset.UtcNow;
        var notices = Enumerable.Range(1, 6).Select(i => Notice("Group" + i, 1, NotificationKind.New, now)).ToList();
        foreach (var n in notices) await rig.Outbox.EnqueueAsync(n);

        using (var cts = new CancellationTokenSource())
        {
            var run = rig.Deliverer.RunAsync(cts.Token);
            var sw = Stopwatch.StartNew();
            while (rig.Slack.Messages.Count < 6 && sw.Elapsed < TimeSpan.FromSeconds(10)) await Task.Delay(10);
            Assert.Equal(6, rig.Slack.Messages.Count);
            Assert.True(await rig.Outbox.CountPendingAsync() >= 3, "three answers are still outstanding");
            await cts.CancelAsync(); // the monitor stops with three requests in flight
            await run.WaitAsync(TimeSpan.FromSeconds(5));
        }
        int pendingAtCrash = (int)await rig.Outbox.CountPendingAsync();
        Assert.InRange(pendingAtCrash, 3, 6);

        rig.Restart();
        using (var cts = new CancellationTokenSource())
        {
            var run = rig.Deliverer.RunAsync(cts.Token);
            await WaitUntilDrainedAsync(rig.Outbox, TimeSpan.FromSeconds(15));
            await cts.CancelAsync();
            await run;
        }

        foreach (var n in notices)
        {
            Assert.Single(rig.Slack.Messages, m => m.DedupKey == n.DedupKey);
            Assert.Equal(OutboxState.Delivered, (await rig.Outbox.FindAsync(n.DedupKey))!.State);
        }
        Assert.Equal(6, rig.Slack.RequestsOf("chat.postMessage").Count(r => r.Processed));
        Assert.Equal(pendingAtCrash, rig.Slack.RequestsOf("conversations.history").Count); // one look-up per interrupted notification
    }

    [Fact]
    public async Task RateLimited_429_NextAttemptNotBeforeRetryAfter()
    {
        await using var rig = await SlackRig.StartAsync(TimeProvider.System, delivererOptions: new OutboxDelivererOptions
        {
            InitialBackoff = TimeSpan.FromMilliseconds(100), // without Retry-After it would come back after 0.1 s
            PollInterval = TimeSpan.FromMilliseconds(50),
        });
        rig.Slack.RateLimitNext(1, TimeSpan.FromSeconds(2), "chat.postMessage");
        using var cts = new CancellationTokenSource();
        var run = rig.Deliverer.RunAsync(cts.Token);
        var n = Notice("EngineDown", 1, NotificationKind.New, DateTimeOffset.UtcNow);
        await rig.Outbox.EnqueueAsync(n);

        await WaitUntilDrainedAsync(rig.Outbox, TimeSpan.FromSeconds(10));
        await cts.CancelAsync();
        await run;

        var posts = rig.Slack.RequestsOf("chat.postMessage");
        Assert.Equal(2, posts.Count);
        Assert.Equal(429, posts[0].StatusCode);
        Assert.Equal(200, posts[1].StatusCode);
        var gap = Stopwatch.GetElapsedTime(posts[0].ArrivedTimestamp, posts[1].ArrivedTimestamp);
        Assert.True(gap >= TimeSpan.FromSeconds(2), $"retried after {gap.TotalMilliseconds} ms, Retry-After was 2 s");
        Assert.True(gap < TimeSpan.FromSeconds(4), $"retried only after {gap.TotalMilliseconds} ms");
        Assert.Single(rig.Slack.Messages);
    }

    [Fact]
    public async Task Pacing_AtMostOneMessagePerSecondPerChannel_SharedByAllNotifiers()
    {
        var pacer = new SlackChannelPacer(TimeSpan.FromSeconds(1), TimeProvider.System);
        await using var rig = await SlackRig.StartAsync(TimeProvider.System, pacer: pacer);
        var second = rig.CreateNotifier(); // another receiver posting to the same channel
        var other = rig.CreateNotifier(channel: "C0OTHER");
        using var deliverer = new OutboxDeliverer(rig.Outbox,
            new Dictionary<string, INotifier> { [SlackRig.Receiver] = rig.Notifier, ["slack-b"] = second, ["other"] = other },
            options: new OutboxDelivererOptions { MaxConcurrency = 8 });
        var now = DateTimeOffset.UtcNow;
        foreach (string g in new[] { "A", "B", "C" }) await rig.Outbox.EnqueueAsync(New(SlackRig.Receiver, g, now));
        foreach (string g in new[] { "D", "E" }) await rig.Outbox.EnqueueAsync(New("slack-b", g, now));
        await rig.Outbox.EnqueueAsync(New("other", "F", now));

        long start = Stopwatch.GetTimestamp();
        Assert.Equal(6, await deliverer.DeliverDueAsync());

        var arrivals = rig.Slack.RequestsOf("chat.postMessage").Where(r => r.Arg("channel") == SlackRig.Channel)
            .Select(r => r.ArrivedTimestamp).Order().ToList();
        Assert.Equal(5, arrivals.Count);
        for (int i = 1; i < arrivals.Count; i++)
        {
            var gap = Stopwatch.GetElapsedTime(arrivals[i - 1], arrivals[i]);
            // the pacer spaces the sends 1 s apart; 100 ms of slack for request jitter on a loaded machine
            Assert.True(gap >= TimeSpan.FromMilliseconds(900), $"messages {i} and {i + 1} to one channel {gap.TotalMilliseconds:F0} ms apart");
        }
        Assert.True(Stopwatch.GetElapsedTime(arrivals[0], arrivals[^1]) >= TimeSpan.FromSeconds(3.9), "5 messages to one channel need 4 s");
        var otherChannel = Assert.Single(rig.Slack.RequestsOf("chat.postMessage"), r => r.Arg("channel") == "C0OTHER");
        Assert.True(Stopwatch.GetElapsedTime(start, otherChannel.ArrivedTimestamp) < TimeSpan.FromSeconds(2), "another channel is not held back behind five messages");
        Assert.All(await rig.Outbox.ListAsync(null, 10), e => Assert.Equal(OutboxState.Delivered, e.State));
    }

    [Fact]
    public async Task Pacer_SpacesEachChannelOnItsOwn()
    {
        var pacer = new SlackChannelPacer(TimeSpan.FromMilliseconds(400), TimeProvider.System);
        var sw = Stopwatch.StartNew();
        var c1 = Enumerable.Range(0, 3).Select(_ => pacer.WaitTurnAsync("C1", CancellationToken.None)).ToList();
        await pacer.WaitTurnAsync("C2", CancellationToken.None);
        var c2Done = sw.Elapsed;
        await Task.WhenAll(c1);
        Assert.True(c2Done < TimeSpan.FromMilliseconds(300), $"C2 waited {c2Done.TotalMilliseconds} ms behind C1");
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(800), $"three turns on C1 took {sw.Elapsed.TotalMilliseconds} ms");
    }

    [Fact]
    public async Task Pacer_Defer_PushesTheChannelsNextSlot()
    {
        var pacer = new SlackChannelPacer(TimeSpan.FromMilliseconds(100), TimeProvider.System);
        var sw = Stopwatch.StartNew();
        await pacer.WaitTurnAsync("C1", CancellationToken.None);
        Assert.True(sw.Elapsed < TimeSpan.FromMilliseconds(80));
        pacer.Defer("C1", TimeSpan.FromMilliseconds(600));
        await pacer.WaitTurnAsync("C2", CancellationToken.None);
        Assert.True(sw.Elapsed < TimeSpan.FromMilliseconds(300), "other channels are not deferred");
        await pacer.WaitTurnAsync("C1", CancellationToken.None);
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(600), sw.Elapsed.ToString());
    }
}
