using ExchangeHealth.Chaos.Slack;
using ExchangeHealth.Alerting.Model;
using ExchangeHealth.Alerting.Notify;
using ExchangeHealth.Alerting.Slack;
using ExchangeHealth.Alerting.Tests.Notify;
using ExchangeHealth.Monitor.Prometheus;
using static ExchangeHealth.Alerting.Tests.Notify.Notifications;

namespace ExchangeHealth.Alerting.Tests.Slack;

public sealed class SlackNotifierTests
{
    private const string Group = "{}:{alertname=\"LatencyHigh\"}";
    private readonly ManualClock _clock = new(T0);

    private Notification At(long seq, NotificationKind kind, params Alert[] alerts) =>
        Make(SlackRig.Receiver, Group, seq, kind, _clock.GetUtcNow(), alerts);

    [Fact]
    public async Task Lifecycle_NewUpdateRepeatResolved_PostUpdateWithThreadReplyThreadReplyUpdate()
    {
        await using var rig = await SlackRig.StartAsync(_clock);
        var btc = Firing("LatencyHigh", "BTC-USD", T0.AddMinutes(-2));
        var eth = Firing("LatencyHigh", "ETH-USD", T0);

        await rig.Outbox.EnqueueAsync(At(1, NotificationKind.New, btc));
        await rig.DrainAsync(_clock);
        _clock.Advance(TimeSpan.FromMinutes(5));
        await rig.Outbox.EnqueueAsync(At(2, NotificationKind.Update, btc, eth));
        await rig.DrainAsync(_clock);
        _clock.Advance(TimeSpan.FromHours(4));
        await rig.Outbox.EnqueueAsync(At(3, NotificationKind.Repeat, btc, eth));
        await rig.DrainAsync(_clock);
        _clock.Advance(TimeSpan.FromMinutes(5));
        var end = _clock.GetUtcNow().AddSeconds(-10);
        await rig.Outbox.EnqueueAsync(At(4, NotificationKind.Resolved, Resolved(btc, end), Resolved(eth, end)));
        await rig.DrainAsync(_clock);

        var root = Assert.Single(rig.Slack.Messages, m => m.ThreadTs is null);
        var writes = rig.Writes.Select(r => (r.Method, Thread: r.Arg("thread_ts"), Ts: r.Arg("ts"))).ToList();
        Assert.Equal(
            [
                ("chat.postMessage", null, null),
                ("chat.update", null, root.Ts),
                ("chat.postMessage", root.Ts, null),
                ("chat.postMessage", root.Ts, null),
                ("chat.update", null, root.Ts),
            ],
            writes);
        Assert.All(rig.Writes, w => Assert.Equal(200, w.StatusCode));

        Assert.Equal(2, root.Updates);
        Assert.Equal(":white_check_mark: LatencyHigh: RESOLVED (2)", root.HeaderText);
        Assert.StartsWith("[RESOLVED:2] LatencyHigh", root.Text, StringComparison.Ordinal);
        Assert.Equal("slack|" + Group + "|1", root.DedupKey);
        Assert.Equal("post", root.Part);
        Assert.Contains(":red_circle: LatencyHigh: FIRING (2)", rig.Writes[1].Body["blocks"]!.ToJsonString(), StringComparison.Ordinal);

        var replies = rig.Slack.Messages.Where(m => m.ThreadTs == root.Ts).ToList();
        Assert.Equal(2, replies.Count);
        Assert.Equal(("slack|" + Group + "|2", "reply"), (replies[0].DedupKey, replies[0].Part));
        Assert.Contains("*Updated:* 2 firing, 0 resolved.", replies[0].Text, StringComparison.Ordinal);
        Assert.Contains("Now firing: `{market=\"ETH-USD\"}`", replies[0].Text, StringComparison.Ordinal);
        Assert.DoesNotContain("BTC-USD", replies[0].Text, StringComparison.Ordinal);
        Assert.Equal("slack|" + Group + "|3", replies[1].DedupKey);
        Assert.Contains("*Still firing:* 2 alert(s)", replies[1].Text, StringComparison.Ordinal);
        Assert.False(replies[1].ReplyBroadcast);

        Assert.All(await rig.Outbox.ListAsync(null, 10), e => Assert.Equal(OutboxState.Delivered, e.State));
        var found = await rig.Notifier.Messages.FindByMessageAsync(root.Channel, root.Ts);
        Assert.Equal((SlackRig.Receiver, Group), (found!.Receiver, found.GroupKey));
    }

    [Fact]
    public async Task Escalation_RepliesInThreadWithMention_BroadcastToChannel()
    {
        await using var rig = await SlackRig.StartAsync(_clock);
        var btc = Firing("LatencyHigh", "BTC-USD", T0.AddMinutes(-2));
        await rig.Outbox.EnqueueAsync(At(1, NotificationKind.New, btc));
        await rig.Outbox.EnqueueAsync(At(2, NotificationKind.Escalation, btc));
        await rig.DrainAsync(_clock);

        var root = Assert.Single(rig.Slack.Messages, m => m.ThreadTs is null);
        var reply = Assert.Single(rig.Slack.Messages, m => m.ThreadTs == root.Ts);
        Assert.True(reply.ReplyBroadcast);
        Assert.StartsWith("<!here> :rotating_light: *Escalation:* LatencyHigh is not acknowledged", reply.Text, StringComparison.Ordinal);
        Assert.True(rig.Writes[^1].Body["reply_broadcast"]!.GetValue<bool>());
        Assert.Equal(0, root.Updates);
    }

    [Fact]
    public async Task Update_WhenTheMessageWasDeleted_PostsANewOne()
    {
        await using var rig = await SlackRig.StartAsync(_clock);
        var btc = Firing("LatencyHigh", "BTC-USD", T0);
        await rig.Outbox.EnqueueAsync(At(1, NotificationKind.New, btc));
        await rig.DrainAsync(_clock);
        var first = Assert.Single(rig.Slack.Messages);
        Assert.True(rig.Slack.DeleteMessage(first.Channel, first.Ts));

        await rig.Outbox.EnqueueAsync(At(2, NotificationKind.Update, btc, Firing("LatencyHigh", "ETH-USD", T0)));
        await rig.DrainAsync(_clock);

        var second = Assert.Single(rig.Slack.Messages);
        Assert.NotEqual(first.Ts, second.Ts);
        Assert.Null(second.ThreadTs);
        Assert.Equal("slack|" + Group + "|2", second.DedupKey);
        Assert.Contains(rig.Slack.RequestsOf("chat.update"), r => r.Response.Contains("message_not_found", StringComparison.Ordinal));
        Assert.Equal(second.Ts, (await rig.Notifier.Messages.GetMessageAsync(SlackRig.Receiver, Group))!.Ts);
        Assert.Equal(OutboxState.Delivered, (await rig.Outbox.ListAsync(null, 1))[0].State);
    }

    [Fact]
    public async Task Repeat_WithoutAStoredMessage_PostsANewOne()
    {
        await using var rig = await SlackRig.StartAsync(_clock);
        await rig.Outbox.EnqueueAsync(At(5, NotificationKind.Repeat, Firing("LatencyHigh", "BTC-USD", T0)));
        await rig.DrainAsync(_clock);
        var m = Assert.Single(rig.Slack.Messages);
        Assert.Null(m.ThreadTs);
        Assert.Equal("post", m.Part);
    }

    [Fact]
    public async Task Message_HasTheBlockKitContentOnCallNeeds()
    {
        await using var rig = await SlackRig.StartAsync(_clock);
        var alert = new Alert(
            LabelSet.Of("alertname", "LatencyHigh", "market", "BTC-USD", "instance", "engine-1:9100", "job", "exh-engine", "severity", "page"),
            LabelSet.Of("summary", "p99 ack latency <above> 1 ms & rising", "threshold", "0.01", "error_budget_remaining", "0.42",
                "runbook_url", "https://runbooks.example/latency|high", "dashboard_url", "https://grafana.example/d/exh"),
            T0.AddMinutes(-3), null, "http://127.0.0.1:9090/graph?g0.expr=x", 0.031);
        var n = At(1, NotificationKind.New, alert);

        Assert.IsType<DeliveryResult.Delivered>(await rig.Notifier.DeliverAsync(n, CancellationToken.None));

        var body = Assert.Single(rig.Slack.RequestsOf("chat.postMessage")).Body;
        Assert.Equal(SlackRig.Channel, body["channel"]!.GetValue<string>());
        Assert.Equal("[FIRING:1] LatencyHigh: p99 ack latency &lt;above&gt; 1 ms &amp; rising (market=BTC-USD, instance=engine-1:9100, job=exh-engine)",
            body["text"]!.GetValue<string>());
        Assert.Equal("exh_notification", body["metadata"]!["event_type"]!.GetValue<string>());
        Assert.Equal(n.DedupKey, body["metadata"]!["event_payload"]!["dedup_key"]!.GetValue<string>());

        var blocks = body["blocks"]!.AsArray().Select(b => b!.AsObject()).ToList();
        Assert.Equal(["header", "section", "section", "context", "actions"], blocks.Select(b => b["type"]!.GetValue<string>()));
        Assert.Equal(":red_circle: LatencyHigh: FIRING (1)", blocks[0]["text"]!["text"]!.GetValue<string>());
        Assert.Equal("*What:* p99 ack latency &lt;above&gt; 1 ms &amp; rising", blocks[1]["text"]!["text"]!.GetValue<string>());
        var fields = blocks[2]["fields"]!.AsArray().Select(f => f!["text"]!.GetValue<string>()).ToList();
        Assert.Equal("*Where*\nmarket=BTC-USD, instance=engine-1:9100, job=exh-engine", fields[0]);
        Assert.Equal("*Value*\n31m (threshold 10m)", fields[1]);
        Assert.Equal("*Error budget left*\n42%", fields[2]);
        Assert.Equal("*Severity*\npage", fields[3]);
        Assert.Equal($"*Started*\n<!date^{T0.AddMinutes(-3).ToUnixTimeSeconds()}^{{date_short_pretty}} {{time}}|2026-11-21 02:57:00 UTC>", fields[4]);
        Assert.Equal(5, fields.Count);
        string context = string.Join("\n", blocks[3]["elements"]!.AsArray().Select(e => e!["text"]!.GetValue<string>()));
        Assert.StartsWith("receiver `slack` · group `{}:{alertname=\"LatencyHigh\"}` · #1 new", context, StringComparison.Ordinal);
        Assert.Contains("<https://grafana.example/d/exh|dashboard>", context, StringComparison.Ordinal);
        Assert.Contains("<http://127.0.0.1:9090/graph?g0.expr=x|expression>", context, StringComparison.Ordinal);

        var buttons = blocks[4]["elements"]!.AsArray().Select(b => b!.AsObject()).ToList();
        Assert.Equal(["exh_ack", "exh_silence_1h", "exh_runbook", "exh_dashboard"], buttons.Select(b => b["action_id"]!.GetValue<string>()));
        Assert.Equal(["Acknowledge", "Silence 1h", "Runbook", "Dashboard"], buttons.Select(b => b["text"]!["text"]!.GetValue<string>()));
        Assert.Equal("https://runbooks.example/latency%7Chigh", buttons[2]["url"]!.GetValue<string>());
        var target = SlackActionValue.Parse(buttons[0]["value"]!.GetValue<string>());
        Assert.Equal(new SlackActionTarget(SlackRig.Receiver, Group, null), target);
        Assert.Equal(buttons[0]["value"]!.GetValue<string>(), buttons[1]["value"]!.GetValue<string>());
    }

    [Fact]
    public async Task ResolvedMessage_HasNoAckOrSilenceButtons_AndAResolvedTime()
    {
        await using var rig = await SlackRig.StartAsync(_clock);
        var n = At(1, NotificationKind.Resolved, Resolved(Firing("LatencyHigh", "BTC-USD", T0.AddMinutes(-9)), T0.AddMinutes(-1)));
        await rig.Notifier.DeliverAsync(n, CancellationToken.None);
        string blocks = rig.Writes[0].Body["blocks"]!.ToJsonString();
        Assert.DoesNotContain("exh_ack", blocks, StringComparison.Ordinal);
        Assert.Contains("exh_runbook", blocks, StringComparison.Ordinal);
        Assert.Contains("*Resolved*", blocks, StringComparison.Ordinal);
    }

    [Fact]
    public void ActionValue_LongGroupKey_StaysWithinSlacksLimit()
    {
        string longKey = "{}:{" + new string('x', 3000) + "}";
        string value = SlackActionValue.Format("slack", longKey);
        Assert.True(value.Length <= 2000, value.Length.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var t = SlackActionValue.Parse(value);
        Assert.Equal(("slack", (string?)null, SlackActionValue.Sha256Hex(longKey)), (t.Receiver, t.GroupKey, t.GroupKeySha256));
        Assert.Throws<PayloadFieldException>(() => SlackActionValue.Parse("not json"));
    }

    [Theory]
    [InlineData("ratelimited", "retry")]
    [InlineData("internal_error", "retry")]
    [InlineData("fatal_error", "retry")]
    [InlineData("service_unavailable", "retry")]
    [InlineData("request_timeout", "retry")]
    [InlineData("some_future_error", "retry")]
    [InlineData("invalid_auth", "failed")]
    [InlineData("not_authed", "failed")]
    [InlineData("channel_not_found", "failed")]
    [InlineData("not_in_channel", "failed")]
    [InlineData("account_inactive", "failed")]
    [InlineData("token_revoked", "failed")]
    [InlineData("invalid_blocks", "failed")]
    [InlineData("msg_too_long", "failed")]
    public async Task SlackErrors_AreRetriedOrFailed(string error, string expected)
    {
        await using var rig = await SlackRig.StartAsync(_clock);
        rig.Slack.FailNext(1, error, "chat.postMessage");
        var n = At(1, NotificationKind.New, Firing("LatencyHigh", "BTC-USD", T0));

        var first = await rig.Notifier.DeliverAsync(n, CancellationToken.None);
        Assert.Equal(expected, first switch { DeliveryResult.Retry => "retry", DeliveryResult.Failed => "failed", _ => "delivered" });
        Assert.Contains(error, first is DeliveryResult.Retry r ? r.Error : ((DeliveryResult.Failed)first).Error, StringComparison.Ordinal);

        // a refused post is certainly not made: the next attempt posts without a history look-up
        Assert.IsType<DeliveryResult.Delivered>(await rig.Notifier.DeliverAsync(n, CancellationToken.None));
        Assert.Empty(rig.Slack.RequestsOf("conversations.history"));
        Assert.Single(rig.Slack.Messages);
    }

    [Fact]
    public async Task UnknownChannel_AndWrongToken_GoDeadAtOnce()
    {
        await using var rig = await SlackRig.StartAsync(_clock, knownChannels: [SlackRig.Channel]);
        var wrongChannel = rig.CreateNotifier(channel: "C0NOPE");
        var wrongToken = rig.CreateNotifier(token: "xoxb-wrong");
        using var deliverer = new OutboxDeliverer(rig.Outbox,
            new Dictionary<string, INotifier> { ["nochannel"] = wrongChannel, ["notoken"] = wrongToken }, timeProvider: _clock);
        await rig.Outbox.EnqueueAsync(New("nochannel", "A", T0));
        await rig.Outbox.EnqueueAsync(New("notoken", "A", T0));

        await deliverer.DeliverDueAsync();

        var entries = await rig.Outbox.ListAsync(null, 10);
        Assert.All(entries, e => Assert.Equal(OutboxState.Dead, e.State));
        Assert.Contains(entries, e => e.LastError!.Contains("channel_not_found", StringComparison.Ordinal));
        Assert.Contains(entries, e => e.LastError!.Contains("invalid_auth", StringComparison.Ordinal));
        Assert.All(entries, e => Assert.DoesNotContain("xoxb", e.LastError!, StringComparison.Ordinal));
        Assert.Empty(rig.Slack.Messages);
    }

    [Fact]
    public async Task AmbiguousTimeout_MessageWasPosted_FoundInHistory_NotPostedTwice()
    {
        // The client's timeout leaves a loaded machine time to get the request to the server (which
        // stores the message, then answers after the timeout).
        await using var rig = await SlackRig.StartAsync(_clock, requestTimeout: TimeSpan.FromMilliseconds(1500));
        rig.Slack.DelayNext(1, TimeSpan.FromSeconds(4), "chat.postMessage"); // Slack stores it, the answer comes too late
        var n = At(1, NotificationKind.New, Firing("LatencyHigh", "BTC-USD", T0));
        await rig.Outbox.EnqueueAsync(n);

        await rig.Deliverer.DeliverDueAsync();
        var entry = (await rig.Outbox.FindAsync(n.DedupKey))!;
        Assert.Equal(OutboxState.Pending, entry.State);
        Assert.Contains("outcome unknown", entry.LastError, StringComparison.Ordinal);
        Assert.Single(rig.Slack.Messages); // Slack did post it

        await rig.DrainAsync(_clock);

        Assert.Single(rig.Slack.RequestsOf("chat.postMessage"));
        var message = Assert.Single(rig.Slack.Messages);
        var lookup = Assert.Single(rig.Slack.RequestsOf("conversations.history"));
        Assert.Equal("true", lookup.Arg("include_all_metadata"));
        Assert.Equal(SlackNotifier.ToSlackTs(n.CreatedAt.AddMinutes(-1)), lookup.Arg("oldest"));
        Assert.Equal(SlackRig.Channel, lookup.Arg("channel"));
        Assert.Equal(OutboxState.Delivered, (await rig.Outbox.FindAsync(n.DedupKey))!.State);
        Assert.Equal(message.Ts, (await rig.Notifier.Messages.GetMessageAsync(SlackRig.Receiver, Group))!.Ts);
    }

    [Fact]
    public async Task AmbiguousConnectionReset_MessageWasNotPosted_LookedUpThenPostedOnce()
    {
        await using var rig = await SlackRig.StartAsync(_clock);
        var n = At(1, NotificationKind.New, Firing("LatencyHigh", "BTC-USD", T0));
        await rig.Outbox.EnqueueAsync(n);
        rig.Slack.SetOutage(FakeSlackOutage.CloseConnections);
        await rig.Deliverer.DeliverDueAsync();
        Assert.Empty(rig.Slack.Messages);
        rig.Slack.Heal();

        await rig.DrainAsync(_clock);

        Assert.Single(rig.Slack.RequestsOf("conversations.history"));
        Assert.Single(rig.Slack.RequestsOf("chat.postMessage"), r => r.Processed);
        Assert.Single(rig.Slack.Messages);
    }

    [Fact]
    public async Task AmbiguousThreadReply_FoundWithConversationsReplies_NotPostedTwice()
    {
        await using var rig = await SlackRig.StartAsync(_clock, requestTimeout: TimeSpan.FromMilliseconds(400));
        var btc = Firing("LatencyHigh", "BTC-USD", T0);
        await rig.Outbox.EnqueueAsync(At(1, NotificationKind.New, btc));
        await rig.DrainAsync(_clock);
        var root = Assert.Single(rig.Slack.Messages);

        rig.Slack.DelayNext(1, TimeSpan.FromSeconds(2), "chat.postMessage");
        await rig.Outbox.EnqueueAsync(At(2, NotificationKind.Repeat, btc));
        await rig.Deliverer.DeliverDueAsync();
        Assert.Equal(2, rig.Slack.Messages.Count);
        await rig.DrainAsync(_clock);

        Assert.Single(rig.Slack.Messages, m => m.ThreadTs == root.Ts);
        var lookup = Assert.Single(rig.Slack.RequestsOf("conversations.replies"));
        Assert.Equal(root.Ts, lookup.Arg("ts"));
        Assert.Empty(rig.Slack.RequestsOf("conversations.history")); // replies are not in the channel history
    }

    [Fact]
    public async Task DeliveredButNotRecordedByTheOutbox_IsNotSentAgain()
    {
        await using var rig = await SlackRig.StartAsync(_clock);
        var n = At(1, NotificationKind.New, Firing("LatencyHigh", "BTC-USD", T0));
        await rig.Outbox.EnqueueAsync(n);
        // the notifier delivered, then the monitor died before the outbox marked it
        Assert.IsType<DeliveryResult.Delivered>(await rig.Notifier.DeliverAsync(n, CancellationToken.None));
        rig.Restart();

        await rig.DrainAsync(_clock);

        Assert.Single(rig.Slack.RequestsOf("chat.postMessage"));
        Assert.Equal(OutboxState.Delivered, (await rig.Outbox.FindAsync(n.DedupKey))!.State);
    }

    [Fact]
    public async Task AuthTest_ReportsTeamOrError()
    {
        await using var rig = await SlackRig.StartAsync(_clock);
        var ok = await rig.Notifier.TestAuthAsync();
        Assert.Equal(new SlackAuthResult(true, "Fake Team", "exh-bot", null), ok);
        var bad = await rig.CreateNotifier(token: "xoxb-nope").TestAuthAsync();
        Assert.Equal(new SlackAuthResult(false, null, null, "invalid_auth"), bad);
        Assert.All(rig.Slack.Requests, r => Assert.Equal("POST", r.HttpMethod));
    }
}
